import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import nock from 'nock';
import {
  anyOf, authenticate, GuardOrderError, publicRoute, requireAudience, requireClaim, requireScopes, type AuthState, type Guard,
} from '../../lib/index.js';
import { isGuard } from '../../lib/guards/guard.js';
import { bearer, request } from '../support/http.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { authenticatedContext, guardedApp, insufficient } from './support.js';

describe('guards/guard', () => {
  let provider: FakeProvider;
  beforeEach(async () => {
    provider = await fakeProvider();
  });
  afterEach(() => nock.cleanAll());

  describe('without authenticate()', () => {
    const guards: Array<[string, () => Guard]> = [
      ['requireScopes', () => requireScopes('read:messages')],
      ['requireAudience', () => requireAudience('https://api.example.com')],
      ['requireClaim', () => requireClaim('role', 'owner')],
      ['anyOf', () => anyOf(requireScopes('read:messages'), requireClaim('role', 'owner'))],
    ];
    for (const [name, make] of guards) {
      it(`answers 500 and reports "authenticate() must run before ${name}()", never passing`, async () => {
        const app = new Koa<AuthState>();
        app.silent = true;
        const reported: unknown[] = [];
        app.on('error', (error: unknown) => reported.push(error));
        let runs = 0;
        app.use(make());
        app.use((ctx) => {
          runs++;
          ctx.body = 'secret';
        });
        const reply = await request(app, '/', { headers: bearer(await provider.sign()) });
        expect(reply.status).to.equal(500);
        expect(reply.text).to.equal('Internal Server Error');
        expect(reply.headers['www-authenticate']).to.equal(undefined);
        expect(runs).to.equal(0);
        expect(reported).to.have.length(1);
        const error = reported[0] as GuardOrderError;
        expect(error).to.be.instanceOf(GuardOrderError);
        expect(error).to.include({ status: 500, expose: false, code: 'authenticate_missing' });
        expect(error.message).to.include(`authenticate() must run before ${name}()`);
      });
    }

    it('answers 500 when authenticate() is mounted after the guard', async () => {
      const app = new Koa<AuthState>();
      app.silent = true;
      app.use(requireScopes('read:messages'));
      app.use(authenticate({ issuer: provider.issuer, audience: provider.audience }));
      app.use((ctx) => {
        ctx.body = 'secret';
      });
      expect((await request(app, '/', { headers: bearer(await provider.sign()) })).status).to.equal(500);
    });

    it('logs through Koa\'s default error handler', async () => {
      const app = new Koa<AuthState>();
      const logged: unknown[][] = [];
      const original = console.error;
      console.error = (...args: unknown[]) => logged.push(args);
      try {
        app.use(requireScopes('read:messages'));
        expect((await request(app, '/')).status).to.equal(500);
      } finally {
        console.error = original;
      }
      expect(logged.flat().map(String).join('\n')).to.include('authenticate() must run before requireScopes()');
    });

    it('throws from check() rather than reporting a refusal', () => {
      expect(() => requireScopes('a').check({ state: {} })).to.throw(GuardOrderError);
    });
  });

  describe('with authenticate({ optional: true })', () => {
    const guards: Array<[string, () => Guard]> = [
      ['requireScopes', () => requireScopes('read:messages')],
      ['requireAudience', () => requireAudience(provider.audience)],
      ['requireClaim', () => requireClaim('sub', 'user-1')],
      ['anyOf', () => anyOf(requireScopes('read:messages'), requireClaim('sub', 'user-1'))],
    ];
    for (const [name, make] of guards) {
      it(`answers a request without credentials with 401 and the bare challenge (${name})`, async () => {
        const app = guardedApp(provider, [make()], { optional: true, realm: 'messages' });
        const reply = await app.get();
        expect(reply.status).to.equal(401);
        expect(reply.headers['www-authenticate']).to.equal('Bearer realm="messages"');
        expect(app.runs()).to.equal(0);
      });

      it(`passes a request with a good token (${name})`, async () => {
        const app = guardedApp(provider, [make()], { optional: true });
        expect((await app.get(await provider.sign())).status).to.equal(200);
      });
    }
  });

  describe('on routers', () => {
    function apiWithAdminRouter(): Koa<AuthState> {
      const app = new Koa<AuthState>();
      app.silent = true;
      const admin = new Router<AuthState>();
      admin.use(requireScopes('admin'));
      admin.get('/stats', (ctx) => {
        ctx.body = 'stats';
      });
      admin.delete('/messages/:id', (ctx) => {
        ctx.status = 204;
      });
      const api = new Router<AuthState>();
      api.use(authenticate({ issuer: provider.issuer, audience: provider.audience }));
      api.get('/messages', requireScopes('read:messages'), (ctx) => {
        ctx.body = 'messages';
      });
      api.use('/admin', admin.routes());
      app.use(api.routes());
      return app;
    }

    it('protects every route of a nested router with its router-level guard', async () => {
      const app = apiWithAdminRouter();
      const reader = bearer(await provider.sign({ scope: 'read:messages' }));
      for (const [method, path] of [['GET', '/admin/stats'], ['DELETE', '/admin/messages/1']] as const) {
        const reply = await request(app, path, { method, headers: reader });
        expect(reply.status, path).to.equal(403);
        expect(reply.headers['www-authenticate']).to.equal(insufficient('requires scope admin', 'admin'));
      }
      const adminToken = bearer(await provider.sign({ scope: 'admin' }));
      expect((await request(app, '/admin/stats', { headers: adminToken })).status).to.equal(200);
      expect((await request(app, '/admin/messages/1', { method: 'DELETE', headers: adminToken })).status).to.equal(204);
    });

    it('leaves sibling routes of the parent router to their own guards', async () => {
      const app = apiWithAdminRouter();
      expect((await request(app, '/messages', { headers: bearer(await provider.sign({ scope: 'read:messages' })) })).status).to.equal(200);
      expect((await request(app, '/messages', { headers: bearer(await provider.sign({ scope: 'admin' })) })).status).to.equal(403);
    });

    it('protects every route of a router with a router-level guard', async () => {
      const app = new Koa<AuthState>();
      app.silent = true;
      const router = new Router<AuthState>();
      router.use(authenticate({ issuer: provider.issuer, audience: provider.audience }), requireScopes('read:messages'));
      router.get('/a', (ctx) => {
        ctx.body = 'a';
      });
      router.post('/b', (ctx) => {
        ctx.body = 'b';
      });
      app.use(router.routes());
      const none = bearer(await provider.sign({ scope: 'profile' }));
      expect((await request(app, '/a', { headers: none })).status).to.equal(403);
      expect((await request(app, '/b', { method: 'POST', headers: none })).status).to.equal(403);
      expect((await request(app, '/a', { headers: bearer(await provider.sign()) })).status).to.equal(200);
    });
  });

  it('reads the token, not ctx.state.user, when resolveUser replaced the user', async () => {
    const app = guardedApp(provider, [requireScopes('read:messages'), requireClaim('role', 'owner')], {
      resolveUser: (() => ({ id: 7, role: 'member', scope: 'admin' })) as never,
    });
    expect((await app.get(await provider.sign({ scope: 'read:messages', role: 'owner' }))).status).to.equal(200);
    expect((await app.get(await provider.sign({ scope: 'profile', role: 'owner' }))).status).to.equal(403);
    expect((await app.get(await provider.sign({ scope: 'read:messages', role: 'member' }))).status).to.equal(403);
  });

  describe('publicRoute()', () => {
    it('lets every request through, even without authenticate()', async () => {
      const app = new Koa();
      app.use(publicRoute());
      app.use((ctx) => {
        ctx.body = 'ok';
      });
      expect((await request(app, '/')).status).to.equal(200);
      expect(isGuard(publicRoute())).to.equal(false);
    });
  });

  it('gives check() and the middleware the same answer', async () => {
    const guard = requireScopes('write:messages');
    const ctx = authenticatedContext({}, ['read:messages'], 'messages');
    const failure = guard.check(ctx);
    let thrown: unknown;
    let ran = false;
    await guard(ctx as never, () => {
      ran = true;
      return Promise.resolve();
    }).catch((error: unknown) => {
      thrown = error;
    });
    expect(ran).to.equal(false);
    expect(thrown).to.deep.equal(failure);
    expect((thrown as { headers: Record<string, string> }).headers).to.deep.equal({
      'WWW-Authenticate': insufficient('requires scope write:messages', 'write:messages', 'messages'),
    });
  });
});
