import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import Koa from 'koa';
import { authenticate, DpopKeyQuotaError, DpopReplayUnavailableError, type KeyStore, type TokenGuardEvent } from '../../lib/index.js';
import { KeyQuota } from '../../lib/dpop/quota.js';
import { createReplayCache, memoryReplayKey, MemoryReplayStore, replayKey } from '../../lib/dpop/replay.js';
import { redisStore } from '../../lib/redis.js';
import { createDpopKey, createTestIssuer } from '../../lib/testing/index.js';
import { useRedisServer } from '../support/redis.js';
import { rejection } from '../support/rejection.js';
import { dpop, serve } from './support.js';

// Memory answers at once (and throws at once); a shared store with a promise: one promise either way here.
const adding = async (cache: ReturnType<typeof createReplayCache>, jkt: string, jti: string): Promise<boolean> => cache.add(jkt, jti);

describe('dpop/replay: each proof jti is accepted once within its window', () => {
  it('hashes jti together with the key thumbprint: same jti under another key is another proof', () => {
    expect(replayKey('key-a', 'j')).to.not.equal(replayKey('key-b', 'j'));
    expect(replayKey('key-a', 'j')).to.match(/^dpop:jti:[A-Za-z0-9_-]{43}$/);
    expect(replayKey('a', 'b\0c')).to.not.equal(replayKey('a\0b', 'c'));
  });

  it("keys this process's memory by the pair itself while jti is short, hashed beyond 64 characters, never colliding", () => {
    const jkt = 'x'.repeat(43);
    expect(memoryReplayKey(jkt, 'j')).to.equal(`43:${jkt}j`);
    expect(memoryReplayKey('a', 'b\0c')).to.not.equal(memoryReplayKey('a\0b', 'c'));
    expect(memoryReplayKey('ab', 'c')).to.not.equal(memoryReplayKey('a', 'bc'));
    expect(memoryReplayKey(jkt, 'j'.repeat(64))).to.have.length(3 + 43 + 64);
    // Longer: replayKey's bounded form, which no short pair's key can equal (it starts with the length, a digit).
    expect(memoryReplayKey(jkt, 'j'.repeat(65))).to.equal(replayKey(jkt, 'j'.repeat(65)));
    expect(memoryReplayKey(jkt, 'j'.repeat(256))).to.match(/^dpop:jti:[A-Za-z0-9_-]{43}$/);
  });

  describe('in memory', () => {
    it('refuses a replay within the window and forgets it after', () => {
      let now = 1_000_000;
      const memory = new MemoryReplayStore(10, () => now);
      expect(memory.add('k', 60)).to.equal(true);
      expect(memory.add('k', 60)).to.equal(false);
      now += 60_000;
      expect(memory.add('k', 60)).to.equal(true);
    });

    it('forgets proofs as their window ends (within a second), not only once full: it holds the last window, not max proofs', () => {
      let now = 1_000_000;
      const memory = new MemoryReplayStore(100, () => now);
      for (let i = 0; i < 5; i++) expect(memory.add(`a${i}`, 60)).to.equal(true);
      now += 30_000;
      for (let i = 0; i < 3; i++) expect(memory.add(`b${i}`, 60)).to.equal(true);
      now += 31_000; // the a-proofs' window ended a second ago; nowhere near full
      expect(memory.add('c', 60)).to.equal(true);
      expect(memory.size).to.equal(4);
      expect(memory.add('b0', 60)).to.equal(false); // the b-proofs are still remembered
      now += 30_000;
      expect(memory.add('d', 60)).to.equal(true);
      expect(memory.size).to.equal(2);
      now += 120_000; // every proof's window over: the next one leaves only itself
      expect(memory.add('e', 60)).to.equal(true);
      expect(memory.size).to.equal(1);
    });

    it('is bounded: when full of unexpired entries it refuses new proofs with 503 and Retry-After instead of forgetting one', () => {
      let now = 1_000_000;
      const memory = new MemoryReplayStore(3, () => now);
      for (const k of ['a', 'b', 'c']) expect(memory.add(k, 60)).to.equal(true);
      now += 20_000;
      let error: unknown;
      try {
        memory.add('d', 60);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(DpopReplayUnavailableError);
      expect((error as DpopReplayUnavailableError).status).to.equal(503);
      expect((error as DpopReplayUnavailableError).headers).to.deep.equal({ 'Retry-After': '40' });
      expect(memory.add('a', 60)).to.equal(false); // still remembered
      now += 40_000; // the oldest expired: room again
      expect(memory.add('d', 60)).to.equal(true);
      expect(memory.size).to.equal(1);
    });
  });

  describe('each key gets a share, not the whole store', () => {
    const fill = async (cache: ReturnType<typeof createReplayCache>, jkt: string, n: number): Promise<void> => {
      for (let i = 0; i < n; i++) expect(await cache.add(jkt, `${jkt}-${i}`)).to.equal(true);
    };

    it('refuses a key over its quota with 429 and Retry-After, while another key still gets in', async () => {
      let now = 1_000_000;
      const cache = createReplayCache({ ttl: 160, memory: new MemoryReplayStore(8, () => now), quota: new KeyQuota(3, 160, 8, () => now), shared: undefined, onFailure: 'memory', onEvent: undefined });
      await fill(cache, 'flooder', 3);
      const error = await rejection(adding(cache, 'flooder', 'one-more'));
      expect(error).to.be.instanceOf(DpopKeyQuotaError);
      expect({ status: error.status, code: error.code, headers: error.headers }).to.deep.equal({ status: 429, code: 'dpop_key_quota_exceeded', headers: { 'Retry-After': '170' } });
      expect(await cache.add('other', 'j')).to.equal(true);
      now += 170_000;
      expect(await cache.add('flooder', 'one-more')).to.equal(true);
    });

    it('once memory is full, refuses the keys holding an even share or more with 429, any other with 503 (fail closed)', async () => {
      const now = 1_000_000;
      const cache = createReplayCache({ ttl: 60, memory: new MemoryReplayStore(8, () => now), quota: new KeyQuota(4, 60, 8, () => now), shared: undefined, onFailure: 'memory', onEvent: undefined });
      await fill(cache, 'a', 4);
      await fill(cache, 'b', 3);
      await fill(cache, 'c', 1);
      expect((await rejection(adding(cache, 'a', 'x'))).status).to.equal(429); // over its quota
      expect((await rejection(adding(cache, 'b', 'x'))).status).to.equal(429); // 3 of 8 held by 3 keys
      expect((await rejection(adding(cache, 'c', 'x'))).status).to.equal(503);
      expect((await rejection(adding(cache, 'd', 'x'))).status).to.equal(503);
    });

    it('holds the quota with a shared store too, before the store is asked (per process)', async () => {
      let locks = 0;
      const store: KeyStore = { get: () => Promise.resolve(undefined), set: () => Promise.resolve(), lock: () => Promise.resolve(++locks > 0) };
      const cache = createReplayCache({ ttl: 60, memory: new MemoryReplayStore(8), quota: new KeyQuota(2, 60, 8), shared: store, onFailure: 'memory', onEvent: undefined });
      await fill(cache, 'flooder', 2);
      expect(await rejection(adding(cache, 'flooder', 'x'))).to.be.instanceOf(DpopKeyQuotaError);
      expect(locks).to.equal(2);
      expect(await cache.add('other', 'x')).to.equal(true);
    });
  });

  describe('with a shared store', () => {
    it('uses one atomic lock (set-if-absent) per proof', async () => {
      const calls: Array<[string, number]> = [];
      const taken = new Set<string>();
      const store: KeyStore = {
        get: () => Promise.resolve(undefined),
        set: () => Promise.resolve(),
        lock(key, ttl) {
          calls.push([key, ttl]);
          if (taken.has(key)) return Promise.resolve(false);
          taken.add(key);
          return Promise.resolve(true);
        },
      };
      const memory = new MemoryReplayStore(10);
      const cache = createReplayCache({ ttl: 310, memory, quota: new KeyQuota(10, 310, 10), shared: store, onFailure: 'memory', onEvent: undefined });
      expect(await cache.add('jkt', 'j1')).to.equal(true);
      expect(await cache.add('jkt', 'j1')).to.equal(false);
      expect(calls).to.deep.equal([[replayKey('jkt', 'j1'), 310], [replayKey('jkt', 'j1'), 310]]);
      expect(memory.size).to.equal(0);
    });

    it('falls back to memory when the store fails, reports it, and still refuses this process\'s replays', async () => {
      const events: TokenGuardEvent[] = [];
      const failing: KeyStore = { get: () => Promise.resolve(undefined), set: () => Promise.resolve(), lock: () => Promise.reject(new Error('down')) };
      const cache = createReplayCache({ ttl: 60, memory: new MemoryReplayStore(10), quota: new KeyQuota(10, 60, 10), shared: failing, onFailure: 'memory', onEvent: (e) => events.push(e) });
      expect(await cache.add('jkt', 'j')).to.equal(true);
      expect(await cache.add('jkt', 'j')).to.equal(false);
      expect(events).to.deep.equal([{ type: 'dpop_replay_store_failed' }, { type: 'dpop_replay_store_failed' }]);
    });

    it("answers 503 instead with replayStoreFailure: 'unavailable'", async () => {
      const failing: KeyStore = { get: () => Promise.resolve(undefined), set: () => Promise.resolve(), lock: () => Promise.reject(new Error('down')) };
      const cache = createReplayCache({ ttl: 60, memory: new MemoryReplayStore(10), quota: new KeyQuota(10, 60, 10), shared: failing, onFailure: 'unavailable', onEvent: undefined });
      let error: unknown;
      await adding(cache, 'jkt', 'j').catch((e: unknown) => {
        error = e;
      });
      expect(error).to.be.instanceOf(DpopReplayUnavailableError);
    });
  });

  describe('on a real redis-server', function () {
    this.timeout(30_000);
    const redis = useRedisServer();

    it('lets exactly one of many concurrent adds of one proof through, from separate clients', async () => {
      const clients = await Promise.all([0, 1].map(async () => {
        const client = createClient({ url: redis.url });
        client.on('error', () => undefined);
        await client.connect();
        return client;
      }));
      try {
        const caches = clients.map((client) => createReplayCache({ ttl: 60, memory: new MemoryReplayStore(10), quota: new KeyQuota(10, 60, 10), shared: redisStore(client), onFailure: 'memory', onEvent: undefined }));
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => adding(caches[i % 2]!, 'jkt', 'same-jti')));
        expect(results.filter(Boolean)).to.have.length(1);
        expect(await clients[0]!.pTTL(replayKey('jkt', 'same-jti'))).to.be.within(59_000, 60_000);
      } finally {
        for (const client of clients) client.destroy();
      }
    });

    it('never fails a request because Redis did: with Redis down, this process decides from memory and reports it', async () => {
      const issuer = await createTestIssuer({ audience: 'https://api.example.com' });
      const key = await createDpopKey();
      const client = createClient({ url: redis.url, socket: { reconnectStrategy: 50 } });
      client.on('error', () => undefined);
      await client.connect();
      const events: TokenGuardEvent[] = [];
      const app = new Koa();
      app.silent = true;
      app.use(authenticate({ issuer: issuer.issuer, audience: 'https://api.example.com', store: redisStore(client), dpop: {}, onEvent: (e) => events.push(e) }));
      app.use((ctx) => {
        ctx.body = 'ok';
      });
      const s = await serve(app);
      try {
        const token = await issuer.sign({}, { dpopKey: key });
        const proof = (): Promise<string> => key.proof({ method: 'GET', url: `${s.origin}/`, accessToken: token });
        expect((await s.send('/', { headers: dpop(token, await proof()) })).status).to.equal(200);
        expect(events.filter((e) => e.type === 'dpop_replay_store_failed')).to.have.length(0);
        await redis.stop();
        const during = await proof();
        expect((await s.send('/', { headers: dpop(token, during) })).status).to.equal(200);
        expect((await s.send('/', { headers: dpop(token, during) })).status).to.equal(401);
        expect(events.filter((e) => e.type === 'dpop_replay_store_failed')).to.have.length(2);
      } finally {
        await s.close();
        client.destroy();
        await redis.start();
        await issuer.close();
      }
    });

    it('two app processes sharing it: the same proof sent to both gets exactly one 200', async () => {
      const issuer = await createTestIssuer({ audience: 'https://api.example.com' });
      const key = await createDpopKey();
      const instance = fileURLToPath(new URL('../support/app-instance.ts', import.meta.url));
      const children: ChildProcess[] = [];
      try {
        const ports = await Promise.all([0, 1].map(async () => {
          const child = spawn(process.execPath, ['--import', 'tsx', instance], {
            env: { ...process.env, REDIS_URL: redis.url, ISSUER: issuer.issuer, AUDIENCE: 'https://api.example.com', DPOP: '1' },
            stdio: ['pipe', 'pipe', 'inherit'],
          });
          children.push(child);
          for await (const line of createInterface({ input: child.stdout })) return (JSON.parse(line) as { port: number }).port;
          throw new Error('instance exited');
        }));
        const token = await issuer.sign({}, { dpopKey: key });
        // Both processes see the same Host, so one proof fits both.
        const send = (port: number, proof: string): Promise<number> => new Promise((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, path: '/', headers: { host: 'api.example.com', authorization: `DPoP ${token}`, dpop: proof } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          }).on('error', reject);
        });
        const warm = await key.proof({ method: 'GET', url: 'http://api.example.com/', accessToken: token });
        expect(await send(ports[0]!, warm)).to.equal(200);
        expect(await send(ports[1]!, warm)).to.equal(401); // replayed on the other process
        const proof = await key.proof({ method: 'GET', url: 'http://api.example.com/', accessToken: token });
        const statuses = await Promise.all([send(ports[0]!, proof), send(ports[1]!, proof), send(ports[0]!, proof), send(ports[1]!, proof)]);
        expect(statuses.filter((s) => s === 200)).to.have.length(1);
        expect(statuses.filter((s) => s === 401)).to.have.length(3);
      } finally {
        await Promise.all(children.map((child) => new Promise((resolve) => {
          child.once('exit', resolve);
          child.stdin!.end();
        })));
        await issuer.close();
      }
    });
  });
});
