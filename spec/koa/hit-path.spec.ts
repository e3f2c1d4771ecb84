import { expect } from 'chai';
import Koa, { type Middleware } from 'koa';
import nock from 'nock';
import { authenticate, clearKeySets, InsufficientScopeError, requireScopes, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { bearer, request, type Reply } from '../support/http.js';
import { introspectionServer } from '../support/introspection-server.js';
import { VerifiedTokenCache } from '../../lib/core/cache.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';

// The hit path (issue 23): a cached token is served without a promise or an await of authenticate()'s own,
// and a cached token is judged exactly as the full path judges it.

/** An app that records, per request, whether the route ran before authenticate()'s call returned (no microtask turn). */
function probedApp(options: AuthenticateOptions, guard?: Middleware): { app: Koa<AuthState>; synchronous: boolean[]; states: AuthState[] } {
  const synchronous: boolean[] = [];
  const states: AuthState[] = [];
  const app = new Koa<AuthState>();
  app.silent = true;
  let reached = false;
  app.use((_ctx, next) => {
    reached = false;
    const done = next();
    synchronous.push(reached);
    return done;
  });
  app.use(authenticate(options));
  if (guard !== undefined) app.use(guard);
  app.use((ctx) => {
    reached = true;
    states.push({ ...ctx.state });
    ctx.status = 204;
  });
  return { app, synchronous, states };
}

const summary = (reply: Reply): [number, string | undefined] => [reply.status, reply.headers['www-authenticate']];

describe('koa/authenticate: the hit path', () => {
  let provider: FakeProvider;

  beforeEach(async () => {
    provider = await fakeProvider();
  });
  afterEach(() => {
    nock.cleanAll();
    clearKeySets(provider.issuer);
  });

  it('runs the route in the same turn for a cached token, through a guard too; the first request (a miss) awaits the check', async () => {
    const { app, synchronous } = probedApp({ issuer: provider.issuer, audience: provider.audience }, requireScopes('read:messages'));
    const token = await provider.sign();
    for (let i = 0; i < 3; i++) expect((await request(app, '/', { headers: bearer(token) })).status).to.equal(204);
    expect(synchronous).to.deep.equal([false, true, true]);
  });

  it("stays synchronous with resourceMetadata, and a handler's refusal still gets authenticate()'s realm and resource_metadata", async () => {
    const options: AuthenticateOptions = { issuer: provider.issuer, audience: provider.audience, resourceMetadata: true, realm: 'messages' };
    const { app, synchronous } = probedApp(options, requireScopes('read:messages'));
    const token = await provider.sign();
    for (let i = 0; i < 2; i++) expect((await request(app, '/', { headers: bearer(token) })).status).to.equal(204);
    expect(synchronous).to.deep.equal([false, true]);
    // Thrown by a handler, not a guard: only authenticate() can give it the realm and resource_metadata.
    const refusing = probedApp(options, () => {
      throw new InsufficientScopeError(['admin'], 'requires scope admin');
    }).app;
    const replies = [await request(refusing, '/', { headers: bearer(token) }), await request(refusing, '/', { headers: bearer(token) })];
    const challenge = 'Bearer realm="messages", error="insufficient_scope", error_description="requires scope admin", scope="admin", ' +
      'resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"';
    expect(replies.map(summary)).to.deep.equal([[403, challenge], [403, challenge]]);
  });

  it('hands every request of a cached token the same frozen ctx.state.auth, and ctx.state.user its claims', async () => {
    const { app, states } = probedApp({ issuer: provider.issuer, audience: provider.audience });
    const token = await provider.sign({ scope: 'read:messages write:messages' });
    await request(app, '/', { headers: bearer(token) });
    await request(app, '/', { headers: bearer(token) });
    const [first, second] = states;
    expect(second!.auth).to.equal(first!.auth);
    expect(Object.isFrozen(second!.auth)).to.equal(true);
    expect(second!.user).to.equal(second!.auth!.claims);
    expect([second!.auth!.token, second!.auth!.source, [...second!.auth!.scopes]]).to.deep.equal([token, 'jwt', ['read:messages', 'write:messages']]);
    expect(second!.auth!.signal.aborted).to.equal(false);
  });

  describe('judges a cached token as the full path does (the second request finds it cached)', () => {
    const twice = async (app: Koa<AuthState>, headers: Record<string, string | string[]>, path = '/'): Promise<Array<[number, string | undefined]>> =>
      [summary(await request(app, path, { headers })), summary(await request(app, path, { headers }))];

    it('refuses a DPoP-bound token (cnf.jkt) presented as Bearer where DPoP is off, every time (RFC 9449 7.2)', async () => {
      const { app, synchronous } = probedApp({ issuer: provider.issuer, audience: provider.audience });
      const token = await provider.sign({ cnf: { jkt: 'A'.repeat(43) } });
      const challenge = 'Bearer realm="api", error="invalid_token", error_description="token bound to a DPoP key not accepted here"';
      expect(await twice(app, bearer(token))).to.deep.equal([[401, challenge], [401, challenge]]);
      expect(synchronous).to.deep.equal([false, false]);
    });

    it('refuses a certificate-bound token (cnf x5t#S256) where mTLS is not configured, every time (RFC 8705 3)', async () => {
      const { app } = probedApp({ issuer: provider.issuer, audience: provider.audience });
      const token = await provider.sign({ cnf: { 'x5t#S256': 'A'.repeat(43) } });
      const [first, second] = await twice(app, bearer(token));
      expect(first![0]).to.equal(401);
      expect(second).to.deep.equal(first);
    });

    it('answers 400 to two Authorization headers, cached token or not (RFC 6750 3.1)', async () => {
      const { app } = probedApp({ issuer: provider.issuer, audience: provider.audience });
      const token = await provider.sign();
      expect((await request(app, '/', { headers: bearer(token) })).status).to.equal(204);
      const [first, second] = await twice(app, { authorization: [`Bearer ${token}`, `Bearer ${token}`] });
      expect(first![0]).to.equal(400);
      expect(second).to.deep.equal(first);
    });

    it('answers 400 to a cached token sent in the header and the query with allowQueryToken (RFC 6750 2)', async () => {
      const { app } = probedApp({ issuer: provider.issuer, audience: provider.audience, allowQueryToken: true });
      const token = await provider.sign();
      expect((await request(app, '/', { headers: bearer(token) })).status).to.equal(204);
      const [first, second] = await twice(app, bearer(token), `/?access_token=${token}`);
      expect(first).to.deep.equal([400, 'Bearer realm="api", error="invalid_request", error_description="token sent by more than one method"']);
      expect(second).to.deep.equal(first);
    });

    it('accepts the scheme in any case and padded with spaces, as the full path does', async () => {
      const { app } = probedApp({ issuer: provider.issuer, audience: provider.audience });
      const token = await provider.sign();
      for (const value of [`Bearer ${token}`, `bearer ${token}`, `BEARER  ${token}`, `Bearer ${token}  `]) {
        expect((await request(app, '/', { headers: { authorization: value } })).status, value).to.equal(204);
      }
    });
  });

  it('looks a plain Bearer miss up in the verified-token cache once (the middleware), not again in the verifier; a hit once too', async () => {
    const events: unknown[] = [];
    const { app } = probedApp({ issuer: provider.issuer, audience: provider.audience, onEvent: (event) => events.push(event) }, requireScopes('read:messages'));
    const token = await provider.sign();
    const { prototype } = VerifiedTokenCache;
    // Called with the cache as `this` below, as the method it is.
    const get = Object.getOwnPropertyDescriptor(prototype, 'get')!.value as (this: VerifiedTokenCache, token: string) => unknown;
    let lookups = 0;
    prototype.get = function counted(this: VerifiedTokenCache, token: string) {
      lookups++;
      return get.call(this, token);
    } as VerifiedTokenCache['get'];
    try {
      expect((await request(app, '/', { headers: bearer(token) })).status).to.equal(204);
      expect(lookups).to.equal(1);
      expect((await request(app, '/', { headers: bearer(token) })).status).to.equal(204);
      expect(lookups).to.equal(2);
      // The way after a miss still reports a refusal, once.
      const forged = `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(86)}`;
      expect((await request(app, '/', { headers: bearer(forged) })).status).to.equal(401);
      expect(lookups).to.equal(3);
      expect(events.filter((e) => (e as { type: string }).type === 'token_rejected')).to.deep.equal([{ type: 'token_rejected', code: 'signature_invalid', status: 401 }]);
    } finally {
      prototype.get = get as VerifiedTokenCache['get'];
    }
  });

  it('judges a miss read in its plain form as the full path does: each header a new token, the first request of each', async () => {
    const { app, states } = probedApp({ issuer: provider.issuer, audience: provider.audience });
    const cases: Array<[(token: string) => string, [number, string | undefined]]> = [
      [(t) => `Bearer ${t}`, [204, undefined]],
      [(t) => `bearer ${t}`, [204, undefined]],
      [(t) => `Bearer  ${t}`, [204, undefined]],
      [(t) => `Bearer ${t}  `, [204, undefined]],
      [(t) => `Bearer ${t} x`, [400, 'Bearer realm="api", error="invalid_request", error_description="more than one bearer token"']],
      [(t) => `Bearer ${t}=x`, [400, 'Bearer realm="api", error="invalid_request", error_description="malformed Authorization header"']],
      [(t) => `Bearer ${t},`, [400, 'Bearer realm="api", error="invalid_request", error_description="malformed Authorization header"']],
    ];
    const tokens: string[] = [];
    for (const [header, expected] of cases) {
      const token = await provider.sign();
      expect(summary(await request(app, '/', { headers: { authorization: header(token) } })), header('<token>')).to.deep.equal(expected);
      if (expected[0] === 204) tokens.push(token);
    }
    expect(states.map((state) => state.auth?.token)).to.deep.equal(tokens);
  });

  it('serves a cached introspected token in the same turn, with one call to the authorization server', async () => {
    const server = await introspectionServer();
    try {
      const { app, synchronous, states } = probedApp({
        issuer: server.issuer, audience: server.audience, introspection: { clientId: server.clientId, clientSecret: server.clientSecret },
      });
      const token = server.issue();
      for (let i = 0; i < 3; i++) expect((await request(app, '/', { headers: bearer(token) })).status).to.equal(204);
      expect(synchronous).to.deep.equal([false, true, true]);
      expect(server.requests).to.have.length(1);
      expect(states[2]!.auth!.source).to.equal('introspection');
    } finally {
      await server.close();
      clearKeySets(server.issuer);
    }
  });

  it("routes a cached JWT to the introspection cache with tokens: 'all', never to the verifier's", async () => {
    const server = await introspectionServer();
    try {
      const { app, synchronous } = probedApp({
        issuer: server.issuer, audience: server.audience, introspection: { clientId: server.clientId, clientSecret: server.clientSecret, tokens: 'all' },
      });
      const jwt = await server.signJwt();
      for (let i = 0; i < 2; i++) expect((await request(app, '/', { headers: bearer(jwt) })).status).to.equal(204);
      // The verifier never saw it: only the introspection cache can have answered the second request.
      expect(synchronous).to.deep.equal([false, true]);
      expect(server.requests).to.have.length(1);
    } finally {
      await server.close();
      clearKeySets(server.issuer);
    }
  });
});
