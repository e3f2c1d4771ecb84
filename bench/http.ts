// HTTP throughput on loopback: each target in its own process pinned to core 0, autocannon in this
// process pinned to core 1; a warm-up, then rounds interleaved across targets; medians reported.
//   BENCH_QUICK=1     one short round (about a minute) instead of three
//   BENCH_ROUNDS, BENCH_DURATION (s), BENCH_WARMUP (s), BENCH_CONNECTIONS override the defaults
//   BENCH_PROFILE=dir servers run with --cpu-prof and write their profiles to dir
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import type { Target } from './server.js';
import { ALGS, benchKeys, hasTaskset, median, quick, signTokens, startIssuer, type BenchAlg } from './support.js';

const num = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback);
const ROUNDS = num('BENCH_ROUNDS', quick ? 1 : 3);
const DURATION = num('BENCH_DURATION', quick ? 2 : 5);
const WARMUP = num('BENCH_WARMUP', quick ? 1 : 2);
const CONNECTIONS = num('BENCH_CONNECTIONS', 50);
const DISTINCT = 1000;

interface Scenario {
  id: string;
  target: Target;
  label: string;
  alg: BenchAlg;
  /** One token for every request, or DISTINCT tokens rotated. */
  tokens: 'reuse' | 'rotate';
}

const scenarios: Scenario[] = [
  { id: 'koa', target: 'koa', label: 'bare Koa + @koa/router', alg: 'ES256', tokens: 'reuse' },
  ...ALGS.map((alg): Scenario => ({ id: `ours-reuse-${alg}`, target: 'ours', label: 'koa-token-guard, token reused', alg, tokens: 'reuse' })),
  { id: 'ours-clients-ES256', target: 'ours', label: `koa-token-guard, ${DISTINCT} clients' tokens rotated (cache on)`, alg: 'ES256', tokens: 'rotate' },
  ...ALGS.map((alg): Scenario => ({ id: `ours-fresh-${alg}`, target: 'ours-nocache', label: 'koa-token-guard, fresh token every request', alg, tokens: 'rotate' })),
  ...ALGS.map((alg): Scenario => ({ id: `jose-fresh-${alg}`, target: 'jose', label: 'raw jose (createRemoteJWKSet + jwtVerify), fresh', alg, tokens: 'rotate' })),
  // koa-jwt verifies with jsonwebtoken, which has no EdDSA.
  ...(['ES256', 'RS256'] as const).map((alg): Scenario => ({ id: `koajwt-fresh-${alg}`, target: 'koa-jwt', label: 'koa-jwt + jwks-rsa, fresh', alg, tokens: 'rotate' })),
];

interface Measure { rps: number; p99: number; bad: number; cpuUs: number }

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/** CPU time a process has used, all threads, in µs (Linux /proc; NaN elsewhere). */
function cpuTime(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US; // utime, stime
  } catch {
    return Number.NaN;
  }
}

async function startServer(target: Target, env: NodeJS.ProcessEnv, pin: boolean): Promise<{ child: ChildProcess; port: number }> {
  const profile = process.env.BENCH_PROFILE;
  const node = [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}/${target}`] : []), '--import', 'tsx', 'bench/server.ts', target];
  const child = pin ? spawn('taskset', ['-c', '0', process.execPath, ...node], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, node, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [line] = await once(lines, 'line') as [string];
  const port = Number(/^listening (\d+)$/.exec(line)?.[1]);
  if (!port) throw new Error(`${target} did not start: ${line}`);
  return { child, port };
}

async function load(server: { port: number; child: ChildProcess }, tokens: readonly string[], duration: number): Promise<Measure> {
  const { port } = server;
  const cpuBefore = cpuTime(server.child.pid!);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration,
    requests: tokens.map((t) => ({ method: 'GET', path: '/messages', headers: { authorization: `Bearer ${t}` } })),
  });
  const cpuUs = (cpuTime(server.child.pid!) - cpuBefore) / Math.max(result.requests.total, 1);
  return { rps: result.requests.average, p99: result.latency.p99, bad: result.non2xx + result.errors + result.timeouts, cpuUs };
}

export async function main(): Promise<void> {
  const pin = hasTaskset() && cpus().length > 1;
  if (pin) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const keys = await benchKeys();
  const issuer = await startIssuer(keys);
  const tokens = new Map<BenchAlg, string[]>();
  for (const key of keys) tokens.set(key.alg, await signTokens(key, issuer.issuer, DISTINCT));
  const env = { ...process.env, BENCH_ISSUER: issuer.issuer, BENCH_JWKS_URI: issuer.jwksUri };

  const targets = [...new Set(scenarios.map((s) => s.target))];
  const servers = new Map<Target, { child: ChildProcess; port: number }>();
  for (const target of targets) servers.set(target, await startServer(target, env, pin));
  const tokensOf = (s: Scenario) => (s.tokens === 'reuse' ? [tokens.get(s.alg)![0]!] : tokens.get(s.alg)!);

  console.log(`HTTP bench: ${CONNECTIONS} connections, ${WARMUP} s warm-up, ${ROUNDS} round(s) of ${DURATION} s per target, interleaved; ` +
    `median req/s and p99 over rounds; Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}).`);
  console.log(pin ? 'Servers pinned to core 0 with taskset; the load generator (autocannon) pinned to core 1.'
    : 'taskset not found (util-linux) or a single core: processes NOT pinned; figures include borrowed cores.');

  const results = new Map<string, Measure[]>();
  try {
    for (const s of scenarios) {
      const warm = await load(servers.get(s.target)!, tokensOf(s), WARMUP);
      if (warm.bad > 0) throw new Error(`${s.id}: ${warm.bad} failed requests in the warm-up`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round, so a burst of noise from the shared machine does not always hit the same target.
      const order = scenarios.map((_, i) => scenarios[(i + round * 5) % scenarios.length]!);
      for (const s of order) {
        const measure = await load(servers.get(s.target)!, tokensOf(s), DURATION);
        results.set(s.id, [...(results.get(s.id) ?? []), measure]);
        process.stderr.write(`  round ${round + 1}/${ROUNDS} ${s.id}: ${Math.round(measure.rps)} req/s\n`);
      }
    }
  } finally {
    for (const { child } of servers.values()) child.kill('SIGTERM');
    await issuer.close();
  }

  const summary = new Map(scenarios.map((s) => {
    const runs = results.get(s.id)!;
    return [s.id, { rps: median(runs.map((r) => r.rps)), p99: median(runs.map((r) => r.p99)), cpuUs: median(runs.map((r) => r.cpuUs)), bad: runs.reduce((n, r) => n + r.bad, 0) }];
  }));
  const base = summary.get('koa')!;
  console.log('\n| target | alg | req/s | × bare Koa | p99 ms | server CPU µs/req | bare Koa CPU ÷ this |');
  console.log('|---|---|--:|--:|--:|--:|--:|');
  for (const s of scenarios) {
    const m = summary.get(s.id)!;
    console.log(`| ${s.label} | ${s.id === 'koa' ? '–' : s.alg} | ${Math.round(m.rps).toLocaleString('en')} | ${(m.rps / base.rps).toFixed(2)} | ${m.p99}${m.bad ? ` (${m.bad} failed)` : ''} | ${m.cpuUs.toFixed(1)} | ${(base.cpuUs / m.cpuUs).toFixed(2)} |`);
  }

  const checks: string[] = [];
  // Each goal is checked on req/s and, where it applies, on the server's CPU time per request (the inverse
  // ratio), which other work on a shared machine disturbs far less.
  const check = (what: string, value: number, goal: number, byCpu?: number, atMost = false): void => {
    const met = (v: number) => (atMost ? v <= goal : v >= goal) ? 'met' : 'missed';
    const cpu = byCpu === undefined ? '–' : `${byCpu.toFixed(2)} (${met(byCpu)})`;
    checks.push(`| ${what} | ${value.toFixed(2)} (${met(value)}) | ${cpu} | ${atMost ? '≤' : '≥'} ${goal} |`);
  };
  for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
    const reuse = summary.get(`ours-reuse-${alg}`)!;
    check(`${alg} token reused ÷ bare Koa`, reuse.rps / base.rps, 0.9, base.cpuUs / reuse.cpuUs);
    check(`${alg} token reused: p99 ÷ bare Koa p99`, reuse.p99 / Math.max(base.p99, 1), 1.2, undefined, true);
    const fresh = summary.get(`ours-fresh-${alg}`)!;
    const jose = summary.get(`jose-fresh-${alg}`)!;
    check(`${alg} fresh ÷ raw jose`, fresh.rps / jose.rps, 0.95, jose.cpuUs / fresh.cpuUs);
    const peer = summary.get(`koajwt-fresh-${alg}`);
    if (peer) check(`${alg} fresh ÷ koa-jwt + jwks-rsa`, fresh.rps / peer.rps, 2.5, peer.cpuUs / fresh.cpuUs);
  }
  console.log('\n| goal (issue 7) | by req/s | by server CPU per request | goal |\n|---|--:|--:|--:|');
  for (const line of checks) console.log(line);
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
