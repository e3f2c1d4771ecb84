// A flood of made-up opaque tokens from one client must not deny introspection to the others. Each
// made-up token costs a call to the authorization server (RFC 7662 4 leaves rate limiting to the
// resource server), so the calls are bounded per endpoint; this spec is about who gets the bound:
// one client's share of the wait queue is capped, and queued calls are served round robin by client.
import { expect } from 'chai';
import Koa from 'koa';
import { authenticate, type AuthState } from '../../lib/index.js';
import { useServer } from '../introspection/support.js';
import { inject } from './inject.js';

describe('security: one client cannot exhaust the introspection queue for the others (RFC 7662 4)', () => {
  const setup = useServer();

  /** An app behind a proxy (`app.proxy`: the client is X-Forwarded-For), asking the loopback server. */
  function appFor(introspection: Record<string, unknown>): Koa<AuthState> {
    const app = new Koa<AuthState>({ proxy: true });
    app.silent = true;
    app.use(authenticate(setup.optionsFor({}, introspection)));
    app.use((ctx) => {
      ctx.body = { sub: ctx.state.user?.sub };
    });
    return app;
  }
  const from = (ip: string, token: string) => ['Host', 'api.example.com', 'X-Forwarded-For', ip, 'Authorization', `Bearer ${token}`];

  it('a flood of 200 made-up tokens from one client: its excess gets 503 with Retry-After, another client\'s new token gets 200', async () => {
    const { server } = setup;
    server.delay = 20;
    const app = appFor({ maxConcurrent: 2, maxQueue: 50, maxQueuePerClient: 10 });
    const flood = Array.from({ length: 200 }, (_, i) => inject(app, '/', from('203.0.113.7', `made-up-${i}`)));
    await new Promise((resolve) => setImmediate(resolve));
    const token = server.issue();
    const victim = await inject(app, '/', from('198.51.100.1', token));
    const flooded = await Promise.all(flood);
    expect([victim.status, victim.body]).to.deep.equal([200, '{"sub":"user-1"}']);
    const statuses = flooded.map((reply) => reply.status);
    // 2 in flight and 10 waiting for the flooding client; every further one is refused at once.
    expect([statuses.filter((s) => s === 401).length, statuses.filter((s) => s === 503).length]).to.deep.equal([12, 188]);
    expect(flooded.find((reply) => reply.status === 503)!.headers['retry-after']).to.equal('5');
    expect(server.requests).to.have.length(13);
    expect(server.inFlight.peak).to.equal(2);
  });

  it('serves waiting calls round robin by client: the other client\'s call is not served after the whole flood', async () => {
    const { server } = setup;
    server.delay = 20;
    const app = appFor({ maxConcurrent: 1, maxQueue: 100, maxQueuePerClient: 50 });
    const flood = Array.from({ length: 30 }, (_, i) => inject(app, '/', from('203.0.113.7', `made-up-${i}`)));
    await new Promise((resolve) => setImmediate(resolve));
    const token = server.issue();
    const victim = await inject(app, '/', from('198.51.100.1', token));
    expect(victim.status).to.equal(200);
    // One flood call in flight and the next one served before it at most: the victim's is at most third.
    const position = server.requests.findIndex((r) => r.params.get('token') === token);
    expect(position).to.be.within(1, 2);
    expect((await Promise.all(flood)).every((reply) => reply.status === 401)).to.be.true;
  });

  it('a token first asked by a client whose share is full is still introspected for another client asking at once (coalescing)', async () => {
    const { server } = setup;
    server.delay = 20;
    const introspect = setup.introspectorFor({}, { maxConcurrent: 1, maxQueuePerClient: 1 });
    const flooder = { ip: '203.0.113.7' };
    const flood = [0, 1].map((i) => introspect(`made-up-${i}`, flooder).catch((e: unknown) => e));
    await new Promise((resolve) => setImmediate(resolve));
    const token = server.issue();
    const [first, second] = await Promise.allSettled([introspect(token, flooder), introspect(token, { ip: '198.51.100.1' })]);
    expect(first.status === 'rejected' && (first.reason as { code: string }).code).to.equal('introspection_unavailable');
    expect(second.status === 'fulfilled' && second.value.claims.sub).to.equal('user-1');
    await Promise.all(flood);
    expect(server.requests.filter((r) => r.params.get('token') === token)).to.have.length(1);
  });

  it('a flood of made-up tokens never evicts an accepted answer nor makes another client\'s accepted token call the server again', async () => {
    const { server } = setup;
    const app = appFor({ cache: { max: 10 } });
    const token = server.issue();
    expect((await inject(app, '/', from('198.51.100.1', token))).status).to.equal(200);
    for (let round = 0; round < 5; round++) {
      const flood = await Promise.all(Array.from({ length: 20 }, (_, i) => inject(app, '/', from('203.0.113.7', `made-up-${round}-${i}`))));
      expect(flood.every((reply) => reply.status === 401)).to.be.true;
    }
    expect(server.requests).to.have.length(101);
    expect((await inject(app, '/', from('198.51.100.1', token))).status).to.equal(200);
    expect(server.requests).to.have.length(101);
  });
});
