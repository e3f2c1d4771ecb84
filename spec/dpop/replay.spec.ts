import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { DpopReplayUnavailableError, type KeyStore, type TokenGuardEvent } from '../../lib/index.js';
import { createReplayCache, MemoryReplayStore, replayKey } from '../../lib/dpop/replay.js';
import { redisStore } from '../../lib/redis.js';
import { createDpopKey, createTestIssuer } from '../../lib/testing/index.js';
import { startRedis, type RedisServer } from '../support/redis.js';

describe('dpop/replay: each proof jti is accepted once within its window', () => {
  it('hashes jti together with the key thumbprint: same jti under another key is another proof', () => {
    expect(replayKey('key-a', 'j')).to.not.equal(replayKey('key-b', 'j'));
    expect(replayKey('key-a', 'j')).to.match(/^dpop:jti:[A-Za-z0-9_-]{43}$/);
    expect(replayKey('a', 'b\0c')).to.not.equal(replayKey('a\0b', 'c'));
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
      const cache = createReplayCache({ ttl: 310, memory, shared: store, onFailure: 'memory', onEvent: undefined });
      expect(await cache.add('jkt', 'j1')).to.equal(true);
      expect(await cache.add('jkt', 'j1')).to.equal(false);
      expect(calls).to.deep.equal([[replayKey('jkt', 'j1'), 310], [replayKey('jkt', 'j1'), 310]]);
      expect(memory.size).to.equal(0);
    });

    it('falls back to memory when the store fails, reports it, and still refuses this process\'s replays', async () => {
      const events: TokenGuardEvent[] = [];
      const failing: KeyStore = { get: () => Promise.resolve(undefined), set: () => Promise.resolve(), lock: () => Promise.reject(new Error('down')) };
      const cache = createReplayCache({ ttl: 60, memory: new MemoryReplayStore(10), shared: failing, onFailure: 'memory', onEvent: (e) => events.push(e) });
      expect(await cache.add('jkt', 'j')).to.equal(true);
      expect(await cache.add('jkt', 'j')).to.equal(false);
      expect(events).to.deep.equal([{ type: 'dpop_replay_store_failed' }, { type: 'dpop_replay_store_failed' }]);
    });

    it("answers 503 instead with replayStoreFailure: 'unavailable'", async () => {
      const failing: KeyStore = { get: () => Promise.resolve(undefined), set: () => Promise.resolve(), lock: () => Promise.reject(new Error('down')) };
      const cache = createReplayCache({ ttl: 60, memory: new MemoryReplayStore(10), shared: failing, onFailure: 'unavailable', onEvent: undefined });
      let error: unknown;
      await cache.add('jkt', 'j').catch((e: unknown) => {
        error = e;
      });
      expect(error).to.be.instanceOf(DpopReplayUnavailableError);
    });
  });

  describe('on a real redis-server', function () {
    this.timeout(30_000);
    let redis: RedisServer;
    before(async () => {
      redis = await startRedis();
    });
    after(() => redis.stop());

    it('lets exactly one of many concurrent adds of one proof through, from separate clients', async () => {
      const clients = await Promise.all([0, 1].map(async () => {
        const client = createClient({ url: redis.url });
        client.on('error', () => undefined);
        await client.connect();
        return client;
      }));
      try {
        const caches = clients.map((client) => createReplayCache({ ttl: 60, memory: new MemoryReplayStore(10), shared: redisStore(client), onFailure: 'memory', onEvent: undefined }));
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => caches[i % 2]!.add('jkt', 'same-jti')));
        expect(results.filter(Boolean)).to.have.length(1);
        expect(await clients[0]!.pTTL(replayKey('jkt', 'same-jti'))).to.be.within(59_000, 60_000);
      } finally {
        for (const client of clients) client.destroy();
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
