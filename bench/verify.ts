// In-process cost of verifying one token, per algorithm: koa-token-guard's verifier against jose's
// jwtVerify alone and against the floor of node:crypto.verify on the same signature plus JSON.parse.
//   BENCH_QUICK=1  shorter sampling
import { verify as cryptoVerify, KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { Bench } from 'tinybench';
import { importJWK, jwtVerify } from 'jose';
import { createVerifier, type Verifier } from '../lib/index.js';
import { AUDIENCE, benchKeys, hasTaskset, quick, signTokens, type BenchKey } from './support.js';

const ISSUER = 'https://issuer.bench.example/';
const DISTINCT = 1000;
const NODE_DIGEST = { ES256: 'sha256', RS256: 'sha256', EdDSA: null } as const;

/** Serves discovery and JWKS from memory: the key set loads once, as in production, with no socket in the measured path. */
function memoryFetch(keys: readonly BenchKey[]): typeof fetch {
  return (input) => {
    const url = String(input instanceof Request ? input.url : input);
    const body = url.endsWith('/openid-configuration') ? { issuer: ISSUER, jwks_uri: `${ISSUER}jwks.json` } : { keys: keys.map((k) => k.publicJwk) };
    return Promise.resolve(new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } }));
  };
}

/** The process's CPU time in ms, every thread included (jose's WebCrypto work runs on libuv's pool). */
const cpuNow = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

type Measures = Record<'floor' | 'jose' | 'ours' | 'hit', number>;

/** Runs the four tasks twice, in opposite orders, and keeps each task's lower median, so neither the
 * order (GC debt left by the task before) nor a burst of noise from the shared machine decides a ratio. */
async function measure(key: BenchKey, tokens: readonly string[], fresh: Verifier, cached: Verifier, now?: () => number): Promise<Measures> {
  const forward = await measureOnce(key, tokens, fresh, cached, false, now);
  const backward = await measureOnce(key, tokens, fresh, cached, true, now);
  return {
    floor: Math.min(forward.floor, backward.floor), jose: Math.min(forward.jose, backward.jose),
    ours: Math.min(forward.ours, backward.ours), hit: Math.min(forward.hit, backward.hit),
  };
}

async function measureOnce(key: BenchKey, tokens: readonly string[], fresh: Verifier, cached: Verifier, reverse: boolean, now?: () => number): Promise<Measures> {
  const parts = tokens.map((t) => t.split('.') as [string, string, string]);
  const keyObject = KeyObject.from(key.publicKey);
  const digest = NODE_DIGEST[key.alg];
  const dsa = key.alg === 'ES256' ? { dsaEncoding: 'ieee-p1363' as const } : {};
  let i = 0;
  const next = () => (i = (i + 1) % tokens.length);
  // jose gets the key as our key set holds it: imported from the JWK.
  const imported = await importJWK(key.publicJwk, key.alg);
  const tasks: [string, () => unknown][] = [
    ['floor', () => {
      const [h, p, s] = parts[next()]!;
      if (!cryptoVerify(digest, Buffer.from(`${h}.${p}`), { key: keyObject, ...dsa }, Buffer.from(s, 'base64url'))) throw new Error('floor: bad signature');
      JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    }],
    ['jose', () => jwtVerify(tokens[next()]!, imported, { issuer: ISSUER, audience: AUDIENCE, algorithms: [key.alg] })],
    ['ours', () => fresh(tokens[next()]!)],
    ['hit', () => cached(tokens[0]!)],
  ];
  const bench = new Bench({ time: quick ? 200 : 1000, warmup: true, ...(now ? { now } : {}) });
  for (const [name, fn] of reverse ? tasks.reverse() : tasks) bench.add(name, fn);
  await bench.run();
  const ns = (name: string): number => {
    const r = bench.getTask(name)!.result;
    if (!('latency' in r)) throw new Error(`${name}: ${r.state}`);
    return r.latency.p50 * 1e6;
  };
  return { floor: ns('floor'), jose: ns('jose'), ours: ns('ours'), hit: ns('hit') };
}

export async function main(): Promise<void> {
  const pin = hasTaskset() && cpus().length > 1;
  // One core, as for the HTTP bench: WebCrypto work on libuv's threadpool would otherwise borrow the other one.
  if (pin) execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  const keys = await benchKeys();
  const fetch = memoryFetch(keys);
  const fresh = createVerifier({ issuer: ISSUER, audience: AUDIENCE, cache: false, fetch });
  const cached = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch });
  const f = (n: number) => Math.round(n).toLocaleString('en');
  const rows = { cpu: [] as string[], wall: [] as string[] };
  for (const key of keys) {
    const tokens = await signTokens(key, ISSUER, DISTINCT);
    await fresh(tokens[0]!); // the key set loads once
    await cached(tokens[0]!);
    const wall = await measure(key, tokens, fresh, cached);
    const cpu = await measure(key, tokens, fresh, cached, cpuNow);
    for (const [kind, m] of [['wall', wall], ['cpu', cpu]] as const) {
      rows[kind].push(`| ${key.alg} | ${f(m.floor)} | ${f(m.jose)} | ${f(m.ours)} | ${(m.ours / m.jose).toFixed(2)} | ${(m.ours / m.floor).toFixed(2)} | ${f(wall.hit)} |`);
    }
  }
  console.log(`\nIn-process verification: median ns/op (tinybench) over ${DISTINCT} distinct tokens, ${pin ? 'pinned to one core with taskset' : 'NOT pinned (no taskset)'}. ` +
    'floor = node:crypto.verify on the same signature + JSON.parse of the payload; jose = jwtVerify with the key imported from the same JWK; each figure the lower of two runs in opposite task orders. Cache hit in wall time (it is below the CPU clock\'s resolution).');
  for (const [title, kind] of [['CPU time per op (process.cpuUsage, all threads; steady on a shared machine)', 'cpu'], ['Wall time per op', 'wall']] as const) {
    console.log(`\n${title}:\n`);
    console.log('| alg | floor | jose jwtVerify | koa-token-guard, no cache | ÷ jose | ÷ floor | cache hit |');
    console.log('|---|--:|--:|--:|--:|--:|--:|');
    for (const row of rows[kind]) console.log(row);
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
