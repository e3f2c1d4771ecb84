import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import nock from 'nock';
import { anyOf, authenticate, describeRoutes, publicRoute, requireClaim, requireScopes, type AuthState } from '../../lib/index.js';
import { bearer, request } from '../support/http.js';
import { fakeProvider } from '../support/provider.js';

const scopes = (...list: string[]) => ({ kind: 'scopes', scopes: list, match: 'all' });
const ok = (ctx: Koa.Context): void => {
  ctx.body = 'ok';
};

describe('guards/describeRoutes', () => {
  afterEach(() => nock.cleanAll());

  it('lists route-level guards with method and path, GET without its implicit HEAD', () => {
    const router = new Router();
    router.get('/messages', requireScopes('read:messages'), ok);
    router.post('/messages', requireScopes('write:messages'), ok);
    router.head('/ping', publicRoute(), ok);
    expect(describeRoutes(router)).to.deep.equal([
      { method: 'GET', path: '/messages', access: 'guarded', requirements: [scopes('read:messages')] },
      { method: 'POST', path: '/messages', access: 'guarded', requirements: [scopes('write:messages')] },
      { method: 'HEAD', path: '/ping', access: 'public', requirements: [] },
    ]);
  });

  it('reports a route without any guard as unguarded, and one marked publicRoute() as public', () => {
    const router = new Router();
    router.get('/health', publicRoute(), ok);
    router.get('users', '/users/:id', ok);
    expect(describeRoutes(router)).to.deep.equal([
      { method: 'GET', path: '/health', access: 'public', requirements: [] },
      { method: 'GET', path: '/users/:id', name: 'users', access: 'unguarded', requirements: [] },
    ]);
  });

  it('adds router-level guards mounted before the route, ahead of the route\'s own', () => {
    const router = new Router({ prefix: '/v1' });
    router.get('/early', ok);
    router.use(requireScopes('api'));
    router.get('/late', requireClaim('role', 'owner'), ok);
    expect(describeRoutes(router).map((r) => [r.path, r.access, r.requirements])).to.deep.equal([
      // Router middleware registered after a route runs after its handler: it does not guard it.
      ['/v1/early', 'unguarded', []],
      ['/v1/late', 'guarded', [scopes('api'), { kind: 'claim', claim: 'role', expected: '"owner"' }]],
    ]);
  });

  it('applies a path-scoped router guard only to routes under that path', () => {
    const router = new Router();
    router.use('/admin', requireScopes('admin'));
    router.get('/admin/users/:id', ok);
    router.get('/administrators', ok);
    router.get('/messages', ok);
    expect(describeRoutes(router).map((r) => [r.path, r.access])).to.deep.equal([
      ['/admin/users/:id', 'guarded'],
      ['/administrators', 'unguarded'],
      ['/messages', 'unguarded'],
    ]);
  });

  it('walks nested routers, two deep, with their prefixes and router-level guards', () => {
    const reports = new Router();
    reports.get('/daily', ok);
    const admin = new Router();
    admin.use(anyOf(requireScopes('admin'), requireClaim('role', 'owner')));
    admin.get('/stats', ok);
    admin.use('/reports', requireScopes('reports:read'), reports.routes());
    const api = new Router({ prefix: '/api' });
    api.use(requireScopes('api'));
    api.get('/messages', ok);
    api.use('/admin', admin.routes());
    const adminRequirement = { kind: 'anyOf', requirements: [scopes('admin'), { kind: 'claim', claim: 'role', expected: '"owner"' }] };
    expect(describeRoutes(api)).to.deep.equal([
      { method: 'GET', path: '/api/messages', access: 'guarded', requirements: [scopes('api')] },
      { method: 'GET', path: '/api/admin/stats', access: 'guarded', requirements: [scopes('api'), adminRequirement] },
      { method: 'GET', path: '/api/admin/reports/daily', access: 'guarded', requirements: [scopes('api'), adminRequirement, scopes('reports:read')] },
    ]);
  });

  it('accepts the middleware of router.routes() as well as the router', () => {
    const router = new Router();
    router.get('/a', requireScopes('a'), ok);
    expect(describeRoutes(router.routes())).to.deep.equal(describeRoutes(router));
  });

  it('counts only match-all router guards for a RegExp route', () => {
    const router = new Router();
    router.use(requireScopes('api'));
    router.use('/files', requireScopes('files'));
    router.get(/^\/files\/.*/, ok);
    expect(describeRoutes(router)).to.deep.equal([
      { method: 'GET', path: '/^\\/files\\/.*/', access: 'guarded', requirements: [scopes('api')] },
    ]);
  });

  it('counts no router-level guard on an exclusive router, which runs only the route\'s own layer', async () => {
    const provider = await fakeProvider();
    const router = new Router<AuthState>({ exclusive: true });
    router.use(authenticate({ issuer: provider.issuer, audience: provider.audience }));
    router.use(requireScopes('admin'));
    router.get('/stats', ok);
    router.get('/own', requireScopes('admin'), ok);
    expect(describeRoutes(router).map((r) => [r.path, r.access])).to.deep.equal([['/stats', 'unguarded'], ['/own', 'guarded']]);
    const app = new Koa<AuthState>();
    app.use(router.routes());
    // What the router really does: the router-level guard never runs.
    expect((await request(app, '/stats')).status).to.equal(200);
  });

  it('lists a route once per method, for router.all() too', () => {
    const router = new Router();
    router.all('/any', requireScopes('a'), ok);
    const routes = describeRoutes(router);
    expect(routes.map((r) => r.method)).to.include.members(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).and.not.include('HEAD');
    expect(routes.every((r) => r.path === '/any' && r.access === 'guarded')).to.equal(true);
  });

  it('agrees with what the router enforces', async () => {
    const provider = await fakeProvider();
    const app = new Koa<AuthState>();
    app.silent = true;
    const admin = new Router<AuthState>();
    admin.use(requireScopes('admin'));
    admin.get('/stats', ok);
    const api = new Router<AuthState>();
    api.use(authenticate({ issuer: provider.issuer, audience: provider.audience }));
    api.get('/open', publicRoute(), ok);
    api.use('/admin', admin.routes());
    app.use(api.routes());
    const token = bearer(await provider.sign({ scope: 'read:messages' }));
    for (const route of describeRoutes(api)) {
      const reply = await request(app, route.path, { method: route.method, headers: token });
      expect(reply.status, route.path).to.equal(route.access === 'guarded' ? 403 : 200);
    }
  });
});
