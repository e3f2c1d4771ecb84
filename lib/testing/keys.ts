import { exportJWK, generateKeyPair, type JWK } from 'jose';

/** The algorithms the kit signs with: what identity providers use for access tokens. */
export type TestAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';

/** A signing key of a test issuer: the private key signs, the public JWK is what the JWKS publishes. */
export interface TestKey {
  readonly alg: TestAlgorithm;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** The public JWK with `kid`, `alg` and `use: 'sig'`, as the issuer publishes it. */
  readonly publicJwk: JWK;
}

/** Options of `createTestKey()`. */
export interface TestKeyOptions {
  /** The key id. Default: the algorithm in lower case plus a random suffix, e.g. `es256-3f9a1c`. */
  kid?: string | undefined;
}

const ALGORITHMS: ReadonlySet<string> = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);

/** Throws a readable error for an algorithm the kit cannot sign with. */
export function checkAlgorithm(alg: unknown): asserts alg is TestAlgorithm {
  if (typeof alg !== 'string' || !ALGORITHMS.has(alg)) {
    throw new TypeError(`koa-token-guard/testing: unsupported algorithm ${JSON.stringify(alg)}; use one of ${[...ALGORITHMS].join(', ')}.`);
  }
}

/**
 * Generates a fresh key pair. RSA generation takes tens of milliseconds: create RSA keys once per
 * suite and hand them to several issuers with `createTestIssuer({ keys })`.
 */
export async function createTestKey(alg: TestAlgorithm = 'ES256', options: TestKeyOptions = {}): Promise<TestKey> {
  checkAlgorithm(alg);
  const kid = options.kid ?? `${alg.toLowerCase()}-${crypto.randomUUID().slice(0, 6)}`;
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return Object.freeze({ alg, kid, privateKey, publicJwk: Object.freeze(publicJwk) });
}

// The "wrong signature" keys: one per algorithm for the process, never published anywhere.
const strangers = new Map<TestAlgorithm, Promise<CryptoKey>>();

/** A private key no issuer publishes, for tokens whose signature must fail. */
export function strangerKey(alg: TestAlgorithm): Promise<CryptoKey> {
  let key = strangers.get(alg);
  if (key === undefined) {
    key = generateKeyPair(alg).then((pair) => pair.privateKey);
    strangers.set(alg, key);
  }
  return key;
}
