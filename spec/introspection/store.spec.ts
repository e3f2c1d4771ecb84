import { expect } from 'chai';
import { createClient } from 'redis';
import { createIntrospector, type TokenGuardEvent } from '../../lib/index.js';
import { redisStore } from '../../lib/redis.js';
import { useRedisServer } from '../support/redis.js';
import { rejection } from '../support/rejection.js';
import { useServer } from './support.js';

async function connect(url: string) {
  const client = createClient({ url, socket: { reconnectStrategy: 50 } });
  client.on('error', () => undefined); // node-redis requires a listener; failures are the point here
  await client.connect();
  return client;
}

describe('introspection/store (real redis-server)', function () {
  this.timeout(30_000);
  const setup = useServer();
  const redis = useRedisServer();
  const clients: Array<{ destroy(): void }> = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    const admin = await connect(redis.url);
    await admin.flushAll();
    admin.destroy();
  });

  /** One introspector per "process": its own Redis connection, its own memory, one shared Redis. */
  async function processes(count: number, events: TokenGuardEvent[]) {
    return Promise.all(Array.from({ length: count }, async () => {
      const client = await connect(redis.url);
      clients.push(client);
      return createIntrospector(setup.optionsFor({ store: redisStore(client), onEvent: (e) => events.push(e) }));
    }));
  }

  it('three processes meeting one new token together make one introspection call; no raw token in Redis or in any event', async () => {
    const { server } = setup;
    server.delay = 100;
    const events: TokenGuardEvent[] = [];
    const introspectors = await processes(3, events);
    const token = server.issue();
    const results = await Promise.all(introspectors.flatMap((introspect) => Array.from({ length: 10 }, () => introspect(token))));
    expect(results.every((r) => r.claims.sub === 'user-1')).to.be.true;
    expect(server.requests).to.have.length(1);
    // One call (shared: false); the other two processes read its answer from Redis.
    const introspected = events.filter((e) => e.type === 'token_introspected').map((e) => e.shared).sort();
    expect(introspected).to.deep.equal([false, true, true]);
    expect(events.find((e) => e.type === 'token_introspected')).to.deep.include({ source: `introspection ${server.endpoint}` });
    const admin = await connect(redis.url);
    clients.push(admin);
    const keys = await admin.keys('*');
    expect(keys.filter((k) => k.startsWith('koa-token-guard:introspection:'))).to.have.length(1);
    for (const key of keys) {
      expect(key).to.not.include(token);
      const type = await admin.type(key);
      if (type === 'string') expect(await admin.get(key)).to.not.include(token);
    }
    expect(JSON.stringify(events)).to.not.include(token);
  });

  it('a process started later is answered from Redis, and the stored answer expires with cache.ttl', async () => {
    const { server } = setup;
    const token = server.issue();
    const events: TokenGuardEvent[] = [];
    const [first] = await processes(1, events);
    await first!(token);
    const [later] = await processes(1, events);
    await later!(token);
    expect(server.requests).to.have.length(1);
    const admin = await connect(redis.url);
    clients.push(admin);
    const [key] = await admin.keys('koa-token-guard:introspection:*');
    const ttl = await admin.pTTL(key!);
    expect(ttl).to.be.within(55_000, 60_000);
  });

  it('shares an inactive answer for inactiveTtl only', async () => {
    const { server } = setup;
    const events: TokenGuardEvent[] = [];
    const [a, b] = await processes(2, events);
    await rejection(a!('dead-token'));
    expect((await rejection(b!('dead-token'))).code).to.equal('token_inactive');
    expect(server.requests).to.have.length(1);
    const admin = await connect(redis.url);
    clients.push(admin);
    const [key] = await admin.keys('koa-token-guard:introspection:*');
    expect(await admin.pTTL(key!)).to.be.within(1, 5_000);
  });

  it('keeps serving when Redis is down: from memory, and new tokens from the authorization server', async () => {
    const { server } = setup;
    const events: TokenGuardEvent[] = [];
    const [introspect] = await processes(1, events);
    const cached = server.issue();
    await introspect!(cached);
    await redis.stop();
    try {
      expect((await introspect!(cached)).claims.sub).to.equal('user-1');
      expect((await introspect!(server.issue())).claims.sub).to.equal('user-1');
      expect(server.requests).to.have.length(2);
      expect(events.some((e) => e.type === 'key_store_failed' && e.source === `introspection ${server.endpoint}`)).to.be.true;
    } finally {
      await redis.start();
    }
  });
});
