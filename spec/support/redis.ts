// A real redis-server on a free loopback port, started and stopped by the spec that needs it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop()). */
  start(): Promise<void>;
}

/** A port free on 127.0.0.1 right now (the soak's issuer uses it too). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

const MISSING = 'redis-server is not installed: `apt-get install redis-server` (.ci/run installs it)';

/**
 * What a suite needing Redis does here: run it; skip it (a developer's machine without redis-server);
 * or fail, in CI (`CI` set, as CI services and `.ci/run` do), so a CI without Redis cannot pass by skipping.
 */
export function redisPlan(installed: boolean, env: NodeJS.ProcessEnv = process.env): 'run' | 'skip' | 'fail' {
  if (installed) return 'run';
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false' ? 'fail' : 'skip';
}

let skipExplained = false;

/**
 * A real redis-server for the enclosing `describe`, started before its first spec and stopped after its
 * last. Without redis-server the suite is skipped and the reason printed once per run (or, in CI, fails).
 * Read `url` and `port` only inside hooks and specs.
 */
export function useRedisServer(): RedisServer {
  let server: RedisServer | undefined;
  const running = (): RedisServer => {
    if (server === undefined) throw new Error('redis-server is not running (read it inside a spec or hook)');
    return server;
  };
  before(async function () {
    const plan = redisPlan(redisServerInstalled());
    if (plan === 'fail') throw new Error(`${MISSING}; CI is set, so the Redis specs fail rather than skip`);
    if (plan === 'skip') {
      if (!skipExplained) console.warn(`      ${MISSING}; skipping the specs that need it`);
      skipExplained = true;
      this.skip();
    }
    server = await startRedis();
  });
  after(async () => {
    await server?.stop();
  });
  return {
    get url() {
      return running().url;
    },
    get port() {
      return running().port;
    },
    stop: () => running().stop(),
    start: () => running().start(),
  };
}

/** Starts `redis-server` without persistence; `.ci/run` installs it when missing. */
export async function startRedis(): Promise<RedisServer> {
  if (!redisServerInstalled()) throw new Error(MISSING);
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 5000);
      started.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${output}`));
      });
    });
    started.stdout.resume();
  };
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}
