import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Koa from 'koa';
import { base64url } from 'jose';
import { authenticate, type AuthenticateOptions, type AuthState, type IssuerSettings } from '../../lib/index.js';
import { bearer, readReply, type Reply } from '../support/http.js';
import { loopbackProvider, type LoopbackProvider } from '../support/loopback-provider.js';

// CWE-400 / OWASP API4:2023 (unrestricted resource consumption): tokens naming made-up issuers must not
// push the key sets of accepted tenants out of the bounded cache (`keySets.max`), nor take every slot for
// issuer look-ups. An evicted tenant refetched discovery and JWKS, and got 503 while its provider was down
// instead of being served from its last good keys (RFC 8414 / OpenID Discovery key sets, RFC 7517).
describe('security: made-up issuers never evict accepted tenants\' key sets (CWE-400)', () => {
  let tenantA: LoopbackProvider;
  let tenantB: LoopbackProvider;
  let server: http.Server | undefined;
  let agent: http.Agent | undefined;
  const junkSeen = new Set<string>();

  beforeEach(async () => {
    [tenantA, tenantB] = await Promise.all([loopbackProvider(), loopbackProvider()]);
    junkSeen.clear();
  });
  afterEach(async () => {
    agent?.destroy();
    if (server !== undefined) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    }
    server = undefined;
    await Promise.all([tenantA.close(), tenantB.close()]);
  });

  /** Serves an app guarded by authenticate() on loopback, for many requests over kept-alive sockets. */
  type Get = (token: string, headers?: Record<string, string>) => Promise<Reply>;
  async function serve(options: Partial<AuthenticateOptions>): Promise<{ port: number; get: Get }> {
    const app = new Koa<AuthState>();
    app.silent = true;
    app.proxy = true;
    // Every token is checked against its issuer's key set: no verdict served from memory.
    app.use(authenticate({ audience: tenantA.audience, cache: false, ...options }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const handler = app.callback();
    server = http.createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const get: Get = (token, headers = {}) => new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/', agent, headers: { ...bearer(token), ...headers } }, (res) => {
        readReply(res).then(resolve, reject);
      });
      req.on('error', reject);
      req.end();
    });
    return { port, get };
  }

  /** An unsigned token claiming a made-up issuer: all it costs its sender is a string. */
  function junk(i: number): string {
    const iss = `https://made-up-${i}.example.com/`;
    junkSeen.add(iss);
    const header = base64url.encode(JSON.stringify({ alg: 'ES256', kid: 'loopback-1', typ: 'at+jwt' }));
    const payload = base64url.encode(JSON.stringify({ iss, aud: tenantA.audience, sub: 'x', exp: Math.floor(Date.now() / 1000) + 300 }));
    return `${header}.${payload}.${base64url.encode(new Uint8Array(64))}`;
  }

  /** Fails instead of hanging when no answer comes in time. */
  async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([promise, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  const tenants = (): Map<string, IssuerSettings> => new Map([[tenantA.issuer, {}], [tenantB.issuer, {}]]);
  const providerCalls = (): number[] => [tenantA.counts.discovery, tenantA.counts.jwks, tenantB.counts.discovery, tenantB.counts.jwks];

  /** The accepted tenants' next tokens: no provider call, and served from the last good keys with both providers down. */
  async function expectTenantsServedFromMemory(get: (token: string) => Promise<Reply>): Promise<void> {
    for (const tenant of [tenantA, tenantB]) expect((await get(await tenant.sign())).status).to.equal(200);
    expect(providerCalls(), 'no discovery or JWKS fetched again').to.deep.equal([1, 1, 1, 1]);
    tenantA.setUp(false);
    tenantB.setUp(false);
    for (const tenant of [tenantA, tenantB]) {
      const reply = await get(await tenant.sign());
      expect([reply.status, reply.headers['retry-after']], 'a valid token while its provider is down').to.deep.equal([200, undefined]);
    }
    expect(providerCalls()).to.deep.equal([1, 1, 1, 1]);
  }

  it('keeps tenants A and B through 300 concurrent tokens of made-up issuers with an asynchronous resolver: no refetch, 200 with their providers down', async () => {
    let asked = 0;
    const accepted = tenants();
    const { get } = await serve({
      keySets: { max: 2 },
      resolveIssuer: async (iss) => {
        asked++;
        await sleep(5); // a tenant database
        return accepted.get(iss);
      },
    });
    for (const tenant of [tenantA, tenantB]) expect((await get(await tenant.sign())).status).to.equal(200);
    expect(providerCalls()).to.deep.equal([1, 1, 1, 1]);

    const replies = await Promise.all(Array.from({ length: 300 }, (_, i) => get(junk(i))));
    for (const reply of replies) {
      // Refused (401) once the resolver said no; 503 with Retry-After while the flood holds its share of look-ups.
      if (reply.status === 503) expect(Number(reply.headers['retry-after'])).to.be.at.least(1);
      else expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api", error="invalid_token", error_description="token issuer not accepted"']);
    }
    expect(asked).to.be.at.least(1);
    await expectTenantsServedFromMemory(get);
  });

  it('keeps tenants A and B through 200 pipelined requests in one socket write with a synchronous resolver', async () => {
    const accepted = tenants();
    const { port, get } = await serve({ keySets: { max: 2 }, resolveIssuer: (iss) => accepted.get(iss) });
    for (const tenant of [tenantA, tenantB]) expect((await get(await tenant.sign())).status).to.equal(200);

    // One write: Node parses every request of the chunk before any of them is answered.
    const count = 200;
    const wire = Array.from({ length: count }, (_, i) => `GET / HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer ${junk(i)}\r\n\r\n`).join('');
    const statuses = await new Promise<number[]>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(wire));
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        text += chunk;
        const found = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
        if (found.length === count) {
          socket.destroy();
          resolve(found);
        }
      });
      socket.on('error', reject);
    });
    expect(new Set(statuses), 'every made-up issuer refused with 401').to.deep.equal(new Set([401]));
    await expectTenantsServedFromMemory(get);
  });

  it('lets another client\'s new tenant be resolved while one client floods look-ups that never finish', async () => {
    let asked = 0;
    const { get } = await serve({
      keySets: { max: 2, maxPending: 8, maxPendingPerClient: 2 },
      fetchTimeout: 2,
      resolveIssuer: (iss) => {
        if (iss === tenantA.issuer) return {};
        asked++;
        return new Promise<undefined>(() => undefined); // a resolver stuck on the attacker's made-up issuers
      },
    });
    const flooder = { 'x-forwarded-for': '203.0.113.66' };
    const flood = Array.from({ length: 50 }, (_, i) => get(junk(i), flooder));
    // The flood's share is taken: everything past it is refused at once, the resolver not asked.
    const overflow = await within(1000, 'the flood past its share', Promise.all(Array.from({ length: 20 }, (_, i) => get(junk(100 + i), flooder))));
    for (const reply of overflow) {
      expect([reply.status, reply.headers['retry-after'], reply.text]).to.deep.equal([503, '2', 'token verification is temporarily unavailable']);
    }
    expect(asked, 'the resolver asked for the flooder\'s share only').to.equal(2);
    const reply = await within(1000, 'another client', get(await tenantA.sign(), { 'x-forwarded-for': '198.51.100.7' }));
    expect(reply.status, 'another client\'s new tenant').to.equal(200);
    // The flooder's stuck look-ups give their slots back after fetchTimeout: 503, never 401 (the issuer may be real).
    for (const stuck of await within(5000, 'the stuck look-ups', Promise.all(flood))) expect(stuck.status).to.equal(503);
    expect(asked).to.equal(2);
  });
});
