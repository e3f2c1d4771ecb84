import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import { authenticate, describeRoutes, requireClaim, type AuthState } from '../../lib/index.js';
import { bearer, request, type Reply } from '../support/http.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { refuseStrayNetwork } from './support.js';

// OWASP API Security Top 10 (2023) API1: broken object level authorization. A tenant's token must not
// reach another tenant's resources by changing the tenant in the path.
describe('security: tenant isolation through requireClaim and the route params (OWASP API1:2023)', () => {
  let provider: FakeProvider;
  let app: Koa<AuthState>;
  let router: Router<AuthState>;
  let runs: string[];

  beforeEach(async () => {
    provider = await fakeProvider();
    runs = [];
    app = new Koa<AuthState>();
    app.silent = true;
    router = new Router<AuthState>();
    router.use(authenticate({ issuer: provider.issuer, audience: provider.audience }));
    const sameTenant = requireClaim('org_id', (org, _claims, ctx) => org === ctx.params.orgId, { description: 'the tenant in the path' });
    // On the route, and at router level for every route under a tenant's path.
    router.get('/orgs/:orgId/messages', sameTenant, (ctx) => {
      runs.push(`messages ${ctx.params.orgId}`);
      ctx.body = { org: ctx.params.orgId };
    });
    router.use('/orgs/:orgId/files', sameTenant);
    router.get('/orgs/:orgId/files/:file', (ctx) => {
      runs.push(`file ${ctx.params.orgId}`);
      ctx.body = { org: ctx.params.orgId };
    });
    app.use(router.routes());
  });
  refuseStrayNetwork();

  const get = async (path: string, claims: Record<string, unknown>): Promise<Reply> =>
    request(app, path, { headers: bearer(await provider.sign(claims)) });

  function expectRefused(reply: Reply, secrets: string[]): void {
    expect(reply.status).to.equal(403);
    expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api", error="insufficient_scope", error_description="org_id claim not accepted for this resource"');
    for (const secret of secrets) expect(JSON.stringify(reply.headers) + reply.text).not.to.include(secret);
  }

  it('lets a token of tenant A read tenant A\'s resources', async () => {
    expect((await get('/orgs/tenant-a/messages', { org_id: 'tenant-a' })).status).to.equal(200);
    expect((await get('/orgs/tenant-a/files/report', { org_id: 'tenant-a' })).status).to.equal(200);
    expect(runs).to.deep.equal(['messages tenant-a', 'file tenant-a']);
  });

  it('refuses a token of tenant A on tenant B\'s paths with 403, leaking nothing of its claim, and runs no handler', async () => {
    expectRefused(await get('/orgs/tenant-b/messages', { org_id: 'tenant-a-secret' }), ['tenant-a-secret']);
    expectRefused(await get('/orgs/tenant-b/files/report', { org_id: 'tenant-a-secret' }), ['tenant-a-secret']);
    expect(runs).to.deep.equal([]);
  });

  it('refuses claim values that only look like the tenant: an array, another case, a number, a prefix', async () => {
    for (const org of [['tenant-b'], 'TENANT-B', 'tenant-b ', 'tenant', 7]) {
      expectRefused(await get(org === 7 ? '/orgs/7/messages' : '/orgs/tenant-b/messages', { org_id: org }), []);
    }
    expect(runs).to.deep.equal([]);
  });

  it('refuses a token without the claim, or with it null, without calling the predicate', async () => {
    expectRefused(await get('/orgs/tenant-b/messages', {}), []);
    expectRefused(await get('/orgs/tenant-b/messages', { org_id: null }), []);
  });

  it('compares with the decoded path parameter, so an encoded path reaches only the same tenant', async () => {
    expect((await get('/orgs/tenant-%61/messages', { org_id: 'tenant-a' })).status).to.equal(200);
    expectRefused(await get('/orgs/tenant-%62/messages', { org_id: 'tenant-a' }), []);
    expectRefused(await get('/orgs/tenant-a%2F..%2Ftenant-b/messages', { org_id: 'tenant-a' }), []);
  });

  it('shows the requirement in describeRoutes by its description, as before', () => {
    expect(describeRoutes(router).map((r) => [r.path, r.requirements])).to.deep.equal([
      ['/orgs/:orgId/messages', [{ kind: 'claim', claim: 'org_id', expected: 'the tenant in the path' }]],
      ['/orgs/:orgId/files/:file', [{ kind: 'claim', claim: 'org_id', expected: 'the tenant in the path' }]],
    ]);
  });
});
