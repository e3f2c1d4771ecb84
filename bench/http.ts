// HTTP throughput on loopback: each target in its own process pinned to core 0, the load generator (wrk,
// or autocannon without it) pinned to core 1; a warm-up, then rounds interleaved across rows; medians
// reported, each row as a ratio to a baseline of the same run, with the server's CPU share beside it.
//   BENCH_QUICK=1     one short round instead of five
//   BENCH_ROUNDS, BENCH_DURATION (s), BENCH_WARMUP (s), BENCH_CONNECTIONS override the defaults
//   BENCH_FRESH=n     distinct tokens per algorithm for the fresh rows (default: enough that none is sent twice
//                     to one server, up to 4,000 req/s through warm-up and rounds; far more than the cache's 10,000)
//   BENCH_SWEEP=0     skip the sweep over the share of fresh tokens (the plot's data: one run per point
//                     after the rounds, BENCH_SWEEP_DURATION s each, default 5)
//   BENCH_LOADGEN=autocannon  force autocannon although wrk is installed
//   BENCH_PROFILE=dir servers run with --cpu-prof and write their profiles to dir
//   BENCH_ROWS=regex  only the rows whose id matches (the baselines they need are kept)
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { cpus } from 'node:os';
import { features, type Target } from './server.js';
import { LoadGenerator, type Measure } from './load.js';
import { ALGS, benchKeys, hasTaskset, median, OPAQUE_TOKEN, quick, signTokens, startIssuer, type BenchAlg } from './support.js';
import { dpopClient } from './dpop.js';
import { checkTargets, type Row } from './targets.js';

const num = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback);
const ROUNDS = num('BENCH_ROUNDS', quick ? 1 : 5);
const DURATION = num('BENCH_DURATION', quick ? 3 : 6);
const SWEEP_DURATION = num('BENCH_SWEEP_DURATION', quick ? 2 : 5);
const WARMUP = num('BENCH_WARMUP', quick ? 2 : 3);
const CONNECTIONS = num('BENCH_CONNECTIONS', 50);
// A fresh token must be new to the server: a full cache admits a token at its second sighting, so a
// list that came round again would measure cache hits. 4,000 req/s is above what one core verifies.
const FRESH = num('BENCH_FRESH', Math.ceil((WARMUP + ROUNDS * DURATION) * 4_000));
const HOT = 100;
const SWEEP = process.env.BENCH_SWEEP !== '0' ? [0, 10, 50, 100, 250, 500, 1000] : [];

interface Scenario {
  id: string;
  target: Target;
  label: string;
  alg?: BenchAlg;
  /**
   * none: no Authorization header; reuse: one token; fresh: FRESH distinct tokens rotated; mix: HOT reused
   * tokens and fresh ones; opaque: the introspected token; dpop: one bound token, a new proof every request.
   */
  tokens: 'none' | 'reuse' | 'fresh' | 'mix' | 'opaque' | 'dpop';
  freshPermille?: number;
}

const scenarios: Scenario[] = ([
  { id: 'koa', target: 'koa', label: 'bare Koa + @koa/router, no Authorization header', tokens: 'none' },
  { id: 'koa-header', target: 'koa', label: 'bare Koa + @koa/router, the same Authorization header, ignored', alg: 'ES256', tokens: 'reuse' },
  { id: 'floor', target: 'floor', label: 'floor: Koa + one async middleware reading the header and doing one Map.get', alg: 'ES256', tokens: 'reuse' },
  { id: 'ours-noguard-reuse', target: 'ours-noguard', label: 'koa-token-guard, token reused, authenticate() only (no guard)', alg: 'ES256', tokens: 'reuse' },
  { id: 'ours-reuse', target: 'ours', label: 'koa-token-guard, token reused', alg: 'ES256', tokens: 'reuse' },
  // Spans and metrics recorded for every request, exported nowhere (bench/otel.ts): what the instrumentation costs.
  // Its baseline: an application running the OpenTelemetry SDK and its AsyncLocalStorage context manager, without this instrumentation.
  { id: 'ours-reuse-otelbase', target: 'ours-otelbase', label: 'koa-token-guard, token reused, OpenTelemetry SDK on, no instrumentation', alg: 'ES256', tokens: 'reuse' },
  { id: 'ours-reuse-otel', target: 'ours-otel', label: 'koa-token-guard, token reused, OpenTelemetry instrumentation on', alg: 'ES256', tokens: 'reuse' },
  ...(features.introspection ? [{ id: 'ours-introspected', target: 'ours-introspection', label: 'koa-token-guard, opaque token introspected once, then cached', tokens: 'opaque' } satisfies Scenario] : []),
  ...(features.dpop ? [{ id: 'ours-dpop', target: 'ours-dpop', label: 'koa-token-guard, DPoP: cached token + a new proof every request', alg: 'ES256', tokens: 'dpop' } satisfies Scenario] : []),
  ...ALGS.map((alg): Scenario => ({ id: `ours-fresh-${alg}`, target: 'ours', label: 'koa-token-guard, fresh tokens (each sent once, cache on)', alg, tokens: 'fresh' })),
  // Diagnostic: the same fresh tokens with the verified-token cache off, which separates the cache's own cost (insert, evict, GC) from the checks.
  { id: 'oursnocache-fresh-ES256', target: 'ours-nocache', label: 'koa-token-guard, same fresh tokens, cache: false', alg: 'ES256', tokens: 'fresh' },
  ...ALGS.map((alg): Scenario => ({ id: `jose-fresh-${alg}`, target: 'jose', label: 'Koa + raw jose (createRemoteJWKSet + jwtVerify), same fresh tokens', alg, tokens: 'fresh' })),
  // koa-jwt verifies with jsonwebtoken, which has no EdDSA.
  ...(['ES256', 'RS256'] as const).map((alg): Scenario => ({ id: `koajwt-fresh-${alg}`, target: 'koa-jwt', label: 'koa-jwt + jwks-rsa, same fresh tokens', alg, tokens: 'fresh' })),
  ...SWEEP.flatMap((permille) => (['ours', 'jose'] as const).map((target): Scenario => ({
    id: `sweep-${target}-${permille}`, target, label: `${target === 'ours' ? 'koa-token-guard' : 'raw jose'}, ${HOT} clients' tokens + ${permille / 10} % fresh`, alg: 'ES256', tokens: 'mix', freshPermille: permille,
  }))),
] satisfies Scenario[]).filter((s) => !process.env.BENCH_ROWS || s.id === 'koa' || s.id === 'koa-header' || (s.id === 'ours-reuse' && /otel/.test(process.env.BENCH_ROWS)) || new RegExp(process.env.BENCH_ROWS).test(s.id));

/** Starts one bench server; `cwd`: another checkout's bench and build (bench/pairs.ts BENCH_PAIR_BASE). */
export async function startServer(target: Target, env: NodeJS.ProcessEnv, pin: boolean, cwd?: string): Promise<{ child: ChildProcess; port: number }> {
  const profile = process.env.BENCH_PROFILE;
  const node = [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}/${target}`] : []), '--import', 'tsx', 'bench/server.ts', target];
  const child = pin ? spawn('taskset', ['-c', '0', process.execPath, ...node], { env, cwd, stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, node, { env, cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [line] = await once(lines, 'line') as [string];
  const port = Number(/^listening (\d+)$/.exec(line)?.[1]);
  if (!port) throw new Error(`${target} did not start: ${line}`);
  return { child, port };
}

export async function main(): Promise<void> {
  const pin = hasTaskset() && cpus().length > 1;
  const generator = new LoadGenerator(pin, process.env.BENCH_LOADGEN === 'autocannon' ? 'autocannon' : undefined);
  const keys = await benchKeys();
  const issuer = await startIssuer(keys);
  process.stderr.write(`  signing ${FRESH.toLocaleString('en')} tokens per algorithm…\n`);
  const fresh = new Map<BenchAlg, string[]>();
  for (const key of keys) fresh.set(key.alg, await signTokens(key, issuer.issuer, FRESH));
  // The sweep's own tokens (HOT reused, then fresh ones), so the fresh rows never leave them in a cache.
  const mix = SWEEP.length ? await signTokens(keys.find((k) => k.alg === 'ES256')!, issuer.issuer, FRESH + HOT, 'mix') : [];
  const env = { ...process.env, BENCH_ISSUER: issuer.issuer, BENCH_JWKS_URI: issuer.jwksUri };
  const dpop = features.dpop ? await dpopClient(keys.find((k) => k.alg === 'ES256')!, issuer.issuer) : undefined;
  // Signing used both cores; from here on this process (and the load generator) keeps to core 1.
  if (pin) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

  const targets = [...new Set(scenarios.map((s) => s.target))];
  const servers = new Map<Target, { child: ChildProcess; port: number }>();
  for (const target of targets) servers.set(target, await startServer(target, env, pin));
  const tokensOf = async (s: Scenario, duration: number): Promise<{ tokens: readonly string[]; hot: number }> => {
    if (s.tokens === 'none') return { tokens: [], hot: 0 };
    if (s.tokens === 'opaque') return { tokens: [OPAQUE_TOKEN], hot: 1 };
    // Proofs are single-use: enough for the run at 6,000 req/s (above what one core verifies), made just before it.
    if (s.tokens === 'dpop') return { tokens: await dpop!.lines(`http://127.0.0.1:${servers.get(s.target)!.port}/messages`, 6_000 * duration), hot: 0 };
    const all = fresh.get(s.alg!)!;
    if (s.tokens === 'reuse') return { tokens: all.slice(0, 1), hot: 1 };
    if (s.tokens === 'mix') return { tokens: mix, hot: HOT };
    return { tokens: all, hot: 0 };
  };
  const load = async (s: Scenario, duration: number): Promise<Measure> => {
    const server = servers.get(s.target)!;
    return generator.run({ port: server.port, serverPid: server.child.pid!, ...await tokensOf(s, duration), freshPermille: s.freshPermille ?? 1000, duration, connections: CONNECTIONS });
  };

  console.log(`HTTP bench: ${generator.kind} (${CONNECTIONS} connections${generator.kind === 'wrk' ? ', 1 thread' : ''}), ${WARMUP} s warm-up, ` +
    `${ROUNDS} round(s) of ${DURATION} s per row, interleaved; medians over rounds (the sweep: one run of ${SWEEP_DURATION} s per point); ` +
    `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}).`);
  console.log(pin ? `Servers pinned to core 0 with taskset; ${generator.kind} pinned to core 1.`
    : 'taskset not found (util-linux) or a single core: processes NOT pinned; figures include borrowed cores.');

  const results = new Map<string, Measure[]>();
  try {
    for (const s of scenarios) {
      const warm = await load(s, WARMUP);
      if (warm.bad > 0) throw new Error(`${s.id}: ${warm.bad} failed requests in the warm-up`);
    }
    const main = scenarios.filter((s) => s.tokens !== 'mix');
    const sweep = scenarios.filter((s) => s.tokens === 'mix');
    for (let round = 0; round <= ROUNDS; round++) {
      // Rotate the order each round, so a burst of noise from the shared machine does not always hit the same row.
      const order = round < ROUNDS ? main.map((_, i) => main[(i + round * 5) % main.length]!) : sweep;
      for (const s of order) {
        const measure = await load(s, round < ROUNDS ? DURATION : SWEEP_DURATION);
        results.set(s.id, [...(results.get(s.id) ?? []), measure]);
        process.stderr.write(`  ${round < ROUNDS ? `round ${round + 1}/${ROUNDS}` : 'sweep'} ${s.id}: ${Math.round(measure.rps)} req/s, p99 ${measure.p99.toFixed(1)} ms, server CPU ${(measure.serverShare * 100).toFixed(0)} %, ${generator.kind} ${(measure.loadShare * 100).toFixed(0)} %\n`);
      }
    }
  } finally {
    for (const { child } of servers.values()) child.kill('SIGTERM');
    await issuer.close();
    generator.close();
  }

  const rows: Row[] = scenarios.map((s) => {
    const runs = results.get(s.id)!;
    const pick = (f: (m: Measure) => number) => median(runs.map(f));
    return {
      id: s.id, label: s.label, alg: s.alg, freshPermille: s.freshPermille, rps: pick((m) => m.rps), p99: pick((m) => m.p99), cpuUs: pick((m) => m.cpuUs),
      serverShare: pick((m) => m.serverShare), loadShare: pick((m) => m.loadShare), bad: runs.reduce((n, m) => n + m.bad, 0),
      repeated: runs.some((m) => m.repeated),
    };
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const base = byId.get('koa')!;
  const header = byId.get('koa-header')!;
  console.log(`\n| target | alg | req/s | × bare Koa | × Koa + header | p99 ms | server CPU | ${generator.kind} CPU | server µs/req |`);
  console.log('|---|---|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of rows.filter((row) => !row.id.startsWith('sweep-'))) {
    // A server below 90 % of its core was waiting for requests: the generator (or the machine) was the limit.
    const flag = (r.serverShare < 0.9 ? ' ⚠ load-bound' : '') + (r.repeated ? ' ⚠ fresh tokens repeated (raise BENCH_FRESH)' : '');
    console.log(`| ${r.label} | ${r.alg ?? '–'} | ${Math.round(r.rps).toLocaleString('en')} | ${(r.rps / base.rps).toFixed(2)} | ${(r.rps / header.rps).toFixed(2)} | ` +
      `${r.p99.toFixed(1)}${r.bad ? ` (${r.bad} failed)` : ''} | ${(r.serverShare * 100).toFixed(0)} %${flag} | ${(r.loadShare * 100).toFixed(0)} % | ${r.cpuUs.toFixed(0)} |`);
  }
  const floor = byId.get('floor');
  if (floor) console.log(`\nThe floor (one async middleware, the header read, one Map.get) ÷ Koa + header: ${(floor.rps / header.rps).toFixed(2)}.`);
  console.log('\n| goal (issues 15, 22, 23) | measured | goal | |\n|---|--:|--:|---|');
  for (const c of checkTargets(byId)) console.log(`| ${c.what} | ${c.value.toFixed(2)} | ${c.atMost ? '≤' : '≥'} ${c.goal} | ${c.met ? 'met' : '**missed**'} |`);

  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/http.json', `${JSON.stringify({ date: new Date().toISOString(), generator: generator.kind, connections: CONNECTIONS, fresh: FRESH, hot: HOT, rows }, null, 2)}\n`);
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
