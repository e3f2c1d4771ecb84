// `npm run soak`: real processes on loopback, faults injected while they serve, about two minutes, then
// it stops by itself and prints one table. Two app processes of the example (examples/app.ts) share one
// redis-server; a development issuer runs in its own process (keys persisted to a temp file, so a
// restart publishes the same keys); wrk sends valid tokens and a mix of expired, forged and unknown-kid
// ones to both apps. In order: steady state; the issuer rotates its keys; the issuer is killed for 20 s
// and restarted on the same port; Redis is killed for 15 s and restarted; (with introspection) the
// introspection endpoint answers in 2 s for 20 s; recovery. Everything on 127.0.0.1.
//   SOAK_QUICK=1  every phase a third as long (a dry run)
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { createClient } from 'redis';
import { freePort, startRedis } from '../spec/support/redis.js';
import type { IssuerCommand, TokenKind } from './soak/issuer.js';

const AUDIENCE = 'https://api.example.com';
const SCALE = process.env.SOAK_QUICK === '1' ? 1 / 3 : 1;
const seconds = (s: number) => Math.max(2, Math.round(s * SCALE));
const dir = mkdtempSync(join(tmpdir(), 'ktg-soak-'));
const log = (line: string) => process.stderr.write(`  ${new Date().toISOString().slice(11, 19)} ${line}\n`);

/** The issuer process: forked with IPC; commands answered by id; its request counts survive restarts here. */
class Issuer {
  #child: ChildProcess | undefined;
  #next = 1;
  #pending = new Map<number, (result: unknown) => void>();
  #earlier: Record<string, number> = {};
  url = '';
  introspection: { clientId: string; clientSecret: string } | undefined;
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    const child = fork('scripts/soak/issuer.ts', [], {
      execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, SOAK_KEYS: join(dir, 'issuer-keys.json'), SOAK_AUDIENCE: AUDIENCE, SOAK_ISSUER_PORT: String(this.port) },
    });
    this.#child = child;
    started.add(child);
    child.on('message', ({ id, result }: { id: number; result: unknown }) => {
      this.#pending.get(id)?.(result);
      this.#pending.delete(id);
    });
    const ready = await new Promise<{ issuer: string; introspection?: { clientId: string; clientSecret: string } }>((resolve) => this.#pending.set(0, resolve as (r: unknown) => void));
    this.url = ready.issuer;
    this.introspection = ready.introspection;
  }

  command<T>(command: IssuerCommand extends infer C ? C extends IssuerCommand ? Omit<C, 'id'> : never : never): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve) => {
      this.#pending.set(id, resolve as (r: unknown) => void);
      this.#child!.send({ ...command, id });
    });
  }

  /** Discovery, JWKS and introspection requests served so far, over every life of the process. */
  async requests(): Promise<number> {
    if (this.#child === undefined) return this.#total(this.#earlier);
    return this.#total(this.#earlier) + this.#total(await this.command<Record<string, number>>({ type: 'stats' }));
  }

  async kill(): Promise<void> {
    const counts = await this.command<Record<string, number>>({ type: 'stats' });
    for (const [key, n] of Object.entries(counts)) this.#earlier[key] = (this.#earlier[key] ?? 0) + n;
    const child = this.#child!;
    this.#child = undefined;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  #total(counts: Record<string, number | undefined>): number {
    return (counts.discovery ?? 0) + (counts.jwks ?? 0) + (counts.introspection ?? 0);
  }
}

/** Redis commands served so far (INFO commandstats), summed over restarts. */
class RedisCounter {
  #earlier = 0;
  constructor(readonly port: number) {}
  async now(): Promise<number> {
    const client = createClient({ url: `redis://127.0.0.1:${this.port}`, socket: { reconnectStrategy: false } });
    client.on('error', () => {});
    try {
      await client.connect();
      const info = await client.sendCommand(['INFO', 'commandstats']) as unknown;
      await client.quit();
      // The INFO and the connection's HELLO/CLIENT commands are this counter's own.
      const calls = [...(typeof info === 'string' ? info : '').matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].filter(([, cmd]) => !['info', 'hello', 'client'].includes(cmd!));
      return this.#earlier + calls.reduce((n, [, , c]) => n + Number(c), 0);
    } catch {
      return this.#earlier;
    }
  }
  async beforeStop(): Promise<void> {
    this.#earlier = await this.now();
  }
}

async function startApp(issuer: string, redisPort: number, introspection: Issuer['introspection']): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/soak/app.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SOAK_ISSUER: issuer, SOAK_AUDIENCE: AUDIENCE, SOAK_REDIS_URL: `redis://127.0.0.1:${redisPort}`, SOAK_INTROSPECTION: introspection ? JSON.stringify(introspection) : '' },
  });
  started.add(child);
  const [line] = await once(createInterface({ input: child.stdout }), 'line') as [string];
  return { child, port: Number(/^listening (\d+)$/.exec(line)![1]) };
}

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

interface WrkResult { requests: number; socket_errors: number; timeouts: number; p99_us: number; statuses: Record<string, number> }

let files = 0;
function wrk(port: number, tokens: readonly string[], duration: number, connections: number, delayMs: number): Promise<WrkResult> {
  const file = join(dir, `tokens-${files++}.txt`);
  writeFileSync(file, tokens.join('\n'));
  const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${duration}s`, '--timeout', '10s', '-s', 'scripts/soak/wrk.lua', `http://127.0.0.1:${port}/messages`],
    { env: { ...process.env, SOAK_TOKENS: file, SOAK_DELAY_MS: String(delayMs) }, stdio: ['ignore', 'pipe', 'inherit'] });
  started.add(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => child.once('close', (code) => {
    const line = output.split('\n').find((l) => l.startsWith('{'));
    if (code !== 0 || line === undefined) reject(new Error(`wrk failed (${String(code)}): ${output}`));
    else resolve(JSON.parse(line) as WrkResult);
  }));
}

interface Phase {
  name: string;
  seconds: number;
  /** The fault, injected as the phase starts. */
  start?: () => Promise<void>;
  /** The repair, as it ends. */
  end?: () => Promise<void>;
  /** Valid tokens signed with keys the apps already know. */
  valid: () => readonly string[];
  /** Valid tokens the apps meet for the first time: a new kid, an opaque token; sent on their own connection, counted apart. */
  novel?: () => readonly string[];
}

interface Tally { requests: number; failed: Record<string, number>; p99: number }
interface PhaseResult { name: string; known: Tally; novel: Tally | undefined; invalid: number; accepted: number; provider: number; redis: number }

/** Requests, failures by status (socket errors and timeouts as "socket") and the worst p99 of some wrk runs. */
function tally(runs: readonly WrkResult[]): Tally {
  const failed: Record<string, number> = {};
  for (const run of runs) {
    for (const [status, n] of Object.entries(run.statuses)) if (!status.startsWith('2')) failed[status] = (failed[status] ?? 0) + n;
    if (run.socket_errors + run.timeouts > 0) failed.socket = (failed.socket ?? 0) + run.socket_errors + run.timeouts;
  }
  return { requests: runs.reduce((n, r) => n + r.requests, 0), failed, p99: Math.max(...runs.map((r) => r.p99_us / 1000)) };
}

/** Every process this script started, killed however it ends (an error included): it must leave nothing behind. */
const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
});
process.on('unhandledRejection', (error) => {
  console.error(error);
  process.exit(1);
});

export async function main(): Promise<void> {
  const redis = await startRedis();
  process.on('exit', () => void redis.stop());
  const issuer = new Issuer(await freePort());
  await issuer.start();
  const mint = (kind: TokenKind, count: number, kid?: string) => issuer.command<string[]>({ type: 'mint', kind, count, ...(kid ? { kid } : {}) });
  const apps = [await startApp(issuer.url, redis.port, issuer.introspection), await startApp(issuer.url, redis.port, issuer.introspection)];
  const redisCounter = new RedisCounter(redis.port);
  log(`issuer ${issuer.url}, redis :${redis.port}, apps :${apps.map((a) => a.port).join(', :')}${issuer.introspection ? ', introspection on' : ''}`);

  let valid = await mint('valid', 500);
  const invalid = [...await mint('expired', 100), ...await mint('forged', 100), ...await mint('unknown-kid', 100)];
  let rotated: string[] = [];
  let opaque: string[] = [];
  let known: string[] = [];
  const phases: Phase[] = [
    { name: 'steady state', seconds: 10, valid: () => valid },
    {
      name: 'the issuer rotates its keys and signs with the new one at once', seconds: 15, valid: () => valid, novel: () => rotated,
      start: async () => {
        await issuer.command({ type: 'rotate' });
        rotated = await mint('valid', 500);
      },
      end: () => {
        valid = [...valid, ...rotated];
        return Promise.resolve();
      },
    },
    { name: 'the issuer is killed for 20 s, then restarted (same port, same keys)', seconds: 20, valid: () => valid, start: () => issuer.kill(), end: () => issuer.start() },
    { name: 'Redis is killed for 15 s, then restarted', seconds: 15, valid: () => valid, start: () => redisCounter.beforeStop().then(() => redis.stop()), end: () => redis.start() },
    ...(issuer.introspection ? [{
      name: 'the introspection endpoint answers in 2 s, for 20 s (opaque tokens: 20 introspected before, new ones)', seconds: 20,
      valid: () => [...valid, ...known], novel: () => opaque,
      start: async () => {
        // Opaque tokens the apps have met (answers cached) count with the known keys; new ones wait for the slow endpoint.
        known = await issuer.command<string[]>({ type: 'mint-opaque', count: 20 });
        for (const app of apps) {
          for (const token of known) await fetch(`http://127.0.0.1:${app.port}/messages`, { headers: { authorization: `Bearer ${token}` } });
        }
        opaque = await issuer.command<string[]>({ type: 'mint-opaque', count: 200 });
        await issuer.command({ type: 'slow-introspection' });
      },
      end: () => issuer.command({ type: 'recover' }).then(() => undefined),
    } satisfies Phase] : []),
    { name: 'recovered', seconds: 10, valid: () => valid },
  ];

  // Warm-up: every app has its key set and cache warm before the start figures are taken.
  await Promise.all(apps.map((app) => wrk(app.port, valid, seconds(5), 4, 10)));
  const rssStart = apps.map((a) => rssMiB(a.child.pid!));
  const results: PhaseResult[] = [];
  try {
    for (const phase of phases) {
      const duration = seconds(phase.seconds);
      log(`${phase.name} (${duration} s)`);
      const providerBefore = await issuer.requests();
      const redisBefore = await redisCounter.now();
      await phase.start?.();
      const novel = phase.novel?.();
      const [known, fresh, invalidRuns] = await Promise.all([
        Promise.all(apps.map((app) => wrk(app.port, phase.valid(), duration, 4, 10))),
        novel ? Promise.all(apps.map((app) => wrk(app.port, novel, duration, 1, 10))) : Promise.resolve(undefined),
        Promise.all(apps.map((app) => wrk(app.port, invalid, duration, 1, 20))),
      ]);
      await phase.end?.();
      results.push({
        name: phase.name, known: tally(known), novel: fresh && tally(fresh),
        invalid: invalidRuns.reduce((n, r) => n + r.requests, 0),
        accepted: invalidRuns.reduce((n, r) => n + Object.entries(r.statuses).filter(([s]) => s.startsWith('2')).reduce((m, [, c]) => m + c, 0), 0),
        provider: (await issuer.requests()) - providerBefore,
        redis: (await redisCounter.now()) - redisBefore,
      });
    }
  } finally {
    const rssEnd = apps.map((a) => rssMiB(a.child.pid!));
    for (const app of apps) app.child.kill('SIGTERM');
    await Promise.all(apps.map((app) => once(app.child, 'exit')));
    await issuer.kill().catch(() => undefined);
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
    console.log(`\nSoak (${new Date().toISOString().slice(0, 16)}Z): 2 app processes (examples/app.ts, key sets shared through redis-server, maxAge 10 s, cooldown 5 s), ` +
      'a development issuer in its own process; per app, wrk sends valid tokens of known keys on 4 connections (a request every 10 ms on each), ' +
      'valid tokens the app meets for the first time (after the rotation, opaque ones) on 1, and expired, forged and unknown-kid tokens on 1 (every 20 ms). ' +
      '"Failed" counts answers by status; "accepted" counts invalid tokens answered 2xx.\n');
    console.log('| phase (in order) | valid, known keys: requests | failed | p99 ms | valid, new kid or opaque: requests | failed | p99 ms | invalid tokens: requests | accepted | provider requests | Redis commands |');
    console.log('|---|--:|---|--:|--:|---|--:|--:|--:|--:|--:|');
    const failed = (t: Tally) => Object.entries(t.failed).map(([s, n]) => `${n} × ${s}`).join(', ') || '0';
    for (const r of results) {
      const novel = r.novel ? `${r.novel.requests.toLocaleString('en')} | ${failed(r.novel)} | ${r.novel.p99.toFixed(1)}` : '– | – | –';
      console.log(`| ${r.name} | ${r.known.requests.toLocaleString('en')} | ${failed(r.known)} | ${r.known.p99.toFixed(1)} | ${novel} | ` +
        `${r.invalid.toLocaleString('en')} | ${r.accepted} | ${r.provider} | ${r.redis} |`);
    }
    console.log(`\n| app process | RSS at start (warm) MiB | RSS at end MiB |\n|---|--:|--:|`);
    apps.forEach((_, i) => console.log(`| app ${i + 1} | ${rssStart[i]!.toFixed(1)} | ${rssEnd[i]!.toFixed(1)} |`));
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
