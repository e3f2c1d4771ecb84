import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTHeaderParameters } from 'jose';
import { accessTokenHash } from '../dpop/proof.js';
import { checkAlgorithm, type TestAlgorithm } from './keys.js';

/** What one DPoP proof is made for (RFC 9449 4.2). */
export interface TestProofOptions {
  /** The request method (`htm`), e.g. `'GET'`. */
  method: string;
  /** The request URL (`htu`); query and fragment are dropped as a client would. */
  url: string | URL;
  /** The access token sent with the proof: its hash becomes `ath`. */
  accessToken?: string | undefined;
  /** The server nonce (from the `DPoP-Nonce` header). */
  nonce?: string | undefined;
  /** `iat` in seconds since the epoch. Default: now. */
  iat?: number | undefined;
  /** `jti`. Default: a random UUID. */
  jti?: string | undefined;
  /** Extra or replaced header members (`typ`, `jwk`…); an `undefined` value removes one. For tests of refusals. */
  header?: Record<string, unknown> | undefined;
  /** Extra or replaced claims; an `undefined` value removes one. For tests of refusals. */
  claims?: Record<string, unknown> | undefined;
}

/** A client's DPoP key: bind tokens to it with `issuer.sign(claims, { dpopKey })`, then make proofs with it. */
export interface TestDpopKey {
  readonly alg: TestAlgorithm;
  /** The RFC 7638 SHA-256 thumbprint: the `cnf.jkt` of tokens bound to this key. */
  readonly jkt: string;
  readonly publicJwk: JWK;
  readonly privateKey: CryptoKey;
  /** Signs a DPoP proof JWT for one request: put it in the `DPoP` header beside `Authorization: DPoP <token>`. */
  proof(options: TestProofOptions): Promise<string>;
}

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(record)) if (record[k] === undefined) delete record[k];
  return record;
}

/** The `htu` of a URL: without query and fragment (RFC 9449 4.2). */
function htuOf(url: string | URL): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** Generates a DPoP key pair (default ES256) for a test client. */
export async function createDpopKey(alg: TestAlgorithm = 'ES256'): Promise<TestDpopKey> {
  checkAlgorithm(alg);
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = Object.freeze(await exportJWK(publicKey));
  const jkt = await calculateJwkThumbprint(publicJwk, 'sha256');
  return Object.freeze({
    alg,
    jkt,
    publicJwk,
    privateKey,
    proof(options: TestProofOptions): Promise<string> {
      const payload = withoutUndefined({
        jti: options.jti ?? crypto.randomUUID(),
        htm: options.method,
        htu: htuOf(options.url),
        iat: options.iat ?? Math.floor(Date.now() / 1000),
        ...(options.accessToken === undefined ? {} : { ath: accessTokenHash(options.accessToken) }),
        ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
        ...options.claims,
      });
      const header = withoutUndefined({ alg, typ: 'dpop+jwt', jwk: publicJwk, ...options.header });
      return new SignJWT(payload).setProtectedHeader(header as unknown as JWTHeaderParameters).sign(privateKey);
    },
  });
}
