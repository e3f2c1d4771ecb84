// Paired HTTP rows: the two servers of a comparison run AT THE SAME TIME, both pinned to core 0, each loaded
// by its own wrk on core 1, so whatever slows the shared machine (a neighbour on the host) slows both alike.
// The figure is each server's CPU time per request (all its threads, from /proc): what it would serve alone on
// a core is 1 / that, so A's CPU per request ÷ B's is the req/s ratio the http bench's goals mean. On this
// machine, sequential rows of one run move by ±15–25 % between rounds; a pair's per-round ratio by a few %.
// (Their req/s ratio is shown too, but the kernel shares a core between threads, not processes: a server
// whose helper threads are busier gets more of the core, so req/s side by side favours it.)
//   BENCH_QUICK=1            2 rounds of 3 s
//   BENCH_PAIR_ROUNDS, BENCH_PAIR_DURATION (s) override 6 rounds of 8 s
//   BENCH_PACED_ROUNDS       paced rounds after them (default 4; 0: none), for latency: see PACE_SHARE
//   BENCH_PAIRS=regex        only the pairs whose id matches
//   BENCH_PAIR_BASE=dir      instead of the goals' pairs, this checkout against another one (a commit before a
//                            change: `git worktree add dir REV`, `npm ci` or a node_modules link, `npm run build`
//                            there), side by side for the token reused, fresh ES256 tokens and DPoP
//   BENCH_PROFILE=dir        servers run with --cpu-prof (bench/http.ts startServer)
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { startServer } from './http.js';
import { LoadGenerator, threadCpuTime, type Measure } from './load.js';
import { features, type Target } from './server.js';
import { benchKeys, hasTaskset, median, OPAQUE_TOKEN, quick, signTokens, startIssuer, type BenchAlg } from './support.js';
import { dpopClient } from './dpop.js';
import { checkPairLatency, checkPairs, type PairResult } from './targets.js';

const num = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback);
const ROUNDS = num('BENCH_PAIR_ROUNDS', quick ? 2 : 6);
const DURATION = num('BENCH_PAIR_DURATION', quick ? 3 : 8);
const WARMUP = quick ? 2 : 3;
// A fresh pair first sends this many tokens of a list of their own, so the cache-on server's cache (10,000
// entries by default) is full of them when the rounds start: the steady state of a stream of new tokens.
const FILL = quick ? 2_000 : 12_000;
const CONNECTIONS = 50;
// Latency is measured in paced rounds, each server sent this share of the slower one's rate in the saturated
// rounds (the two together keep core 0 about a third busy): a saturated server's p99 is the queue the 50
// connections keep, which is its throughput again, and moved 4× between runs of one build; paced, it is the
// server's own (its service time, its pauses).
const PACE_SHARE = 0.35;
const PACED_ROUNDS = num('BENCH_PACED_ROUNDS', quick ? 1 : 4);
// The rounds' tokens, one list per algorithm, each server with its own cursor. A list that comes round again
// still misses a full cache: its tokens never entered it (a full cache admits a token at its second
// sighting within its doorkeeper's window of cache.max tokens, and the list is longer than that).
const FRESH = num('BENCH_FRESH', quick ? 5_000 : 40_000);

interface Side {
  target: Target;
  /** Another checkout whose bench server and build serve this side (BENCH_PAIR_BASE). */
  dir?: string;
  tokens: 'reuse' | 'fresh' | 'opaque' | 'dpop';
  alg?: BenchAlg;
}

interface Pair {
  id: string;
  what: string;
  a: Side;
  b: Side;
}

const pairs: Pair[] = ([
  { id: 'reuse', what: 'token reused ÷ Koa + the same header', a: { target: 'koa', tokens: 'reuse', alg: 'ES256' }, b: { target: 'ours', tokens: 'reuse', alg: 'ES256' } },
  ...(features.introspection ? [{ id: 'introspected', what: 'cached introspected token ÷ Koa + header', a: { target: 'koa', tokens: 'reuse', alg: 'ES256' }, b: { target: 'ours-introspection', tokens: 'opaque' } } satisfies Pair] : []),
  { id: 'cache', what: 'ES256 fresh tokens, cache on ÷ cache: false', a: { target: 'ours-nocache', tokens: 'fresh', alg: 'ES256' }, b: { target: 'ours', tokens: 'fresh', alg: 'ES256' } },
  ...(['ES256', 'RS256', 'EdDSA'] as const).map((alg): Pair => ({
    id: `fresh-${alg}`, what: `${alg} fresh tokens ÷ Koa + raw jose`, a: { target: 'jose', tokens: 'fresh', alg }, b: { target: 'ours', tokens: 'fresh', alg },
  })),
  ...(features.dpop ? [{ id: 'dpop', what: 'DPoP (cached token + proof) ÷ Koa + one raw jose jwtVerify', a: { target: 'jose', tokens: 'fresh', alg: 'ES256' }, b: { target: 'ours-dpop', tokens: 'dpop' } } satisfies Pair] : []),
] satisfies Pair[]);

// Before and after a change: the same target served by the base checkout (A) and by this one (B).
const BASE = process.env.BENCH_PAIR_BASE;
const basePairs = (dir: string): Pair[] => [
  { id: 'base-reuse', what: `token reused: this checkout ÷ ${dir}`, a: { target: 'ours', tokens: 'reuse', alg: 'ES256', dir }, b: { target: 'ours', tokens: 'reuse', alg: 'ES256' } },
  { id: 'base-fresh-ES256', what: `ES256 fresh tokens: this checkout ÷ ${dir}`, a: { target: 'ours', tokens: 'fresh', alg: 'ES256', dir }, b: { target: 'ours', tokens: 'fresh', alg: 'ES256' } },
  ...(features.dpop ? [{ id: 'base-dpop', what: `DPoP: this checkout ÷ ${dir}`, a: { target: 'ours-dpop', tokens: 'dpop', dir }, b: { target: 'ours-dpop', tokens: 'dpop' } } satisfies Pair] : []),
];
const chosen = (BASE === undefined ? pairs : basePairs(BASE)).filter((p) => !process.env.BENCH_PAIRS || new RegExp(process.env.BENCH_PAIRS).test(p.id));

export async function main(): Promise<void> {
  const pin = hasTaskset() && cpus().length > 1;
  if (!pin) {
    console.log('Paired rows need two cores and taskset (util-linux): skipped.');
    return;
  }
  const generator = new LoadGenerator(true, process.env.BENCH_LOADGEN === 'autocannon' ? 'autocannon' : undefined);
  const keys = await benchKeys();
  const issuer = await startIssuer(keys);
  const algs = [...new Set(chosen.flatMap((p) => [p.a, p.b]).filter((s) => s.tokens !== 'opaque' && s.tokens !== 'dpop').map((s) => s.alg!))];
  const fresh = new Map<BenchAlg, string[]>();
  const fill = new Map<BenchAlg, string[]>();
  for (const alg of algs) {
    const key = keys.find((k) => k.alg === alg)!;
    const needed = chosen.some((p) => [p.a, p.b].some((s) => s.alg === alg && s.tokens === 'fresh'));
    process.stderr.write(`  signing ${(needed ? FRESH + FILL : 1).toLocaleString('en')} ${alg} tokens…\n`);
    fresh.set(alg, await signTokens(key, issuer.issuer, needed ? FRESH : 1));
    if (needed) fill.set(alg, await signTokens(key, issuer.issuer, FILL, 'fill'));
  }
  const dpop = features.dpop ? await dpopClient(keys.find((k) => k.alg === 'ES256')!, issuer.issuer) : undefined;
  const env = { ...process.env, BENCH_ISSUER: issuer.issuer, BENCH_JWKS_URI: issuer.jwksUri };
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

  console.log(`Paired HTTP bench: both servers of a pair on core 0 at once, each with its own ${generator.kind} on core 1 (${CONNECTIONS} connections); ` +
    `${ROUNDS} rounds of ${DURATION} s after a warm-up; B ÷ A per round, median (range); Node ${process.version}, ${cpus().length} cores.`);
  const results: PairResult[] = [];
  try {
    for (const pair of chosen) {
      // New servers per pair: each pair starts from the same state (empty caches, cold JIT).
      const servers = [await startServer(pair.a.target, env, true, pair.a.dir), await startServer(pair.b.target, env, true, pair.b.dir)] as const;
      try {
        const tokensOf = async (side: Side, port: number, duration: number, filling: boolean): Promise<{ tokens: readonly string[]; hot: number }> => {
          if (side.tokens === 'opaque') return { tokens: [OPAQUE_TOKEN], hot: 1 };
          // Proofs are single-use: enough for the run at 6,000 req/s, made just before it.
          if (side.tokens === 'dpop') return { tokens: await dpop!.lines(`http://127.0.0.1:${port}/messages`, 6_000 * duration), hot: 0 };
          const list = (filling ? fill : fresh).get(side.alg!)!;
          return side.tokens === 'reuse' ? { tokens: list.slice(0, 1), hot: 1 } : { tokens: list, hot: 0 };
        };
        const both = async (duration: number, filling = false, pace?: number): Promise<[Measure, Measure]> => {
          const loads = await Promise.all([pair.a, pair.b].map((side, i) => tokensOf(side, servers[i]!.port, duration, filling)));
          const [a, b] = await Promise.all(servers.map((server, i) => generator.run({
            port: server.port, serverPid: server.child.pid!, ...loads[i]!, freshPermille: 1000, duration, connections: CONNECTIONS,
            ...(pace === undefined ? {} : { pace }),
          })));
          return [a!, b!];
        };
        let sent = 0;
        do {
          const warm = await both(WARMUP, pair.b.tokens === 'fresh');
          if (warm[0].bad + warm[1].bad > 0) throw new Error(`${pair.id}: ${warm[0].bad + warm[1].bad} failed requests in the warm-up`);
          sent += warm[1].rps * WARMUP;
        } while (pair.b.tokens === 'fresh' && sent < FILL);
        const threadsBefore = servers.map((s) => threadCpuTime(s.child.pid!));
        const rounds: [Measure, Measure][] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const m = await both(DURATION);
          rounds.push(m);
          process.stderr.write(`  ${pair.id} round ${round + 1}/${ROUNDS}: A ${Math.round(m[0].rps)} req/s (CPU ${(m[0].serverShare * 100).toFixed(0)} %), B ${Math.round(m[1].rps)} req/s (${(m[1].serverShare * 100).toFixed(0)} %); CPU per request A ${m[0].cpuUs.toFixed(0)} µs, B ${m[1].cpuUs.toFixed(0)} µs, A ÷ B ${(m[0].cpuUs / m[1].cpuUs).toFixed(3)}\n`);
        }
        const threadsAfter = servers.map((s) => threadCpuTime(s.child.pid!));
        const rate = Math.round(PACE_SHARE * Math.min(median(rounds.map((m) => m[0].rps)), median(rounds.map((m) => m[1].rps))));
        const paced: [Measure, Measure][] = [];
        for (let round = 0; round < (generator.kind === 'wrk' ? PACED_ROUNDS : 0); round++) {
          const m = await both(DURATION, false, rate);
          paced.push(m);
          process.stderr.write(`  ${pair.id} paced round ${round + 1}/${PACED_ROUNDS} at ${rate} req/s each: A ${Math.round(m[0].rps)} req/s, p50 ${m[0].p50.toFixed(2)} ms, p99 ${m[0].p99.toFixed(2)} ms; B ${Math.round(m[1].rps)} req/s, p50 ${m[1].p50.toFixed(2)} ms, p99 ${m[1].p99.toFixed(2)} ms\n`);
        }
        const requests = [0, 1].map((i) => rounds.reduce((n, m) => n + m[i]!.rps * DURATION, 0));
        const side = (i: 0 | 1) => ({
          rps: median(rounds.map((m) => m[i].rps)), p99: median(rounds.map((m) => m[i].p99)), cpuUs: median(rounds.map((m) => m[i].cpuUs)),
          mainUs: (threadsAfter[i]!.main - threadsBefore[i]!.main) / requests[i]!, otherUs: (threadsAfter[i]!.other - threadsBefore[i]!.other) / requests[i]!,
          bad: rounds.reduce((n, m) => n + m[i].bad, 0), repeated: rounds.some((m) => m[i].repeated),
        });
        const ratios = rounds.map((m) => m[0].cpuUs / m[1].cpuUs).sort((x, y) => x - y);
        results.push({
          id: pair.id, what: pair.what, a: side(0), b: side(1), ratio: median(ratios), low: ratios[0]!, high: ratios.at(-1)!,
          rpsRatio: median(rounds.map((m) => m[1].rps / m[0].rps)),
          ...(paced.length === 0 ? {} : { paced: pacedResult(rate, paced) }),
        });
      } finally {
        for (const server of servers) server.child.kill('SIGTERM');
      }
    }
  } finally {
    await issuer.close();
    generator.close();
  }

  const load = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
  console.log(`\nLoad average after the run: ${load}.\n`);
  console.log('| pair: B ÷ A | A µs/req: event loop + other threads | B µs/req | ratio: A µs ÷ B µs, median (range) | req/s side by side: A, B (B ÷ A) | goal | |');
  console.log('|---|--:|--:|--:|--:|--:|---|');
  const checks = new Map(checkPairs(results).map((c) => [c.id, c]));
  const latency = new Map(checkPairLatency(results).map((c) => [c.id, c]));
  for (const r of results) {
    const c = checks.get(r.id)!;
    const flag = r.a.bad + r.b.bad > 0 ? ` (${r.a.bad + r.b.bad} failed)` : '';
    console.log(`| ${r.what}${flag} | ${r.a.mainUs.toFixed(0)} + ${r.a.otherUs.toFixed(0)} | ${r.b.mainUs.toFixed(0)} + ${r.b.otherUs.toFixed(0)} | ` +
      `${r.ratio.toFixed(3)} (${r.low.toFixed(2)}–${r.high.toFixed(2)}) | ${Math.round(r.a.rps).toLocaleString('en')}, ${Math.round(r.b.rps).toLocaleString('en')} (${r.rpsRatio.toFixed(2)}) | ` +
      `${Number.isNaN(c.goal) ? '– | ' : `≥ ${c.goal} | ${c.met ? 'met' : '**missed**'}`} |`);
  }
  if (results.some((r) => r.paced !== undefined)) {
    console.log(`\nLatency, paced: each server sent ${PACE_SHARE} × the slower one's rate in the rounds above, ${PACED_ROUNDS} rounds of ${DURATION} s; p99 B ÷ A per round, median (range).\n`);
    console.log('| pair: B ÷ A | rate each | A p50 / p99 ms | B p50 / p99 ms | p99 ratio, median (range) | goal | |');
    console.log('|---|--:|--:|--:|--:|--:|---|');
    for (const r of results) {
      if (r.paced === undefined) continue;
      const { rate, a, b, p99Ratio, low, high } = r.paced;
      const c = latency.get(r.id);
      console.log(`| ${r.what} | ${rate.toLocaleString('en')} | ${a.p50.toFixed(2)} / ${a.p99.toFixed(2)} | ${b.p50.toFixed(2)} / ${b.p99.toFixed(2)} | ` +
        `${p99Ratio.toFixed(2)} (${low.toFixed(2)}–${high.toFixed(2)}) | ${c === undefined ? '– | ' : `≤ ${c.goal} | ${c.met ? 'met' : '**missed**'}`} |`);
    }
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(BASE === undefined ? 'bench/results/pairs.json' : 'bench/results/pairs-base.json', `${JSON.stringify({ date: new Date().toISOString(), generator: generator.kind, load, rounds: ROUNDS, duration: DURATION, pairs: results }, null, 2)}\n`);
}

/** The paced rounds of a pair: medians of each side's p50 and p99, and of the per-round p99 ratio. */
function pacedResult(rate: number, rounds: readonly [Measure, Measure][]): NonNullable<PairResult['paced']> {
  const ratios = rounds.map((m) => m[1].p99 / m[0].p99).sort((x, y) => x - y);
  const side = (i: 0 | 1) => ({ p50: median(rounds.map((m) => m[i].p50)), p99: median(rounds.map((m) => m[i].p99)) });
  return { rate, a: side(0), b: side(1), p99Ratio: median(ratios), low: ratios[0]!, high: ratios.at(-1)! };
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
