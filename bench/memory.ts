// Memory under a flood of distinct tokens: 1,000,000 verifications over 100,000 distinct ES256 tokens
// (each token used 10 times within a short while, as a client reuses its token), straight through the verifier
// (no HTTP), cache at its default bound of 10,000. Resident set and heap after a full GC, at checkpoints.
// Then, once introspection exists in lib/, the same over 100,000 opaque tokens through createIntrospector
// (answers from an in-memory authorization server), its answer cache at its default bounds.
//   BENCH_QUICK=1  100,000 requests over 10,000 tokens
// Run with --expose-gc (npm run bench does).
import * as lib from '../lib/index.js';
import { createVerifier } from '../lib/index.js';
import { AUDIENCE, benchKeys, quick, signTokens } from './support.js';

const ISSUER = 'https://issuer.bench.example/';
const TOKENS = quick ? 10_000 : 100_000;
const REQUESTS = TOKENS * 10;
const CONCURRENCY = 64;

const gc = (globalThis as { gc?: () => void }).gc;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function snapshot(label: string): string {
  gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return `| ${label} | ${mib(rss)} | ${mib(heapUsed)} |`;
}

/** 1,000,000 calls over the tokens, 10 uses each in batches; rows of RSS and heap at checkpoints. */
async function flood(verify: (token: string) => Promise<unknown>, tokens: readonly string[], what: string): Promise<{ rows: string[]; seconds: number }> {
  const rows = [snapshot(`${tokens.length.toLocaleString('en')} ${what}, nothing verified`)];
  const started = process.hrtime.bigint();
  // Batches of CONCURRENCY distinct tokens, each batch sent 10 times over: every token is used 10 times
  // within a short while, as clients reuse their tokens, and never twice at once.
  let done = 0;
  for (let first = 0; first < TOKENS; first += CONCURRENCY) {
    const batch = tokens.slice(first, first + CONCURRENCY);
    for (let use = 0; use < 10; use++) await Promise.all(batch.map((t) => verify(t)));
    const before = done;
    done += batch.length * 10;
    if (Math.floor(done / (REQUESTS / 4)) > Math.floor(before / (REQUESTS / 4))) rows.push(snapshot(`after ${done.toLocaleString('en')} requests`));
  }
  return { rows, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

type Introspect = (options: object) => (token: string) => Promise<unknown>;

export async function main(): Promise<void> {
  if (gc === undefined) console.log('(no --expose-gc: heap figures include garbage)');
  const [key] = (await benchKeys()).filter((k) => k.alg === 'ES256');
  const jwks = JSON.stringify({ keys: [key!.publicJwk] });
  const discovery = JSON.stringify({ issuer: ISSUER, jwks_uri: `${ISSUER}jwks.json`, introspection_endpoint: `${ISSUER}introspect` });
  const fetch: typeof globalThis.fetch = (input) => {
    const url = input instanceof Request ? input.url : input.toString();
    if (url.endsWith('/openid-configuration')) return Promise.resolve(new Response(discovery));
    if (!url.endsWith('/introspect')) return Promise.resolve(new Response(jwks));
    const now = Math.floor(Date.now() / 1000);
    return Promise.resolve(Response.json({ active: true, iss: ISSUER, aud: AUDIENCE, scope: 'read:messages', sub: 'user', client_id: 'bench', iat: now, exp: now + 3600 }));
  };
  const verify = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch });
  const tokens = await signTokens(key!, ISSUER, TOKENS);
  const { rows, seconds } = await flood(verify, tokens, 'tokens signed');
  console.log(`\nMemory: ${REQUESTS.toLocaleString('en')} verifications over ${TOKENS.toLocaleString('en')} distinct ES256 tokens (each reused 10 times within a short while), ` +
    `through createVerifier (no HTTP), ${CONCURRENCY} at a time, cache at its default bound (10,000 entries); after a full GC; ${seconds.toFixed(1)} s.\n`);
  console.log('| point | RSS MiB | heap used MiB |\n|---|--:|--:|');
  for (const row of rows) console.log(row);

  const createIntrospector = (lib as Record<string, unknown>).createIntrospector as Introspect | undefined;
  if (createIntrospector === undefined) return;
  tokens.length = 0;
  const introspect = createIntrospector({ issuer: ISSUER, audience: AUDIENCE, fetch, introspection: { clientId: 'bench-api', clientSecret: 'bench-secret-0123456789abcdef' } });
  const opaque = Array.from({ length: TOKENS }, (_, i) => `opaque-${i.toString(36).padStart(8, '0')}-${'x'.repeat(32)}`);
  const introspected = await flood(introspect, opaque, 'opaque tokens made');
  console.log(`\nThe same with ${TOKENS.toLocaleString('en')} opaque tokens through createIntrospector (answers from memory, no HTTP), its answer cache at its default bounds; ${introspected.seconds.toFixed(1)} s.\n`);
  console.log('| point | RSS MiB | heap used MiB |\n|---|--:|--:|');
  for (const row of introspected.rows) console.log(row);
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
