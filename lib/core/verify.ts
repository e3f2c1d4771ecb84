import { decodeJwt, errors, jwtVerify, type JWTHeaderParameters, type JWTPayload, type JWTVerifyOptions, type JWSHeaderParameters } from 'jose';
import { LRUCache } from 'lru-cache';
import { AuthError, InvalidTokenError } from '../errors.js';
import { debug, reportRejection } from '../events.js';
import { registerKeySets } from '../keys/control.js';
import { registerCachedVerdict } from './cached.js';
import { noteEstablished, traceVerify, tracing } from '../telemetry/channels.js';
import type { RemoteKeySet } from '../keys/key-set.js';
import { keySetFor, releaseKeySet } from '../keys/registry.js';
import type { Caller } from './caller.js';
import { issuerResolutionFor, keySourceOf, type AcceptedIssuer } from './issuers.js';
import { invalidTimeClaim } from './numeric-date.js';
import { resolveVerifyOptions, type ResolvedVerifyOptions, type VerifyOptions } from './options.js';
import { deepFreeze, VerifiedTokenCache, type KeyGeneration } from './cache.js';
import { PendingVerifications } from './pending.js';
import { jwtVerdictClass } from './expiry-signal.js';
import { parseScopes } from './scopes.js';
import { isCanonicalCompactJws, tokenJsonDefect } from './token-shape.js';

/** The registered claims this package reads; your own claims come in through the type parameter. */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  exp: number;
  scope?: string;
  scp?: string | string[];
  client_id?: string;
  azp?: string;
}

/** How a token was established: verified locally as a JWT, or introspected at its authorization server (RFC 7662). */
export type TokenSource = 'jwt' | 'introspection';

/** What establishing a token yields, whichever way it was established. */
export interface VerifiedToken<TClaims extends object = AccessTokenClaims> {
  /** The raw token. Never log or echo it. */
  readonly token: string;
  /** `'jwt'` for a locally verified JWT, `'introspection'` for an answer of the authorization server. */
  readonly source: TokenSource;
  /** The JWS protected header; undefined for an introspected token. */
  readonly header?: JWTHeaderParameters | undefined;
  readonly claims: TClaims & AccessTokenClaims;
  /** Granted scopes from `scope`, `scp` and `scopeClaims`, parsed once. */
  readonly scopes: ReadonlySet<string>;
}

/** A locally verified JWT: `source` is `'jwt'` and the header is always there. */
export interface VerifiedJwt<TClaims extends object = AccessTokenClaims> extends VerifiedToken<TClaims> {
  readonly source: 'jwt';
  readonly header: JWTHeaderParameters;
}

/**
 * Verifies one JWT: resolves to its verified claims or rejects with an `AuthError`. `caller` (Koa's
 * `ctx.request`) bounds one client's share of what all clients share; omitted, all calls share one.
 */
export type Verifier<TClaims extends object = AccessTokenClaims> = (token: string, caller?: Caller) => Promise<VerifiedJwt<TClaims>>;

type KeyGetter = (header: JWSHeaderParameters) => Promise<CryptoKey | Uint8Array>;

const LENIENT_TYP = new Set(['jwt', 'application/jwt', 'at+jwt', 'application/at+jwt']);
const STRICT_TYP = new Set(['at+jwt', 'application/at+jwt']);
// A nested JWT (RFC 7519 5.2) would need a second verification we never do: refuse it outright.
const NESTED_CTY = /^(application\/)?jwt$/i;
// Registered claims that are strings when present (RFC 7519 4.1, RFC 9068 2.2); anything else is refused.
const STRING_CLAIMS = ['sub', 'jti', 'client_id', 'azp'] as const;
/** Deeper header or payload JSON is refused; real tokens nest a few levels at most. */
const MAX_JSON_DEPTH = 32;

/** Maps jose's errors to ours with fixed, plain-words descriptions (never jose's message, which may quote claims). */
function toAuthError(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  // jose judges a signed token's times before we see them: -1 is "expired", 1e400 "not yet valid".
  // Out of the NumericDate range, the claim is invalid, whatever jose made of it.
  if ((error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired) && invalidTimeClaim(error.payload) !== undefined) {
    return new InvalidTokenError('claim_invalid', 'invalid claim', { cause: error });
  }
  if (error instanceof errors.JWTExpired) {
    return error.claim === 'iat'
      ? new InvalidTokenError('token_too_old', 'token too old', { cause: error })
      : new InvalidTokenError('token_expired', 'token expired', { cause: error });
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return new InvalidTokenError('claim_missing', 'missing required claim', { cause: error });
    if (error.reason === 'invalid') return new InvalidTokenError('claim_invalid', 'invalid claim', { cause: error });
    switch (error.claim) {
      case 'iss': return new InvalidTokenError('issuer_invalid', 'token issuer not accepted', { cause: error });
      case 'aud': return new InvalidTokenError('audience_invalid', 'token audience not accepted', { cause: error });
      case 'nbf': return new InvalidTokenError('token_not_yet_valid', 'token not yet valid', { cause: error });
      case 'iat': return new InvalidTokenError('claim_invalid', 'token issued in the future', { cause: error });
      default: return new InvalidTokenError('claim_invalid', 'invalid claim', { cause: error });
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return new InvalidTokenError('alg_not_allowed', 'signing algorithm not allowed', { cause: error });
  if (error instanceof errors.JWSSignatureVerificationFailed) return new InvalidTokenError('signature_invalid', 'invalid signature', { cause: error });
  // JWSInvalid, JWTInvalid, JOSENotSupported, and TypeErrors from a key that does not fit the token:
  // all are the token's fault, none may become a 500.
  return new InvalidTokenError('token_malformed', 'malformed token', { cause: error });
}

/** Whether a string-or-array claim holds one of the accepted audiences (for `audienceClaim` other than `aud`). */
function audienceMatches(value: unknown, audiences: readonly string[]): boolean {
  if (typeof value === 'string') return audiences.includes(value);
  return Array.isArray(value) && value.some((v) => typeof v === 'string' && audiences.includes(v));
}

/** The key getter and jose options for tokens of one issuer (or of every listed issuer). */
interface Binding {
  readonly getKey: KeyGetter;
  readonly jwtOptions: JWTVerifyOptions;
  /** The key set behind `getKey`, whose removals invalidate cached verdicts. */
  readonly keys?: KeyGeneration;
}

interface Bindings {
  /** The binding for a token's unverified `iss`; undefined refuses the token before any network call. */
  bindingFor(iss: unknown, caller: Caller | undefined): Binding | undefined | Promise<Binding | undefined>;
  /** The key sets bound so far: the configured ones, then those of issuers `resolveIssuer` accepted. */
  keySets(): Promise<RemoteKeySet[]>;
}

function bindings(options: ResolvedVerifyOptions, jwtOptions: JWTVerifyOptions): Bindings {
  // The allow-list is checked here, where jose hands us the header before any key is looked up (as its own
  // `algorithms` option would), from a Set built once: jose builds one from that option on every call.
  const allowed = new Set(options.algorithms);
  const notAllowed = (): Promise<never> => Promise.reject(new InvalidTokenError('alg_not_allowed', 'signing algorithm not allowed'));
  const keysOf = (keySet: RemoteKeySet): KeyGetter => (header) => (allowed.has(header.alg!) ? keySet.getKey(header) : notAllowed());
  // Each key set learns the algorithms we allow, so keys fitting none of them are warned about (lib/keys/key-set.ts).
  const keySetOf = (source: Parameters<typeof keySetFor>[0]): RemoteKeySet => {
    const keySet = keySetFor(source, options);
    keySet.expectAlgorithms(options.algorithms);
    return keySet;
  };
  if (options.secret !== undefined) {
    const secret = options.secret;
    const binding: Binding = { getKey: (header) => (allowed.has(header.alg!) ? Promise.resolve(secret) : notAllowed()), jwtOptions };
    return { bindingFor: () => binding, keySets: () => Promise.resolve([]) };
  }
  if (options.jwksUri !== undefined) {
    const keySet = keySetOf({ jwksUri: options.jwksUri });
    const binding: Binding = { getKey: keysOf(keySet), jwtOptions, keys: keySet };
    return { bindingFor: () => binding, keySets: () => Promise.resolve([keySet]) };
  }
  // One key set per issuer: a key of issuer A can never verify a token claiming issuer B.
  const byIssuer = new Map<string, Binding>();
  const configured: RemoteKeySet[] = [];
  for (const issuer of options.issuers) {
    const keySet = keySetOf({ issuer });
    configured.push(keySet);
    byIssuer.set(issuer, { getKey: keysOf(keySet), jwtOptions, keys: keySet });
  }
  if (options.resolveIssuer === undefined) {
    return { bindingFor: (iss) => (typeof iss === 'string' ? byIssuer.get(iss) : undefined), keySets: () => Promise.resolve(configured) };
  }
  // Only issuers the resolver accepted are bound, each holding its key set; a token naming an issuer that
  // is refused or still being decided never takes a place here (lib/core/issuers.ts).
  const resolution = issuerResolutionFor(options)!;
  type Held = { binding: Binding; keySet: RemoteKeySet; source: ReturnType<typeof keySourceOf> };
  // Bounded: tenants unused for long give their key set back to the registry, which forgets it once no
  // other verifier holds it; their next token fetches the keys again.
  const held = new LRUCache<string, Held>({
    max: options.keySets.max,
    dispose: (found, iss) => {
      debug('%j: key set dropped (keySets.max %d reached)', iss, options.keySets.max);
      releaseKeySet(found.source, options, found.keySet);
    },
  });
  const bind = (accepted: AcceptedIssuer | undefined): Binding | undefined => {
    if (accepted === undefined) return undefined;
    const { iss } = accepted;
    let found = held.get(iss);
    if (found === undefined) {
      const source = keySourceOf(accepted);
      const keySet = keySetOf(source);
      found = { keySet, source, binding: { getKey: keysOf(keySet), jwtOptions: { ...jwtOptions, issuer: iss }, keys: keySet } };
      held.set(iss, found);
    }
    return found.binding;
  };
  const resolve = (iss: string, caller: Caller | undefined): Binding | undefined | Promise<Binding | undefined> => {
    const found = held.get(iss);
    if (found !== undefined) return found.binding;
    const decided = resolution.decide(iss, caller);
    return decided instanceof Promise ? decided.then(bind) : bind(decided);
  };
  return {
    bindingFor: (iss, caller) => (typeof iss !== 'string' ? undefined : byIssuer.get(iss) ?? resolve(iss, caller)),
    keySets: () => Promise.resolve([...configured, ...[...held.values()].map((found) => found.keySet)]),
  };
}

/**
 * Builds a verifier once, at startup: options checked (a `ConfigurationError` says how to fix them),
 * key sets bound, allow-lists frozen. The returned function is the whole per-token path.
 */
export function createVerifier<TClaims extends object = AccessTokenClaims>(input: VerifyOptions): Verifier<TClaims> {
  const options = resolveVerifyOptions(input);
  const acceptedTyp = options.typ === 'strict' ? STRICT_TYP : LENIENT_TYP;
  const jwtOptions: JWTVerifyOptions = {
    issuer: options.issuers as string[],
    ...(options.audienceClaim === 'aud' ? { audience: options.audiences as string[] } : {}),
    // `algorithms` is enforced by every binding's key getter (bindings() below), not passed to jose.
    clockTolerance: options.clockTolerance,
    requiredClaims: options.requiredClaims as string[],
    ...(options.maxTokenAge === undefined ? {} : { maxTokenAge: options.maxTokenAge }),
  };
  const bound = bindings(options, jwtOptions);
  const Verdict = jwtVerdictClass(options.clockTolerance);
  const single = options.resolveIssuer === undefined && (options.secret !== undefined || options.jwksUri !== undefined || options.issuers.length === 1)
    ? bound.bindingFor(options.issuers[0], undefined) as Binding : undefined;
  // One cache per verifier: differently configured verifiers never share a verdict.
  const cache = options.cache === false ? undefined : new VerifiedTokenCache({
    ...options.cache, clockTolerance: options.clockTolerance, maxTokenAge: options.maxTokenAge,
  });

  // Concurrent first requests carrying one new token (a client's burst) share one verification. Only
  // its success is shared: a refusal is verified again per request, so each gets its own error (and
  // its own token_rejected event), as without sharing.
  const pending = new PendingVerifications<VerifiedJwt<TClaims>>();

  // `slot`: the pending slot this verification claimed (-1: none), let go of as it settles, whatever the outcome.
  async function checkToken(token: string, caller?: Caller, slot = -1): Promise<VerifiedJwt<TClaims>> {
    try {
      if (token.length > options.maxTokenLength) throw new InvalidTokenError('token_too_large', 'token too large');
      if (!isCanonicalCompactJws(token)) throw new InvalidTokenError('token_malformed', 'malformed token');
      let binding = single;
      if (binding === undefined) {
        let iss: unknown;
        try {
          ({ iss } = decodeJwt(token));
        } catch (error) {
          throw toAuthError(error);
        }
        binding = await bound.bindingFor(iss, caller);
        if (binding === undefined) throw new InvalidTokenError('issuer_invalid', 'token issuer not accepted');
      }
      let payload: JWTPayload;
      let header: JWTHeaderParameters;
      const generation = binding.keys?.keyGeneration ?? 0;
      try {
        ({ payload, protectedHeader: header } = await jwtVerify(token, binding.getKey, binding.jwtOptions));
      } catch (error) {
        throw toAuthError(error);
      }
      // Before any use of the times (and the verdict cache): Infinity never expires, 1e20 auth_time is always recent.
      if (invalidTimeClaim(payload) !== undefined) throw new InvalidTokenError('claim_invalid', 'invalid claim');
      const { typ, cty } = header;
      // jose honours b64 only when listed in crit; present without it, it means the signer and we may disagree on the payload (RFC 7797 6).
      if (header.b64 !== undefined || (typeof cty === 'string' && NESTED_CTY.test(cty))) throw new InvalidTokenError('token_malformed', 'malformed token');
      if (typ === undefined ? options.typ === 'strict' : typeof typ !== 'string' || !acceptedTyp.has(typ.toLowerCase())) {
        throw new InvalidTokenError('typ_invalid', 'token type not accepted');
      }
      // jose checks iat only with maxTokenAge; a token from the future is never fine (RFC 8725 3.10 spirit).
      if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + options.clockTolerance) {
        throw new InvalidTokenError('claim_invalid', 'token issued in the future');
      }
      if (options.audienceClaim !== 'aud' && !audienceMatches(payload[options.audienceClaim], options.audiences)) {
        throw new InvalidTokenError('audience_invalid', 'token audience not accepted');
      }
      for (const name of STRING_CLAIMS) {
        if (payload[name] !== undefined && typeof payload[name] !== 'string') throw new InvalidTokenError('claim_invalid', 'invalid claim');
      }
      // Only signed tokens get here, so forgeries never cost this scan (RFC 7515 4, RFC 7519 4: no duplicate names).
      if (tokenJsonDefect(token, MAX_JSON_DEPTH, [header, payload]) !== undefined) throw new InvalidTokenError('token_malformed', 'malformed token');
      const scopes = parseScopes(payload, options.scopeClaims);
      // `signal` (ctx.state.auth.signal) is a getter of the verdict's class, so a cached token needs no wrapper per request.
      const verified: VerifiedJwt<TClaims> = deepFreeze(new Verdict(token, header, payload as TClaims & AccessTokenClaims, scopes));
      cache?.set(token, verified, binding.keys, generation);
      noteEstablished(verified.claims);
      return verified;
    } finally {
      pending.release(slot);
    }
  }
  // Every path of a cache miss comes through here; the cached path never does.
  const verifyToken = (token: string, caller?: Caller, slot?: number): Promise<VerifiedJwt<TClaims>> =>
    (tracing.verify.hasSubscribers ? traceVerify(checkToken, token, caller, slot) : checkToken(token, caller, slot));
  // A token the cache has just missed (here, or in authenticate(), which looked it up already).
  const afterMiss = (token: string, caller?: Caller): Promise<VerifiedJwt<TClaims>> => {
    const shared = pending.get(token);
    if (shared !== undefined) return shared.catch(() => verifyToken(token, caller));
    const slot = pending.claim(token);
    const result = verifyToken(token, caller, slot);
    pending.share(slot, token, result);
    return result;
  };
  const verifyCached: Verifier<TClaims> = cache === undefined ? verifyToken : (token, caller) => {
    // A cached token passed every check of verifyToken, the canonical-form one included.
    const hit = cache.get<TClaims>(token);
    return hit !== undefined ? Promise.resolve(hit) : afterMiss(token, caller);
  };

  const onEvent = options.onEvent;
  const reported = (way: Verifier<TClaims>): Verifier<TClaims> => (onEvent === undefined ? way : (token, caller) => way(token, caller).catch((error: unknown) => {
    reportRejection(onEvent, error);
    throw error;
  }));
  const verify = reported(verifyCached);
  registerKeySets(verify, () => bound.keySets());
  if (cache !== undefined) registerCachedVerdict(verify, (token) => cache.get(token), reported(afterMiss));
  return verify;
}
