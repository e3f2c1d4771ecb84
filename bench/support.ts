// Shared by the benches: real keys, real tokens, and a loopback issuer serving discovery and JWKS.
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

export const ALGS = ['ES256', 'RS256', 'EdDSA'] as const;
export type BenchAlg = (typeof ALGS)[number];
export const AUDIENCE = 'https://api.example.com';
export const SCOPE = 'read:messages';

export interface BenchKey {
  alg: BenchAlg;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export async function benchKeys(): Promise<BenchKey[]> {
  return Promise.all(ALGS.map(async (alg) => {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    const kid = `${alg.toLowerCase()}-bench`;
    return { alg, kid, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  }));
}

/**
 * `count` distinct tokens (distinct `jti`, `prefix` + index), valid for an hour, carrying the scope the
 * benched route requires; signed 64 at a time, so WebCrypto's threadpool uses every core it may.
 */
export async function signTokens(key: BenchKey, issuer: string, count: number, prefix = 't'): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const sign = (i: number): Promise<string> => new SignJWT({ scope: `${SCOPE} write:messages`, client_id: 'bench', jti: `${prefix}${i}` })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(issuer).setAudience(AUDIENCE).setSubject(`user-${i % 100}`)
    .setIssuedAt(now).setExpirationTime(now + 3600)
    .sign(key.privateKey);
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 64) {
    tokens.push(...await Promise.all(Array.from({ length: Math.min(64, count - i) }, (_, j) => sign(i + j))));
  }
  return tokens;
}

export interface LoopbackIssuer {
  issuer: string;
  jwksUri: string;
  close(): Promise<void>;
}

/** An opaque (reference) token for the introspection rows: not JWT-shaped, known to the bench issuer. */
export const OPAQUE_TOKEN = 'opaque-bench-token-0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * Discovery, JWKS and RFC 7662 introspection on 127.0.0.1: the targets find their keys the way they would
 * in production. Introspection answers OPAQUE_TOKEN as active (to any client), every other token inactive.
 */
export async function startIssuer(keys: readonly BenchKey[]): Promise<LoopbackIssuer> {
  let base = '';
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/introspect') {
      let form = '';
      req.on('data', (chunk: Buffer) => (form += chunk.toString()));
      req.on('end', () => {
        const now = Math.floor(Date.now() / 1000);
        const answer = new URLSearchParams(form).get('token') === OPAQUE_TOKEN
          ? { active: true, iss: `${base}/`, aud: AUDIENCE, scope: SCOPE, sub: 'opaque-user', client_id: 'bench', token_type: 'Bearer', iat: now, exp: now + 3600 }
          : { active: false };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
      return;
    }
    const body = req.url === '/.well-known/openid-configuration' ? { issuer: `${base}/`, jwks_uri: `${base}/jwks.json`, introspection_endpoint: `${base}/introspect` }
      : req.url === '/jwks.json' ? { keys: keys.map((k) => k.publicJwk) } : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer: `${base}/`,
    jwksUri: `${base}/jwks.json`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Whether util-linux `taskset` is on the PATH (it pins the server to one core). */
export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const quick = process.env.BENCH_QUICK === '1';
