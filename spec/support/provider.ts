// A fake identity provider for specs: real keys, nock-served discovery and JWKS, exact fetch counts.
import nock from 'nock';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTHeaderParameters } from 'jose';

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
  const url = new URL(issuer);
  const base = issuer.replace(/\/+$/, '');
  const jwksUri = `${base}/.well-known/jwks.json`;
  const keys = await Promise.all((options.algs ?? ['ES256']).map((alg) => signingKey(alg)));
  let published: JWK[] = keys.map((k) => k.publicJwk);
  let discovery = 0;
  let jwks = 0;
  const scope = nock(url.origin).persist();
  if (options.discovery !== false) {
    scope.get(`${new URL(base).pathname.replace(/\/$/, '')}/.well-known/openid-configuration`).reply(() => {
      discovery++;
      return [200, { issuer, jwks_uri: jwksUri, userinfo_endpoint: `${base}/userinfo` }];
    });
  }
  scope.get(new URL(jwksUri).pathname).reply(() => {
    jwks++;
    return [200, { keys: published }];
  });
  const defaultKey = keys[0]!;
  return {
    issuer,
    audience,
    jwksUri,
    keys,
    discoveryCount: () => discovery,
    jwksCount: () => jwks,
    publish: (next) => {
      published = next;
    },
    async sign(claims = {}, signOptions = {}) {
      const key = signOptions.key ?? defaultKey;
      const now = Math.floor(Date.now() / 1000);
      const header: Record<string, unknown> = { alg: key.alg, typ: 'at+jwt', ...(signOptions.noKid ? {} : { kid: key.kid }), ...signOptions.header };
      for (const k of Object.keys(header)) if (header[k] === undefined) delete header[k];
      const payload: Record<string, unknown> = { iss: issuer, aud: audience, sub: 'user-1', iat: now, exp: now + 300, scope: 'read:messages', ...claims };
      for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
      return new SignJWT(payload).setProtectedHeader(header as unknown as JWTHeaderParameters).sign(key.privateKey);
    },
  };
}
