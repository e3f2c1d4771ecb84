// npm run reliability: replays the days a resource server dreads, on fake time, against a simulated
// provider (real keys, real verification), and prints what clients and the provider saw.
import { install } from '@sinonjs/fake-timers';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { createVerifier, memoryStore, type KeyStore } from '../lib/index.js';

const clock = install({ now: Date.parse('2026-01-01T00:00:00Z'), toFake: ['Date'] });

interface Key { kid: string; privateKey: CryptoKey; jwk: JWK }
async function key(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

let issuers = 0;
/** A provider answering discovery and JWKS through a custom fetch; `up` and `keys` change mid-run. */
function provider(keys: JWK[]) {
  const issuer = `https://id-${++issuers}.example.com/`;
  const state = { up: true, keys, fetches: 0 };
  const fetch: typeof globalThis.fetch = (input) => {
    state.fetches++;
    if (!state.up) return Promise.resolve(new Response('down', { status: 503 }));
    const url = input instanceof Request ? input.url : input.toString();
    const body = url.endsWith('/.well-known/openid-configuration') ? { issuer, jwks_uri: `${issuer}jwks` } : { keys: state.keys };
    return Promise.resolve(Response.json(body));
  };
  return { issuer, state, fetch };
}

const audience = 'https://api.example.com';
function sign(issuer: string, k: Key): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: issuer, aud: audience, sub: 'user', iat: now, exp: now + 6 * 3600 })
    .setProtectedHeader({ alg: 'ES256', kid: k.kid, typ: 'at+jwt' }).sign(k.privateKey);
}

interface Row { scenario: string; requests: number; served: number; knownFailed: number; refused: number; fetches: number }
const rows: Row[] = [];
type Verify = (token: string) => Promise<unknown>;
async function run(verify: Verify, token: string, row: Row, known = true): Promise<void> {
  row.requests++;
  try {
    await verify(token);
    row.served++;
  } catch {
    if (known) row.knownFailed++;
    else row.refused++;
  }
}
const row = (scenario: string): Row => ({ scenario, requests: 0, served: 0, knownFailed: 0, refused: 0, fetches: 0 });
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1)); // lets background refreshes land

async function outage(): Promise<void> {
  const k = await key('k1');
  const p = provider([k.jwk]);
  const verify = createVerifier({ issuer: p.issuer, audience, fetch: p.fetch, onEvent: () => undefined });
  const token = await sign(p.issuer, k);
  const r = row('provider down for 1 hour (2 h, 1 request/s)');
  for (let s = 0; s < 7200; s++) {
    p.state.up = s < 300 || s >= 3900;
    await run(verify, token, r);
    if (s % 30 === 0) await settle();
    clock.tick(1000);
  }
  r.fetches = p.state.fetches;
  rows.push(r);
}

async function rotation(): Promise<void> {
  const [a, b] = [await key('2026-a'), await key('2026-b')];
  const p = provider([a.jwk]);
  const verify = createVerifier({ issuer: p.issuer, audience, fetch: p.fetch });
  const [ta, r] = [await sign(p.issuer, a), row('key rotation (1 h, 2 requests/s, old and new key)')];
  let tb: string | undefined;
  for (let s = 0; s < 3600; s++) {
    if (s === 600) p.state.keys = [a.jwk, b.jwk]; // new key published, old one still valid
    if (s === 660) tb = await sign(p.issuer, b); // the provider starts signing with it a minute later
    if (s === 2400) p.state.keys = [b.jwk]; // old key retired after its tokens expired
    if (s < 2400) await run(verify, ta, r);
    await run(verify, tb ?? ta, r);
    if (s % 30 === 0) await settle();
    clock.tick(1000);
  }
  r.fetches = p.state.fetches;
  rows.push(r);
}

async function flood(): Promise<void> {
  const k = await key('k1');
  const p = provider([k.jwk]);
  const verify = createVerifier({ issuer: p.issuer, audience, fetch: p.fetch });
  const good = await sign(p.issuer, k);
  const stranger = await key('x');
  const forged = await Promise.all(Array.from({ length: 100 }, (_, i) => sign(p.issuer, { ...stranger, kid: `made-up-${i}` })));
  const r = row('flood: 10,000 unknown-kid requests in 100 s, plus 1,000 genuine');
  await run(verify, good, r);
  for (let i = 0; i < 10_000; i++) {
    await run(verify, forged[i % 100]!, r, false);
    if (i % 10 === 0) await run(verify, good, r);
    clock.tick(10);
  }
  r.fetches = p.state.fetches;
  rows.push(r);
}

async function redisOutage(): Promise<void> {
  const k = await key('k1');
  const p = provider([k.jwk]);
  // Three processes sharing one store that goes down for 30 minutes (as a stopped Redis would).
  const shared = memoryStore();
  const redis = { up: true };
  const fail = (): Promise<never> => Promise.reject(new Error('ECONNREFUSED'));
  const store: KeyStore = {
    get: (key) => (redis.up ? shared.get(key) : fail()),
    set: (key, value, ttl) => (redis.up ? shared.set(key, value, ttl) : fail()),
    lock: (key, ttl) => (redis.up ? shared.lock!(key, ttl) : fail()),
    unlock: (key) => (redis.up ? shared.unlock!(key) : fail()),
  };
  // A fetch per process, so each gets its own key set as separate processes would.
  const verifiers = [1, 2, 3].map(() => createVerifier({
    issuer: p.issuer, audience, store, onEvent: () => undefined, fetch: ((input: string) => p.fetch(input)) as typeof fetch,
  }));
  const token = await sign(p.issuer, k);
  const r = row('Redis down for 30 min (3 processes, 2 h, 3 requests/s)');
  for (let s = 0; s < 7200; s++) {
    redis.up = s < 1800 || s >= 3600;
    for (const verify of verifiers) await run(verify, token, r);
    if (s % 30 === 0) await settle();
    clock.tick(1000);
  }
  r.fetches = p.state.fetches;
  rows.push(r);
}

await outage();
await rotation();
await flood();
await redisOutage();
clock.uninstall();

const header = ['scenario', 'requests', 'served', 'known-key failed', 'refused (forged)', 'provider fetches'];
const lines = rows.map((x) => [x.scenario, x.requests, x.served, x.knownFailed, x.refused, x.fetches].map(String));
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
const print = (cells: string[]): void => console.log(`| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`);
print(header);
console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const l of lines) print(l);
if (rows.some((x) => x.knownFailed > 0)) process.exitCode = 1;
