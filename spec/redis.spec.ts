import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import { createClient } from 'redis';
import { authenticate, type TokenGuardEvent } from '../lib/index.js';
import { redisStore } from '../lib/redis.js';
import { loopbackProvider, type LoopbackProvider } from './support/loopback-provider.js';
import { useRedisServer } from './support/redis.js';

function get(port: number, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    }).on('error', reject);
  });
}

async function listen(app: Koa): Promise<{ port: number; close(): Promise<void> }> {
  const handler = app.callback();
  const server = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

 
async function connect(url: string) {
  const client = createClient({ url, socket: { reconnectStrategy: 50 } });
  client.on('error', () => undefined); // node-redis requires a listener; failures are the point here
  await client.connect();
  return client;
}

describe('redis store (real redis-server)', function () {
  this.timeout(30_000);
  const redis = useRedisServer();
  let provider: LoopbackProvider;
  const clients: Array<{ destroy(): void }> = [];

  beforeEach(async () => {
    provider = await loopbackProvider();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await provider.close();
  });

  it('stores with a TTL and grants a lock to one caller only', async () => {
    const client = await connect(redis.url);
    clients.push(client);
    const store = redisStore(client, { prefix: `spec-${process.pid}:` });
    await store.set('k', 'value', 0.2);
    expect(await store.get('k')).to.equal('value');
    expect([await store.lock!('l', 5), await store.lock!('l', 5)]).to.deep.equal([true, false]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await store.get('k')).to.equal(undefined);
  });

  it('lets 3 app instances in separate processes share one discovery and one JWKS fetch', async () => {
    const instance = fileURLToPath(new URL('./support/app-instance.ts', import.meta.url));
    const children: ChildProcess[] = [];
    try {
      const ports = await Promise.all(Array.from({ length: 3 }, async () => {
        const child = spawn(process.execPath, ['--import', 'tsx', instance], {
          env: { ...process.env, REDIS_URL: redis.url, ISSUER: provider.issuer, AUDIENCE: provider.audience },
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        children.push(child);
        const [line] = await Promise.race([
          (async () => {
            for await (const l of createInterface({ input: child.stdout })) return [l];
            return [''];
          })(),
          new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`instance exited with ${code}`)))),
        ]);
        return (JSON.parse(line!) as { port: number }).port;
      }));
      const token = await provider.sign();
      // Every instance cold at the same moment, several requests each.
      const statuses = await Promise.all(ports.flatMap((port) => [get(port, token), get(port, token), get(port, token)]));
      expect(statuses).to.deep.equal(Array(9).fill(200));
      expect(provider.counts).to.deep.equal({ discovery: 1, jwks: 1 });
    } finally {
      await Promise.all(children.map((child) => new Promise((resolve) => {
        child.once('exit', resolve);
        child.stdin!.end();
      })));
    }
  });

  it('fails no request when Redis is stopped mid-run or restarted', async () => {
    const client = await connect(redis.url);
    clients.push(client);
    const events: TokenGuardEvent[] = [];
    const app = new Koa();
    // cache: false: every request must reach the key set, not the verified-token cache.
    app.use(authenticate({ issuer: provider.issuer, audience: provider.audience, store: redisStore(client), maxAge: 0.2, cooldown: 0.1, cache: false, onEvent: (e) => events.push(e) }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const server = await listen(app);
    const token = await provider.sign();
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 30; i++) {
        if (i === 10) await redis.stop();
        if (i === 20) await redis.start();
        statuses.push(await get(server.port, token));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await server.close();
    }
    expect(statuses).to.deep.equal(Array(30).fill(200));
    // With Redis down the process refreshed from the provider itself.
    expect(events.some((e) => e.type === 'key_store_failed')).to.equal(true);
    expect(provider.counts.jwks).to.be.greaterThan(1);
  });

  it('falls back to its own fetch when Redis is too slow to answer', async () => {
    const client = await connect(redis.url);
    const blocker = await connect(redis.url);
    clients.push(client, blocker);
    const events: TokenGuardEvent[] = [];
    const app = new Koa();
    app.use(authenticate({ issuer: provider.issuer, audience: provider.audience, store: redisStore(client, { timeout: 0.2 }), onEvent: (e) => events.push(e) }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const server = await listen(app);
    try {
      let asleep = true;
      const sleeping = blocker.sendCommand(['DEBUG', 'SLEEP', '3']).finally(() => (asleep = false));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await get(server.port, await provider.sign())).to.equal(200);
      expect(asleep).to.equal(true); // answered while Redis was still blocked
      expect(events.filter((e) => e.type === 'key_store_failed').map((e) => e.type === 'key_store_failed' && e.operation)).to.include('get');
      expect(provider.counts).to.deep.equal({ discovery: 1, jwks: 1 });
      await sleeping;
    } finally {
      await server.close();
    }
  });
});
