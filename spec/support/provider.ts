// A fake identity provider for specs: real keys, discovery and JWKS served by the test kit's nock mode
// (koa-token-guard/testing, dogfooded), exact fetch counts.
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { createTestIssuer } from '../../lib/testing/index.js';

export type Alg = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'EdDSA' | 'RS384';

interface KeyPair { privateKey: CryptoKey; publicJwk: JWK }
const keyCache = new Map<string, Promise<KeyPair>>();

/** A fresh key pair per (alg, label), generated once per spec run: RSA generation is slow. */
export function keyPair(alg: Alg, label = 'default'): Promise<KeyPair> {
  const id = `${alg}:${label}`;
  let pair = keyCache.get(id);
  if (!pair) {
    pair = generateKeyPair(alg, { extractable: true }).then(async ({ privateKey, publicKey }) => ({
      privateKey: privateKey,
      publicJwk: await exportJWK(publicKey),
    }));
    keyCache.set(id, pair);
  }
  return pair;
}

let counter = 0;
/** An issuer URL no other spec uses, so the process-wide key sets never leak between specs. */
export function uniqueIssuer(path = '/'): string {
  counter++;
  return `https://issuer-${counter}-${process.pid}.example.com${path}`;
}

export interface SigningKey { alg: Alg; kid: string; privateKey: CryptoKey; publicJwk: JWK }

export async function signingKey(alg: Alg, kid = `${alg.toLowerCase()}-1`, label = kid): Promise<SigningKey> {
  const { privateKey, publicJwk } = await keyPair(alg, label);
  return { alg, kid, privateKey, publicJwk: { ...publicJwk, kid, alg, use: 'sig' } };
}

export interface SignOptions {
  key?: SigningKey | undefined;
  /** Header fields; undefined removes one. */
  header?: Record<string, unknown>;
  /** Omit the kid header. */
  noKid?: boolean;
}

export interface FakeProvider {
  issuer: string;
  audience: string;
  jwksUri: string;
  keys: SigningKey[];
  /** Discovery requests served so far. */
  discoveryCount(): number;
  /** JWKS requests served so far. */
  jwksCount(): number;
  /** Claims override the defaults; an undefined claim is removed. */
  sign(claims?: Record<string, unknown>, options?: SignOptions): Promise<string>;
  /** Replace the published keys (rotation). */
  publish(keys: JWK[]): void;
}

export interface ProviderOptions {
  algs?: Alg[];
  issuerPath?: string;
  audience?: string;
  /** Serve discovery (default true). */
  discovery?: boolean;
}

/** Sets up nock for discovery and JWKS of a new issuer; interceptors persist until `nock.cleanAll()`. */
export async function fakeProvider(options: ProviderOptions = {}): Promise<FakeProvider> {
  const issuer = uniqueIssuer(options.issuerPath ?? '/');
  const audience = options.audience ?? 'https://api.example.com';
  const keys = await Promise.all((options.algs ?? ['ES256']).map((alg) => signingKey(alg)));
  const kit = await createTestIssuer({
    mode: 'nock',
    issuer,
    audience,
    keys,
    discovery: options.discovery !== false,
    metadata: { userinfo_endpoint: `${issuer.replace(/\/+$/, '')}/userinfo` },
    // This project's specs have always used these claims; no client_id or jti unless a spec adds them.
    claims: { sub: 'user-1', scope: 'read:messages', client_id: undefined, jti: undefined },
  });
  return {
    issuer,
    audience,
    jwksUri: kit.jwksUri,
    keys,
    discoveryCount: () => kit.requests.discovery,
    jwksCount: () => kit.requests.jwks,
    publish: (next) => kit.setJwks(next),
    sign: (claims = {}, signOptions = {}) => kit.sign(claims, {
      key: signOptions.key,
      header: signOptions.header,
      ...(signOptions.noKid ? { kid: null } : {}),
    }),
  };
}
