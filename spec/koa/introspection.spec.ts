import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import {
  authenticate, clearKeySets, fetchUserInfo, keySets, requireScopes,
  type AuthenticateOptions, type AuthState, type TokenGuardEvent, type VerifiedToken,
} from '../../lib/index.js';
import { bearer, request } from '../support/http.js';
import { introspectionServer, type IntrospectionServer } from '../support/introspection-server.js';

describe('koa/authenticate with introspection', () => {
  let server: IntrospectionServer;
  let seen: AuthState | undefined;

  beforeEach(async () => {
    server = await introspectionServer();
    seen = undefined;
  });
  afterEach(async () => {
    await server.close();
    clearKeySets(server.issuer);
  });

  const optionsFor = (extra: Partial<AuthenticateOptions> = {}, introspection: Record<string, unknown> = {}): AuthenticateOptions => ({
    issuer: server.issuer,
    audience: server.audience,
    ...extra,
    introspection: { clientId: server.clientId, clientSecret: server.clientSecret, ...introspection },
  });

  function appFor(options: AuthenticateOptions): Koa<AuthState> {
    const app = new Koa<AuthState>();
    app.silent = true;
    const router = new Router<AuthState>();
    router.get('/messages', requireScopes('read:messages'), (ctx) => {
      seen = { ...ctx.state };
      ctx.body = { sub: ctx.state.user?.sub };
    });
    router.get('/admin', requireScopes('admin'), (ctx) => {
      ctx.body = {};
    });
    router.get('/me', async (ctx) => {
      ctx.body = await fetchUserInfo(ctx);
    });
    app.use(authenticate(options));
    app.use(router.routes());
    return app;
  }

  it('accepts an opaque token: ctx.state.auth has source introspection, no header; ctx.state.user the answer', async () => {
    const token = server.issue();
    const reply = await request(appFor(optionsFor()), '/messages', { headers: bearer(token) });
    expect(reply.status).to.equal(200);
    const auth = seen!.auth as VerifiedToken;
    expect([auth.source, auth.header, auth.token]).to.deep.equal(['introspection', undefined, token]);
    expect(seen!.user).to.equal(auth.claims);
    expect(auth.claims.sub).to.equal('user-1');
    expect([...auth.scopes]).to.deep.equal(['read:messages']);
  });

  it("verifies a JWT locally (tokens: 'opaque', the default): source jwt, no introspection call", async () => {
    const reply = await request(appFor(optionsFor()), '/messages', { headers: bearer(await server.signJwt()) });
    expect(reply.status).to.equal(200);
    expect(seen!.auth!.source).to.equal('jwt');
    expect(server.requests).to.have.length(0);
  });

  it("introspects JWTs too with tokens: 'all', so a revoked JWT is refused", async () => {
    const app = appFor(optionsFor({}, { tokens: 'all' }));
    const jwt = await server.signJwt();
    expect((await request(app, '/messages', { headers: bearer(jwt) })).status).to.equal(200);
    expect(seen!.auth!.source).to.equal('introspection');
    const revoked = await server.signJwt();
    server.revoke(revoked);
    const reply = await request(app, '/messages', { headers: bearer(revoked) });
    expect(reply.status).to.equal(401);
    expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api", error="invalid_token", error_description="token is not active"');
    expect(server.requests).to.have.length(2);
  });

  it('answers an inactive token 401 invalid_token with the exact challenge, once reported', async () => {
    const events: TokenGuardEvent[] = [];
    const reply = await request(appFor(optionsFor({ onEvent: (e) => events.push(e) })), '/messages', { headers: bearer('revoked-or-made-up') });
    expect(reply.status).to.equal(401);
    expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api", error="invalid_token", error_description="token is not active"');
    expect(reply.text).to.equal('token is not active');
    expect(events.filter((e) => e.type === 'token_rejected')).to.deep.equal([{ type: 'token_rejected', code: 'token_inactive', status: 401 }]);
  });

  it('answers 503 with Retry-After (no challenge) while the authorization server fails', async () => {
    server.override = () => ({ status: 500, body: '' });
    const reply = await request(appFor(optionsFor()), '/messages', { headers: bearer(server.issue()) });
    expect(reply.status).to.equal(503);
    expect(reply.headers['retry-after']).to.equal('5');
    expect(reply.headers['www-authenticate']).to.equal(undefined);
    expect(reply.text).to.equal('token introspection is temporarily unavailable');
  });

  it('keeps serving cached tokens while the authorization server is down', async () => {
    const app = appFor(optionsFor());
    const token = server.issue();
    expect((await request(app, '/messages', { headers: bearer(token) })).status).to.equal(200);
    server.override = () => ({ status: 503, body: '' });
    expect((await request(app, '/messages', { headers: bearer(token) })).status).to.equal(200);
    expect((await request(app, '/messages', { headers: bearer(server.issue()) })).status).to.equal(503);
  });

  it('guards read the introspected scopes: 403 insufficient_scope without the scope', async () => {
    const reply = await request(appFor(optionsFor()), '/admin', { headers: bearer(server.issue()) });
    expect(reply.status).to.equal(403);
    expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api", error="insufficient_scope", error_description="requires scope admin", scope="admin"');
  });

  it('resolveUser gets the claims with iss (the configured issuer when the answer has none) and sub', async () => {
    const calls: [unknown, unknown][] = [];
    const options = optionsFor({ resolveUser: (claims) => { calls.push([claims.iss, claims.sub]); return { ...claims, id: claims.sub }; } });
    const app = appFor(options);
    expect((await request(app, '/messages', { headers: bearer(server.issue({ iss: undefined })) })).status).to.equal(200);
    expect(calls).to.deep.equal([[server.issuer, 'user-1']]);
    expect(seen!.user).to.deep.include({ id: 'user-1' });
  });

  it('fetchUserInfo works for an introspected token (endpoint from the same discovery)', async () => {
    const reply = await request(appFor(optionsFor()), '/me', { headers: bearer(server.issue()) });
    expect(reply.status).to.equal(200);
    expect(reply.json()).to.deep.equal({ sub: 'user-1', name: 'Ada' });
    expect(server.discoveryCount()).to.equal(1);
  });

  it('keySets(auth).ready() pre-warms the discovery the introspection endpoint comes from', async () => {
    const auth = authenticate(optionsFor());
    await keySets(auth).ready();
    expect(server.discoveryCount()).to.equal(1);
  });
});
