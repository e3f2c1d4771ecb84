// The hit path across commits, measured now, in one run: each commit's lib/ served by this checkout's
// bench/server.ts (target `ours`: authenticate() + requireScopes(), token reused), beside this checkout's
// bare Koa with the same header, rounds interleaved; the ratio per commit goes to bench/results/history.json
// and bench/plot.ts draws it (bench/results/history.svg), so a regression of the hit path shows.
//   BENCH_HISTORY="rev rev …"  the commits (default: HISTORY below, then HEAD)
//   BENCH_ROUNDS, BENCH_DURATION (s) as in bench/http.ts (default 3 rounds of 5 s)
// Each commit is checked out into a temporary git worktree sharing this node_modules.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { LoadGenerator, type Measure } from './load.js';
import { benchKeys, hasTaskset, median, quick, signTokens, startIssuer } from './support.js';

/** Milestones of the hit path: the first performance work (issue 15), the doorkeeper, issue 19 landed, issue 23's start. */
const HISTORY = ['3d11dbf', '7e53b6c', '614ae1f', '0b58130'];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 2 : 3));
const DURATION = Number(process.env.BENCH_DURATION ?? (quick ? 3 : 5));

export interface HistoryPoint {
  commit: string;
  date: string;
  subject: string;
  rps: number;
  headerRps: number;
  /** Token reused ÷ bare Koa + the same header, medians of the same run. */
  ratio: number;
}

const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8' }).trim();

async function startServer(dir: string, env: NodeJS.ProcessEnv, pin: boolean): Promise<ChildProcess & { port: number }> {
  const node = [process.execPath, '--import', 'tsx', 'bench/server.ts', dir === '.' ? 'koa' : 'ours'];
  const child = spawn(pin ? 'taskset' : node[0]!, pin ? ['-c', '0', ...node] : node.slice(1), { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(createInterface({ input: child.stdout }), 'line') as [string];
  const port = Number(/^listening (\d+)$/.exec(line)?.[1]);
  if (!port) throw new Error(`${dir}: ${line}`);
  return Object.assign(child, { port });
}

export async function main(): Promise<void> {
  const revs = process.env.BENCH_HISTORY?.split(/\s+/).filter(Boolean) ?? [...HISTORY, 'HEAD'];
  const pin = hasTaskset() && cpus().length > 1;
  const keys = await benchKeys();
  const issuer = await startIssuer(keys);
  const [token] = await signTokens(keys.find((k) => k.alg === 'ES256')!, issuer.issuer, 1);
  const env = { ...process.env, BENCH_ISSUER: issuer.issuer, BENCH_JWKS_URI: issuer.jwksUri };
  const root = mkdtempSync(join(tmpdir(), 'ktg-history-'));
  const points: HistoryPoint[] = [];
  const servers: (ChildProcess & { port: number })[] = [];
  const generator = new LoadGenerator(pin);
  if (pin) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  try {
    const header = await startServer('.', env, pin);
    servers.push(header);
    const commits = revs.map((rev) => {
      const commit = git('rev-parse', '--short', rev);
      const dir = join(root, commit);
      git('worktree', 'add', '--detach', dir, commit);
      symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
      // This checkout's server (its targets and options) in front of that commit's lib/.
      mkdirSync(join(dir, 'bench'), { recursive: true });
      for (const file of ['server.ts', 'support.ts', 'otel.ts', 'lib.ts']) copyFileSync(join('bench', file), join(dir, 'bench', file));
      // The server loads that commit's build (bench/lib.ts), as an application would, unless BENCH_LIB=src.
      // Emitted without the type check: this checkout's TypeScript may judge an old commit's types otherwise.
      if (process.env.BENCH_LIB !== 'src') execFileSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--noCheck'], { cwd: dir, stdio: 'inherit' });
      return { commit, dir, date: git('log', '-1', '--format=%cI', commit), subject: git('log', '-1', '--format=%s', commit).slice(0, 80) };
    });
    const targets = [];
    for (const c of commits) targets.push({ ...c, server: await startServer(c.dir, env, pin) });
    servers.push(...targets.map((t) => t.server));
    const load = (server: ChildProcess & { port: number }, duration: number): Promise<Measure> =>
      generator.run({ port: server.port, serverPid: server.pid!, tokens: [token!], hot: 1, freshPermille: 1000, duration, connections: 50 });
    for (const server of servers) await load(server, 2);
    const runs = new Map<ChildProcess, number[]>(servers.map((s) => [s, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
        const measure = await load(server, DURATION);
        if (measure.bad > 0) throw new Error(`history: ${measure.bad} failed requests`);
        runs.get(server)!.push(measure.rps);
      }
      process.stderr.write(`  history round ${round + 1}/${ROUNDS}\n`);
    }
    const headerRps = median(runs.get(header)!);
    for (const t of targets) {
      const rps = median(runs.get(t.server)!);
      points.push({ commit: t.commit, date: t.date, subject: t.subject, rps, headerRps, ratio: rps / headerRps });
    }
  } finally {
    for (const server of servers) server.kill('SIGTERM');
    await issuer.close();
    generator.close();
    rmSync(root, { recursive: true, force: true });
    git('worktree', 'prune');
  }
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`Hit path across commits: token reused ÷ bare Koa + the same header, ${ROUNDS} interleaved rounds of ${DURATION} s; Node ${process.version}; load average after: ${load}.\n`);
  console.log('| commit | date | req/s | × Koa + header |\n|---|---|--:|--:|');
  for (const p of points) console.log(`| ${p.commit} ${p.subject} | ${p.date.slice(0, 10)} | ${Math.round(p.rps).toLocaleString('en')} | ${p.ratio.toFixed(2)} |`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/history.json', `${JSON.stringify({ date: new Date().toISOString(), node: process.version, load, points }, null, 2)}\n`);
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
