import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import nock from 'nock';
import { authenticate, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { bearer, request } from '../support/http.js';
import { fakeProvider, signingKey, uniqueIssuer, type FakeProvider } from '../support/provider.js';

function appFor(options: AuthenticateOptions): Koa<AuthState> {
  const app = new Koa<AuthState>();
  app.silent = true;
  const router = new Router<AuthState>();
  router.get('/messages', (ctx) => {
    ctx.body = { sub: ctx.state.user?.sub ?? null, scopes: ctx.state.auth ? [...ctx.state.auth.scopes] : null };
  });
  router.post('/messages', (ctx) => {
    ctx.body = { sub: ctx.state.user?.sub ?? null };
  });
  app.use(authenticate(options));
  app.use(router.routes());
  return app;
}

describe('koa/authenticate', () => {
  let provider: FakeProvider;
  let app: Koa<AuthState>;

  beforeEach(async () => {
    provider = await fakeProvider();
    app = appFor({ issuer: provider.issuer, audience: provider.audience });
  });
  afterEach(() => nock.cleanAll());

  describe('success', () => {
    it('sets ctx.state.user to the claims and ctx.state.auth to token, source, header, claims and scopes', async () => {
      const token = await provider.sign({ scope: 'read:messages write:messages' });
      let seen: AuthState | undefined;
      const probe = new Koa<AuthState>();
      probe.use(authenticate({ issuer: provider.issuer, audience: provider.audience }));
      probe.use((ctx) => {
        seen = { ...ctx.state };
        ctx.status = 204;
      });
      expect((await request(probe, '/', { headers: bearer(token) })).status).to.equal(204);
      expect(seen!.user!.sub).to.equal('user-1');
      expect(seen!.auth!.token).to.equal(token);
      expect(seen!.auth!.source).to.equal('jwt');
      expect(seen!.auth!.header?.kid).to.equal(provider.keys[0]!.kid);
      expect(seen!.auth!.claims).to.equal(seen!.user);
      expect([...seen!.auth!.scopes]).to.deep.equal(['read:messages', 'write:messages']);
    });

    it('accepts the scheme in any case', async () => {
      const token = await provider.sign();
      for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
        const reply = await request(app, '/messages', { headers: { authorization: `${scheme} ${token}` } });
        expect(reply.status, scheme).to.equal(200);
      }
    });

    it('reads scopes from scopeClaims such as Auth0 permissions', async () => {
      const auth0 = appFor({ issuer: provider.issuer, audience: provider.audience, scopeClaims: ['permissions'] });
      const reply = await request(auth0, '/messages', { headers: bearer(await provider.sign({ scope: 'openid', permissions: ['read:messages'] })) });
      expect(reply.json()).to.deep.equal({ sub: 'user-1', scopes: ['openid', 'read:messages'] });
    });
  });

  describe('the RFC 6750 error table', () => {
    it('answers 401 with a bare challenge and no error attribute when there are no credentials', async () => {
      const reply = await request(app, '/messages');
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api"');
    });

    it('treats another scheme (Basic) as no bearer credentials', async () => {
      const reply = await request(app, '/messages', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api"');
    });

    it('uses the configured realm', async () => {
      const custom = appFor({ issuer: provider.issuer, audience: provider.audience, realm: 'messages' });
      expect((await request(custom, '/messages')).headers['www-authenticate']).to.equal('Bearer realm="messages"');
    });

    const invalidRequests: Array<[string, Record<string, string | string[]>, string]> = [
      ['Bearer with no token', { authorization: 'Bearer' }, 'bearer token missing'],
      ['Bearer followed by spaces', { authorization: 'Bearer   ' }, 'bearer token missing'],
      ['two tokens in one header', { authorization: 'Bearer aaa.bbb.ccc ddd.eee.fff' }, 'more than one bearer token'],
      ['two Authorization headers', { authorization: ['Bearer aaa.bbb.ccc', 'Bearer ddd.eee.fff'] }, 'more than one Authorization header'],
      ['characters outside b64token', { authorization: 'Bearer abc,def' }, 'malformed Authorization header'],
    ];
    for (const [label, headers, description] of invalidRequests) {
      it(`answers 400 invalid_request for ${label}`, async () => {
        const reply = await request(app, '/messages', { headers });
        expect(reply.status).to.equal(400);
        expect(reply.headers['www-authenticate']).to.equal(`Bearer realm="api", error="invalid_request", error_description="${description}"`);
        expect(reply.text).to.equal(description);
      });
    }

    const invalidTokens: Array<[string, () => Promise<string>, string]> = [
      ['not a JWT', () => Promise.resolve('not-a-jwt'), 'malformed token'],
      ['a bad signature', async () => {
        const [h, p] = (await provider.sign()).split('.');
        return `${h}.${p}.${(await provider.sign({ sub: 'x' })).split('.')[2]}`;
      }, 'invalid signature'],
      ['an unknown kid', async () => provider.sign({}, { key: await signingKey('ES256', 'unknown', 'stranger') }), 'signing key not found'],
      ['an algorithm not allowed', async () => provider.sign({}, { key: await signingKey('RS256', provider.keys[0]!.kid, 'rsa') }), 'signing algorithm not allowed'],
      ['an expired token', () => provider.sign({ exp: Math.floor(Date.now() / 1000) - 60 }), 'token expired'],
      ['a token not yet valid', () => provider.sign({ nbf: Math.floor(Date.now() / 1000) + 60 }), 'token not yet valid'],
      ['a wrong iss', () => provider.sign({ iss: 'https://other.example.com/' }), 'token issuer not accepted'],
      ['a wrong aud', () => provider.sign({ aud: 'https://other.example.com' }), 'token audience not accepted'],
      ['a missing exp', () => provider.sign({ exp: undefined }), 'missing required claim'],
    ];
    for (const [label, mint, description] of invalidTokens) {
      it(`answers 401 invalid_token "${description}" for ${label}`, async () => {
        const strict = appFor({ issuer: provider.issuer, audience: provider.audience, algorithms: ['ES256'] });
        const reply = await request(strict, '/messages', { headers: bearer(await mint()) });
        expect(reply.status).to.equal(401);
        expect(reply.headers['www-authenticate']).to.equal(`Bearer realm="api", error="invalid_token", error_description="${description}"`);
        expect(reply.text).to.equal(description);
      });
    }

    it('answers 503 with Retry-After, not invalid_token, when the key source is unreachable', async () => {
      const issuer = uniqueIssuer();
      nock(issuer).get('/.well-known/openid-configuration').replyWithError({ code: 'ECONNRESET' });
      const down = appFor({ issuer, audience: provider.audience });
      const reply = await request(down, '/messages', { headers: bearer(await provider.sign({ iss: issuer })) });
      expect(reply.status).to.equal(503);
      expect(Number(reply.headers['retry-after'])).to.be.within(1, 30);
      expect(reply.headers['www-authenticate']).to.equal(undefined);
      expect(reply.text).to.equal('token verification is temporarily unavailable');
    });

    it('never echoes the token, claims or a stack trace in a refusal', async () => {
      const token = await provider.sign({ aud: 'https://private-audience.example.com', sub: 'private-subject' });
      const reply = await request(app, '/messages', { headers: bearer(token) });
      const everything = JSON.stringify(reply.headers) + reply.text;
      for (const secret of [token, token.split('.')[1]!, 'private-audience', 'private-subject', ' at ']) {
        expect(everything).not.to.include(secret);
      }
    });
  });

  describe('token locations', () => {
    it('ignores the query parameter unless allowQueryToken is set', async () => {
      const token = await provider.sign();
      expect((await request(app, `/messages?access_token=${token}`)).status).to.equal(401);
      const queryApp = appFor({ issuer: provider.issuer, audience: provider.audience, allowQueryToken: true });
      expect((await request(queryApp, `/messages?access_token=${token}`)).status).to.equal(200);
    });

    it('answers 400 invalid_request when the header and the query both carry a token', async () => {
      const token = await provider.sign();
      const queryApp = appFor({ issuer: provider.issuer, audience: provider.audience, allowQueryToken: true });
      const reply = await request(queryApp, `/messages?access_token=${token}`, { headers: bearer(token) });
      expect(reply.status).to.equal(400);
      expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api", error="invalid_request", error_description="token sent by more than one method"');
    });

    it('answers 400 invalid_request for a repeated access_token query parameter', async () => {
      const token = await provider.sign();
      const queryApp = appFor({ issuer: provider.issuer, audience: provider.audience, allowQueryToken: true });
      const reply = await request(queryApp, `/messages?access_token=${token}&access_token=${token}`);
      expect(reply.status).to.equal(400);
    });

    it('reads a form-encoded body token when allowBodyToken is set and a body parser ran', async () => {
      const token = await provider.sign();
      const bodyApp = new Koa();
      bodyApp.silent = true;
      bodyApp.use(async (ctx, next) => {
        // Stand-in for a body parser: RFC 6750 2.2 needs only the form's access_token.
        const raw = await new Promise<string>((resolve) => {
          let data = '';
          ctx.req.on('data', (c: Buffer) => (data += c.toString()));
          ctx.req.on('end', () => resolve(data));
        });
        (ctx.request as { body?: unknown }).body = Object.fromEntries(new URLSearchParams(raw));
        await next();
      });
      bodyApp.use(authenticate({ issuer: provider.issuer, audience: provider.audience, allowBodyToken: true }));
      bodyApp.use((ctx) => {
        ctx.body = 'ok';
      });
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      expect((await request(bodyApp, '/', { method: 'POST', headers: form, body: `access_token=${token}` })).status).to.equal(200);
      const both = await request(bodyApp, '/', { method: 'POST', headers: { ...form, ...bearer(token) }, body: `access_token=${token}` });
      expect(both.status).to.equal(400);
      // RFC 6750 2.2: never from a GET, never from a JSON body.
      expect((await request(bodyApp, '/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: `access_token=${token}` })).status).to.equal(401);
    });

    it('uses a custom getToken instead of the RFC 6750 methods', async () => {
      const token = await provider.sign();
      const cookieApp = appFor({
        issuer: provider.issuer,
        audience: provider.audience,
        getToken: (ctx) => Promise.resolve(ctx.cookies.get('at')),
      });
      expect((await request(cookieApp, '/messages', { headers: { cookie: `at=${token}` } })).status).to.equal(200);
      expect((await request(cookieApp, '/messages')).status).to.equal(401);
    });
  });

  describe('optional mode', () => {
    it('passes a request without credentials with ctx.state.user undefined', async () => {
      const optional = appFor({ issuer: provider.issuer, audience: provider.audience, optional: true });
      const reply = await request(optional, '/messages');
      expect(reply.status).to.equal(200);
      expect(reply.json()).to.deep.equal({ sub: null, scopes: null });
    });

    it('still refuses bad credentials', async () => {
      const optional = appFor({ issuer: provider.issuer, audience: provider.audience, optional: true });
      const reply = await request(optional, '/messages', { headers: bearer(await provider.sign({ exp: 1 })) });
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.include('error="invalid_token"');
      expect((await request(optional, '/messages', { headers: { authorization: 'Bearer' } })).status).to.equal(400);
    });
  });

  it('verifies an Auth0-shaped token (typ JWT, aud array with userinfo) with only issuer and audience set', async () => {
    const auth0 = await fakeProvider({ algs: ['RS256'], audience: 'https://api.example.com' });
    const token = await auth0.sign({
      aud: ['https://api.example.com', `${auth0.issuer}userinfo`],
      sub: 'auth0|64f1c2',
      azp: 'Xq3sSclientid',
      scope: 'openid profile read:messages',
      permissions: ['read:messages'],
    }, { header: { typ: 'JWT' } });
    const auth0App = appFor({ issuer: auth0.issuer, audience: 'https://api.example.com' });
    const reply = await request(auth0App, '/messages', { headers: bearer(token) });
    expect(reply.status).to.equal(200);
    expect(reply.json()).to.deep.equal({ sub: 'auth0|64f1c2', scopes: ['openid', 'profile', 'read:messages'] });
  });
});
