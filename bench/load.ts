// The load generator of the HTTP benches: Debian's `wrk` when it is installed (C, light enough that a
// bare Koa server, not the generator, is the bottleneck), autocannon otherwise. Both replay the same
// token sequence (bench/wrk.lua says how) and report the same figures, with the CPU share of the server
// and of the generator over the run, so a load-bound baseline shows.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

export interface LoadSpec {
  port: number;
  /** Pid of the server, whose CPU time is read from /proc. */
  serverPid: number;
  /** The hot tokens first, then the fresh ones ("token<TAB>proof" for DPoP); empty: no Authorization header. */
  tokens: readonly string[];
  /** How many of `tokens` are hot (reused round-robin); the rest rotate as fresh tokens. */
  hot: number;
  /** Fresh-token requests per 1000 when there are both kinds. */
  freshPermille: number;
  duration: number;
  connections: number;
  /**
   * Paced load (wrk only): about this many requests per second in all, each connection waiting
   * `connections / pace` seconds after each answer, so the server is not saturated and its latency is its
   * own (service time, pauses), not the queue a saturated server keeps. Default: as fast as answered.
   */
  pace?: number;
}

export interface Measure {
  rps: number;
  p50: number;
  /** Milliseconds. */
  p99: number;
  /** Non-2xx answers, socket errors and timeouts. */
  bad: number;
  /** Server CPU time over the measured run (1.0: its core was busy all along). */
  serverShare: number;
  /** Load generator CPU time (its start-up, reading the token list, included) over the measured run. */
  loadShare: number;
  /** Server CPU µs per request. */
  cpuUs: number;
  /** Whether this server had been sent every fresh token of the list before the run ended, so some came round again. */
  repeated: boolean;
}

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/** CPU time in µs from /proc/<pid>/stat: the process's own (all threads), or with `children` that of its reaped children. */
export function cpuTime(pid: number | 'self', children = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [user, system] = children ? [fields[13], fields[14]] : [fields[11], fields[12]]; // cutime, cstime : utime, stime
    return (Number(user) + Number(system)) * TICK_US;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time in µs of a process's threads, from /proc/<pid>/task: `main` (the event loop's thread) and
 * `other` (V8's GC and compiler helpers, libuv's pool). A thread that ended is missing, so read it only
 * while the process runs.
 */
export function threadCpuTime(pid: number): { main: number; other: number } {
  let main = 0;
  let other = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const us = (Number(fields[11]) + Number(fields[12])) * TICK_US;
        if (tid === String(pid)) main += us;
        else other += us;
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    return { main: Number.NaN, other: Number.NaN };
  }
  return { main, other };
}

export function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['-v'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // `wrk -v` prints its version and exits 1.
    return (error as { status?: number }).status === 1;
  }
}

const WRK_SCRIPT = new URL('./wrk.lua', import.meta.url).pathname;

/** The headers of one line of the token list, as bench/wrk.lua sends them: Bearer, or DPoP with a proof after a tab. */
function headersOf(line: string): Record<string, string> {
  const [token, proof] = line.split('\t');
  return proof === undefined ? { authorization: `Bearer ${token}` } : { authorization: `DPoP ${token}`, dpop: proof };
}

export class LoadGenerator {
  readonly kind: 'wrk' | 'autocannon';
  readonly #pin: boolean;
  readonly #dir = mkdtempSync(join(tmpdir(), 'ktg-bench-'));
  readonly #files = new Map<readonly string[], string>();
  /** Per server and token list: where the fresh tokens stopped, so the next run goes on from there (see wrk.lua). */
  readonly #cursors = new Map<string, number>();
  /** Per server and token list: fresh tokens sent so far, all runs together. */
  readonly #sent = new Map<string, number>();

  /** `pin`: run wrk on core 1 (this process, and so autocannon, is pinned there by the caller). */
  constructor(pin: boolean, kind: 'wrk' | 'autocannon' = hasWrk() ? 'wrk' : 'autocannon') {
    this.kind = kind;
    this.#pin = pin;
  }

  async run(spec: LoadSpec): Promise<Measure> {
    const serverBefore = cpuTime(spec.serverPid);
    const started = process.hrtime.bigint();
    const { requests, bad, p50, p99, loadCpuUs, freshSent } = this.kind === 'wrk' ? await this.#wrk(spec) : await this.#autocannon(spec);
    // Over the measured run only: wrk reads and formats its token list before its clock starts (a second
    // or more for 100,000 tokens), while the server waits; that wait is not the run's.
    const runUs = Math.min(Number(process.hrtime.bigint() - started) / 1000, spec.duration * 1e6);
    const serverUs = cpuTime(spec.serverPid) - serverBefore;
    const list = `${spec.port} ${spec.tokens.length ? this.#file(spec.tokens) : ''}`;
    const sent = (this.#sent.get(list) ?? 0) + freshSent;
    this.#sent.set(list, sent);
    return {
      rps: requests / spec.duration, p50, p99, bad,
      serverShare: serverUs / runUs, loadShare: loadCpuUs / runUs, cpuUs: serverUs / Math.max(requests, 1),
      repeated: sent > spec.tokens.length - spec.hot,
    };
  }

  close(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #file(tokens: readonly string[]): string {
    let file = this.#files.get(tokens);
    if (file === undefined) {
      file = join(this.#dir, `tokens-${this.#files.size}.txt`);
      writeFileSync(file, tokens.join('\n'));
      this.#files.set(tokens, file);
    }
    return file;
  }

  async #wrk(spec: LoadSpec): Promise<{ requests: number; bad: number; p50: number; p99: number; loadCpuUs: number; freshSent: number }> {
    const args = ['-t1', `-c${spec.connections}`, `-d${spec.duration}s`, '--timeout', '10s', '-s', WRK_SCRIPT, `http://127.0.0.1:${spec.port}/messages`];
    const fresh = spec.tokens.length - spec.hot;
    const file = spec.tokens.length ? this.#file(spec.tokens) : '';
    const cursor = `${spec.port} ${file}`;
    const start = this.#cursors.get(cursor) ?? 0;
    const env = {
      ...process.env, BENCH_TOKENS: file, BENCH_HOT: String(spec.hot),
      BENCH_FRESH_PERMILLE: String(spec.freshPermille), BENCH_START: String(fresh > 0 ? start % fresh : 0),
      BENCH_DELAY_MS: spec.pace === undefined ? '0' : String(Math.round((spec.connections / spec.pace) * 1000)),
    };
    // wrk's CPU time lands in this process's children's time once it is reaped.
    const childrenBefore = cpuTime('self', true);
    const child = this.#pin ? spawn('taskset', ['-c', '1', 'wrk', ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn('wrk', args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    const line = output.split('\n').find((l) => l.startsWith('{'));
    if (code !== 0 || line === undefined) throw new Error(`wrk failed (${String(code)}): ${output}`);
    const r = JSON.parse(line) as Record<string, number>;
    // wrk.lua reports how far it went through the fresh tokens (requests still in flight at the end included).
    this.#cursors.set(cursor, r.fresh_stopped!);
    return {
      requests: r.requests!, bad: r.status! + r.connect! + r.read! + r.write! + r.timeout!,
      p50: r.p50_us! / 1000, p99: r.p99_us! / 1000, loadCpuUs: cpuTime('self', true) - childrenBefore, freshSent: r.fresh_sent!,
    };
  }

  async #autocannon(spec: LoadSpec): Promise<{ requests: number; bad: number; p50: number; p99: number; loadCpuUs: number; freshSent: number }> {
    // The sequence wrk.lua would send, long enough to hold every fresh token once.
    const hot = spec.tokens.slice(0, spec.hot);
    const fresh = spec.tokens.slice(spec.hot);
    const sequence: (string | undefined)[] = [];
    let credit = 0;
    let f = 0;
    let h = 0;
    do {
      credit += spec.freshPermille;
      if (fresh.length > 0 && (hot.length === 0 || credit >= 1000)) {
        if (credit >= 1000) credit -= 1000;
        sequence.push(fresh[f++ % fresh.length]);
      } else {
        sequence.push(hot[h++ % Math.max(hot.length, 1)]);
      }
    } while (sequence.length < 1000 || f < fresh.length);
    const before = process.cpuUsage();
    const result = await autocannon({
      url: `http://127.0.0.1:${spec.port}`,
      connections: spec.connections,
      duration: spec.duration,
      requests: sequence.map((t) => ({ method: 'GET', path: '/messages', ...(t === undefined ? {} : { headers: headersOf(t) }) })),
    });
    const used = process.cpuUsage(before);
    return {
      requests: result.requests.total, bad: result.non2xx + result.errors + result.timeouts,
      p50: result.latency.p50, p99: result.latency.p99, loadCpuUs: used.user + used.system,
      // autocannon replays the sequence in order; its fresh share is the requested one.
      freshSent: fresh.length === 0 ? 0 : Math.round(result.requests.total * (hot.length === 0 ? 1 : spec.freshPermille / 1000)),
    };
  }
}
