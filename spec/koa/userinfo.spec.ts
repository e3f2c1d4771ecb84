import { expect } from 'chai';
import Koa from 'koa';
import nock from 'nock';
import { authenticate, fetchUserInfo, type AccessTokenClaims, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { bearer, request } from '../support/http.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { fakeUserInfo, type FakeUserInfo } from '../support/userinfo.js';

describe('koa/userinfo: fetchUserInfo(ctx)', () => {
  let provider: FakeProvider;
  let endpoint: FakeUserInfo;
  let handled: number;

  function appFor(extra: Partial<AuthenticateOptions> = {}): Koa<AuthState> {
    const app = new Koa<AuthState>();
    app.silent = true;
    app.use(authenticate({ issuer: provider.issuer, audience: provider.audience, ...extra }));
    app.use(async (ctx) => {
      const info = await fetchUserInfo<{ sub: string; email: string }>(ctx);
      handled++;
      ctx.body = { email: info.email };
    });
    return app;
  }

  beforeEach(async () => {
    provider = await fakeProvider();
    endpoint = fakeUserInfo(`${provider.issuer}userinfo`);
    handled = 0;
  });
  afterEach(() => nock.cleanAll());

  it('returns the userinfo of the verified token, asked for with that token', async () => {
    const token = await provider.sign();
    const reply = await request(appFor(), '/', { headers: bearer(token) });
    expect([reply.status, reply.json()]).to.deep.equal([200, { email: 'ada@example.com' }]);
    expect(endpoint.authorizations).to.deep.equal([`Bearer ${token}`]);
    expect(provider.discoveryCount()).to.equal(1);
  });

  it('asks once for three sequential requests with one token, and once per other token', async () => {
    const app = appFor();
    const [a, b] = [await provider.sign({ jti: 'a' }), await provider.sign({ jti: 'b' })];
    for (const token of [a, a, a, b, b]) expect((await request(app, '/', { headers: bearer(token) })).status).to.equal(200);
    expect(endpoint.count()).to.equal(2);
  });

  it('asks once for 10 concurrent requests with one token', async () => {
    const app = appFor();
    const token = await provider.sign();
    endpoint.delay(20); // keeps the first lookup in flight while the others arrive
    const replies = await Promise.all(Array.from({ length: 10 }, () => request(app, '/', { headers: bearer(token) })));
    expect(replies.map((r) => r.status)).to.deep.equal(Array.from({ length: 10 }, () => 200));
    expect(endpoint.count()).to.equal(1);
  });

  it('never asks for a token that failed verification', async () => {
    const app = appFor();
    for (const token of [await provider.sign({ exp: 1 }), await provider.sign({ aud: 'https://other.example.com' }), 'not-a-jwt']) {
      expect((await request(app, '/', { headers: bearer(token) })).status).to.equal(401);
    }
    expect([endpoint.count(), handled]).to.deep.equal([0, 0]);
  });

  it('answers 401 invalid_token when the userinfo sub differs, and the handler never sees it', async () => {
    endpoint.answer(() => [200, { sub: 'user-2', email: 'mallory@example.com' }]);
    const reply = await request(appFor(), '/', { headers: bearer(await provider.sign()) });
    expect(reply.status).to.equal(401);
    expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api", error="invalid_token", error_description="user information does not match the token"');
    expect(reply.text).not.to.include('mallory');
    expect(handled).to.equal(0);
  });

  it('answers 401 invalid_token when the provider answers 401, with the configured realm', async () => {
    endpoint.answer(() => [401, { error: 'invalid_token' }]);
    const reply = await request(appFor({ realm: 'profiles' }), '/', { headers: bearer(await provider.sign()) });
    expect(reply.status).to.equal(401);
    expect(reply.headers['www-authenticate']).to.equal('Bearer realm="profiles", error="invalid_token", error_description="token not accepted by the identity provider"');
  });

  it('answers 403 insufficient_scope naming openid when the provider answers 403', async () => {
    endpoint.answer(() => [403, { error: 'insufficient_scope' }]);
    const reply = await request(appFor(), '/', { headers: bearer(await provider.sign()) });
    expect(reply.status).to.equal(403);
    expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api", error="insufficient_scope", error_description="insufficient scope for user information", scope="openid"');
  });

  it('answers 503 with Retry-After and no challenge when the provider fails, never 401', async () => {
    endpoint.answer(() => [502, 'bad gateway']);
    const token = await provider.sign();
    const reply = await request(appFor(), '/', { headers: bearer(token) });
    expect([reply.status, reply.headers['retry-after'], reply.headers['www-authenticate']]).to.deep.equal([503, '30', undefined]);
    expect(reply.text).to.equal('user information is temporarily unavailable');
    expect(reply.text).not.to.include(token);
  });

  it('answers 401 with a bare challenge for an optional request without credentials', async () => {
    const reply = await request(appFor({ optional: true }), '/');
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api"']);
    expect(endpoint.count()).to.equal(0);
  });

  it('answers 500 when authenticate() did not run before it (a programming error)', async () => {
    const app = new Koa();
    app.silent = true;
    app.use(async (ctx) => {
      ctx.body = await fetchUserInfo(ctx);
    });
    expect((await request(app, '/', { headers: bearer(await provider.sign()) })).status).to.equal(500);
    expect(endpoint.count()).to.equal(0);
  });

  it('can be called from resolveUser to create the user with profile data', async () => {
    const users = new Map<string, { id: number; email: string }>();
    const app = new Koa<AuthState<AccessTokenClaims, { id: number; email: string }>>();
    app.silent = true;
    app.use(authenticate({
      issuer: provider.issuer,
      audience: provider.audience,
      resolveUser: async (claims, ctx) => {
        let user = users.get(claims.sub!);
        if (user === undefined) users.set(claims.sub!, (user = { id: users.size + 1, email: (await fetchUserInfo<{ sub: string; email: string }>(ctx)).email }));
        return user;
      },
      userCache: true,
    }));
    app.use((ctx) => {
      ctx.body = ctx.state.user;
    });
    for (let i = 0; i < 3; i++) {
      const reply = await request(app, '/', { headers: bearer(await provider.sign({ jti: `t${i}` })) });
      expect(reply.json()).to.deep.equal({ id: 1, email: 'ada@example.com' });
    }
    expect(endpoint.count()).to.equal(1);
  });
});
