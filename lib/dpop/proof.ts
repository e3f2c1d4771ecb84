import { hash } from 'node:crypto';
import { calculateJwkThumbprint, errors, importJWK, jwtVerify, type JWK, type JWSHeaderParameters, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { InvalidDpopProofError, UseDpopNonceError } from '../errors.js';
import { isCanonicalCompactJws, tokenJsonDefect } from '../core/token-shape.js';
import { keyBoundsDefect } from '../keys/bounds.js';
import { checkProofKey } from './binding.js';
import { normaliseHtu } from './htu.js';
import type { NonceSource } from './nonce.js';
import { DPOP_DEFAULTS, type ResolvedDpopOptions } from './options.js';

/** The request a proof must fit (RFC 9449 4.3). */
export interface ProofRequest {
  /** The HTTP method, as received. */
  readonly method: string;
  /** The request URL from `requestHtu()` (one per origin with `dpop.origin`); undefined when the request has none we can trust. */
  readonly htu: string | readonly string[] | undefined;
  /** The access token presented with the proof (its hash is `ath`). */
  readonly accessToken: string;
  /** The token's `cnf.jkt`: a proof by any other key is refused before its key is imported or its signature checked. */
  readonly jkt: string;
  /** `accessTokenHash(accessToken)`, when the caller has it already (`accessTokenHashOf()`); computed otherwise. */
  readonly ath?: string | undefined;
}

/** What a verified proof tells about its key and itself. */
export interface VerifiedProof {
  /** The RFC 7638 SHA-256 thumbprint of the proof's `jwk` (the token's `cnf.jkt`). */
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
  /** The proof's server nonce, when nonces are on. */
  readonly nonce: string | undefined;
}

/** Checks one proof against a request; resolves to its key thumbprint or rejects with `invalid_dpop_proof` (or `use_dpop_nonce`). */
export type ProofVerifier = (proof: string, request: ProofRequest) => Promise<VerifiedProof>;

// RFC 7517 / RFC 7518 6: members only a private (or symmetric) key has.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const MAX_JSON_DEPTH = 16;
const MAX_JTI_LENGTH = 256;

/** Whether a proof's `htu` names the request URL (or one of them). They are normalised, and normalising is idempotent: an equal htu needs no parsing. */
function htuMatches(htu: string, expected: string | readonly string[]): boolean {
  if (typeof expected === 'string') return htu === expected || normaliseHtu(htu) === expected;
  if (expected.includes(htu)) return true;
  const normal = normaliseHtu(htu);
  return normal !== undefined && expected.includes(normal);
}

/** base64url(SHA-256(token)): the `ath` a proof for this access token carries (RFC 9449 4.2). */
export function accessTokenHash(token: string): string {
  return hash('sha256', token, 'base64url');
}

// By verdict: a cached token's proofs all carry the same ath, hashed once for the verdict's life.
const athByVerdict = new WeakMap<object, string>();

/** `accessTokenHash()` of an established token's own `token`, remembered as long as its verdict lives. */
export function accessTokenHashOf(verified: { readonly token: string }): string {
  let ath = athByVerdict.get(verified);
  if (ath === undefined) athByVerdict.set(verified, ath = accessTokenHash(verified.token));
  return ath;
}

function publicJwk(jwk: unknown): jwk is JWK {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return false;
  const key = jwk as Record<string, unknown>;
  return (key.kty === 'EC' || key.kty === 'RSA' || key.kty === 'OKP') && PRIVATE_MEMBERS.every((m) => key[m] === undefined);
}

/**
 * Builds the proof verifier once, at startup. Every check of RFC 9449 4.3 that needs only the proof, the
 * request and the token's `cnf.jkt` is here, cheapest first, with the server nonce (section 8) when
 * `nonces` is given: a valid one stands in for a recent `iat` (section 11.1). The key is checked against
 * the bounds of `keyBoundsDefect()` and its thumbprint against `cnf.jkt` before it is imported or any
 * signature checked, so the cost of a proof by a key the client chose is bounded, and a key nobody bound
 * a token to costs one hash. The `jti` replay check follows elsewhere. Nothing the proof names is ever
 * fetched (only the embedded `jwk` is used) and no description quotes it.
 */
export function createProofVerifier(options: ResolvedDpopOptions, nonces?: NonceSource): ProofVerifier {
  const algorithms = new Set(options.algorithms);
  // One thumbprint and one import per client key and algorithm, not per request. Keyed by the members
  // RFC 7638 hashes (they fix the key material), so a hit needs no hashing at all. Only keys a token is
  // bound to get in, so a flood of made-up keys neither fills it nor costs an import.
  const keys = new LRUCache<string, { jkt: string; key: CryptoKey }>({ max: 1000 });
  const { iatWindow, clockTolerance } = options;

  /** A key not seen yet: bounds, then its thumbprint against the token's, and only then the import. */
  async function importProofKey(jwk: JWK, alg: string, expectedJkt: string, cacheKey: string): Promise<{ jkt: string; key: CryptoKey }> {
    if (keyBoundsDefect(jwk) !== undefined) throw new InvalidDpopProofError('dpop_jwk_invalid', 'invalid DPoP proof key');
    let jkt: string;
    try {
      jkt = await calculateJwkThumbprint(jwk, 'sha256');
    } catch (error) {
      throw new InvalidDpopProofError('dpop_jwk_invalid', 'invalid DPoP proof key', { cause: error });
    }
    checkProofKey(expectedJkt, jkt);
    try {
      const imported = await importJWK({ ...jwk, alg }, alg);
      if (!(imported instanceof CryptoKey)) throw new TypeError('not an asymmetric key');
      const found = { jkt, key: imported };
      keys.set(cacheKey, found);
      return found;
    } catch (error) {
      throw new InvalidDpopProofError('dpop_jwk_invalid', 'invalid DPoP proof key', { cause: error });
    }
  }

  return async function verifyProof(proof, request) {
    if (proof.length > DPOP_DEFAULTS.maxProofLength) throw new InvalidDpopProofError('dpop_proof_too_large', 'DPoP proof too large');
    if (!isCanonicalCompactJws(proof)) throw new InvalidDpopProofError('dpop_proof_malformed', 'malformed DPoP proof');
    // The proof is decoded once, by jose: its header reaches us in the key resolver, where the header checks
    // run in their old order (typ, alg, key, thumbprint against cnf.jkt) before any signature work.
    let header: JWSHeaderParameters | undefined;
    let jkt = '';
    // Not async: a known key is handed back as it is (jose awaits whatever we return), with no promise of ours per proof.
    const resolveKey = (protectedHeader: JWSHeaderParameters): CryptoKey | Promise<CryptoKey> => {
      header = protectedHeader;
      if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'dpop+jwt') throw new InvalidDpopProofError('dpop_typ_invalid', 'DPoP proof type not accepted');
      const alg = header.alg;
      if (typeof alg !== 'string' || !algorithms.has(alg)) throw new InvalidDpopProofError('dpop_alg_not_allowed', 'DPoP proof algorithm not allowed');
      if (!publicJwk(header.jwk)) throw new InvalidDpopProofError('dpop_jwk_invalid', 'invalid DPoP proof key');
      const { kty, crv, x, y, n, e } = header.jwk;
      const cacheKey = `${alg} ${JSON.stringify([kty, crv, x, y, n, e])}`;
      const known = keys.get(cacheKey);
      if (known !== undefined) {
        checkProofKey(request.jkt, known.jkt);
        jkt = known.jkt;
        return known.key;
      }
      return importProofKey(header.jwk, alg, request.jkt, cacheKey).then((found) => {
        jkt = found.jkt;
        return found.key;
      });
    };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(proof, resolveKey, { typ: 'dpop+jwt', clockTolerance }));
    } catch (error) {
      if (error instanceof InvalidDpopProofError) throw error;
      // A key that does not fit alg (curve, RSA size) fails in jose's key check: the key's fault, not the signature's.
      if (error instanceof errors.JWSSignatureVerificationFailed) throw new InvalidDpopProofError('dpop_signature_invalid', 'invalid DPoP proof signature', { cause: error });
      if (error instanceof TypeError && header !== undefined) throw new InvalidDpopProofError('dpop_jwk_invalid', 'invalid DPoP proof key', { cause: error });
      throw new InvalidDpopProofError('dpop_proof_malformed', 'malformed DPoP proof', { cause: error });
    }
    // jose called the resolver before any signature check: the header is set.
    if (header!.b64 !== undefined || tokenJsonDefect(proof, MAX_JSON_DEPTH, [header!, payload]) !== undefined) throw new InvalidDpopProofError('dpop_proof_malformed', 'malformed DPoP proof');
    const { jti, htm, htu, iat, ath } = payload as Record<string, unknown>;
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw new InvalidDpopProofError('dpop_jti_invalid', 'invalid DPoP proof jti');
    if (htm !== request.method) throw new InvalidDpopProofError('dpop_htm_mismatch', 'DPoP proof htm mismatch');
    if (typeof htu !== 'string' || request.htu === undefined || !htuMatches(htu, request.htu)) throw new InvalidDpopProofError('dpop_htu_mismatch', 'DPoP proof htu mismatch');
    const nonce = (payload as Record<string, unknown>).nonce;
    if (nonces !== undefined && !nonces.accepts(nonce)) {
      throw new UseDpopNonceError(nonces.current(), nonce !== undefined);
    }
    const now = Date.now() / 1000;
    if (typeof iat !== 'number' || !Number.isFinite(iat) || iat > now + clockTolerance || (nonces === undefined && iat < now - iatWindow - clockTolerance)) {
      throw new InvalidDpopProofError('dpop_iat_invalid', 'DPoP proof iat outside the accepted window');
    }
    if (ath !== (request.ath ?? accessTokenHash(request.accessToken))) throw new InvalidDpopProofError('dpop_ath_mismatch', 'DPoP proof ath mismatch');
    return { jkt, jti, iat, nonce: nonces === undefined ? undefined : nonce as string };
  };
}
