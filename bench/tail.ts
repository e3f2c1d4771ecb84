// Where the fresh-token p99 tail comes from, in process (no HTTP): CONCURRENCY verifications in flight
// at once, as with 50 connections, each token verified once (a full cache admits a token only at its
// second sighting, so tokens that came round again would be hits); per-verification latency percentiles
// and the time spent in GC pauses (by kind), for koa-token-guard (cache on and off) and raw jose.
//   npx tsx bench/tail.ts [ES256|RS256|EdDSA]   (UV_THREADPOOL_SIZE and node flags are honoured)
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { importJWK, jwtVerify } from 'jose';
import { createVerifier } from '../lib/index.js';
import { AUDIENCE, benchKeys, signTokens, type BenchAlg } from './support.js';

const ISSUER = 'https://issuer.bench.example/';
const CONCURRENCY = 50;
const REQUESTS = Number(process.env.TAIL_REQUESTS ?? 30_000);
const TOKENS = REQUESTS;
const alg = (process.argv[2] ?? 'ES256') as BenchAlg;

const gcKinds: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};
let gc: Record<string, { count: number; ms: number; max: number }> = {};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = gcKinds[(entry as unknown as { detail: { kind: number } }).detail.kind] ?? 'other';
    const slot = (gc[kind] ??= { count: 0, ms: 0, max: 0 });
    slot.count++;
    slot.ms += entry.duration;
    slot.max = Math.max(slot.max, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

const [key] = (await benchKeys()).filter((k) => k.alg === alg);
const jwks = JSON.stringify({ keys: [key!.publicJwk] });
const fetch: typeof globalThis.fetch = (input) => Promise.resolve(new Response(
  String(input instanceof Request ? input.url : input).endsWith('/openid-configuration') ? JSON.stringify({ issuer: ISSUER, jwks_uri: `${ISSUER}jwks.json` }) : jwks));
const tokens = await signTokens(key!, ISSUER, TOKENS);
const imported = await importJWK(key!.publicJwk, alg);
const subjects: [string, (t: string) => Promise<unknown>][] = [
  ['jose', (t) => jwtVerify(t, imported, { issuer: ISSUER, audience: AUDIENCE, algorithms: [alg] })],
  ['ours, cache off', createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch, cache: false })],
  ['ours, cache on', createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch })],
];

// Each subject walks the token list on from where it stopped, so the cache (10,000 entries, LRU) never
// holds the next token: every verification of every run is a miss.
const cursors = new Map<unknown, number>();

async function run(verify: (t: string) => Promise<unknown>, requests: number): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const offset = cursors.get(verify) ?? 0;
  cursors.set(verify, offset + requests);
  const worker = async (): Promise<void> => {
    while (next < requests) {
      const token = tokens[(offset + next++) % TOKENS]!;
      const started = performance.now();
      await verify(token);
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return latencies.sort((a, b) => a - b);
}

console.log(`${alg}, ${CONCURRENCY} in flight, ${REQUESTS.toLocaleString('en')} verifications over ${TOKENS.toLocaleString('en')} tokens, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
console.log('| subject | verif/s | p50 ms | p99 ms | max ms | GC pauses (count, total ms, longest ms) |\n|---|--:|--:|--:|--:|---|');
for (const round of [0, 1]) {
  for (const [name, verify] of round ? [...subjects].reverse() : subjects) {
    await run(verify, 2000);
    gc = {};
    const started = performance.now();
    const l = await run(verify, REQUESTS);
    const seconds = (performance.now() - started) / 1000;
    const q = (p: number) => l[Math.min(l.length - 1, Math.floor(l.length * p))]!.toFixed(1);
    const pauses = Object.entries(gc).map(([k, v]) => `${k} ${v.count}, ${v.ms.toFixed(0)}, ${v.max.toFixed(1)}`).join('; ');
    console.log(`| ${name} | ${Math.round(REQUESTS / seconds)} | ${q(0.5)} | ${q(0.99)} | ${l.at(-1)!.toFixed(1)} | ${pauses} |`);
  }
}
