// What the RFC 7515/7519 input checks cost per token: `npx tsx bench/token-shape.ts`.
// The shape check runs on every token; the JSON scan only on tokens whose signature verified.
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { isCanonicalCompactJws, tokenJsonDefect } from '../lib/core/token-shape.js';
import { createVerifier } from '../lib/index.js';

const secret = new TextEncoder().encode('k'.repeat(32));
const { privateKey } = await generateKeyPair('ES256');
const now = Math.floor(Date.now() / 1000);
const claims = {
  iss: 'https://idp.example.com/', aud: 'https://api.example.com', sub: 'user-1', iat: now, exp: now + 3600,
  scope: 'read:messages write:messages profile email', client_id: 'abc', jti: crypto.randomUUID(),
  permissions: ['a', 'b', 'c'], org: { id: 'o1', roles: ['admin'] },
};
const es = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }).sign(privateKey);
const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(secret);

async function time(name: string, n: number, f: () => unknown): Promise<void> {
  for (let i = 0; i < n / 10; i++) await f();
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await f();
  console.log(`${name}: ${(Number(process.hrtime.bigint() - started) / n / 1000).toFixed(2)} µs/op`);
}

console.log(`token of ${es.length} characters`);
await time('isCanonicalCompactJws (every token)', 200_000, () => isCanonicalCompactJws(es));
// What jose hands over once the signature verified: the parsed header and payload.
const parsed = [decodeProtectedHeader(es), decodeJwt(es)] as const;
await time('tokenJsonDefect (verified tokens)', 200_000, () => tokenJsonDefect(es, 32, parsed));
const verify = createVerifier({ issuer: 'https://idp.example.com/', audience: 'https://api.example.com', secret });
await time('whole HS256 verification, for scale', 50_000, () => verify(hs));
