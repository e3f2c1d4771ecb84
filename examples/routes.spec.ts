// The spec a team keeps so that nobody adds a route without deciding who may call it.
import { expect } from 'chai';
import { describeRoutes, openApiSecurity, scopesOf } from 'koa-token-guard';
import { createRouter, scopes } from './app.js';
import { uniqueIssuer } from '../spec/support/provider.js';
import { expectValid, generatedDocument, merge } from '../spec/openapi/support.js';

describe('example: every route is guarded or explicitly public', () => {
  // Building the router starts no network activity: key sets are fetched on the first request.
  const routes = describeRoutes(createRouter({ issuer: uniqueIssuer(), audience: 'https://api.example.com' }));

  it('has no unguarded route', () => {
    expect(routes.filter((r) => r.access === 'unguarded').map((r) => `${r.method} ${r.path}`)).to.deep.equal([]);
  });

  it('lists each route with its requirements', () => {
    const admin = { kind: 'scopes', scopes: ['admin'], match: 'all' };
    expect(routes).to.deep.equal([
      { method: 'GET', path: '/health', access: 'public', requirements: [] },
      { method: 'GET', path: '/me', access: 'guarded', requirements: [{ kind: 'token' }] },
      { method: 'GET', path: '/messages', access: 'guarded', requirements: [{ kind: 'scopes', scopes: ['read:messages'], match: 'all' }] },
      { method: 'POST', path: '/messages', access: 'guarded', requirements: [{ kind: 'scopes', scopes: ['write:messages'], match: 'all' }] },
      { method: 'DELETE', path: '/messages/:id', access: 'guarded', requirements: [{ kind: 'anyOf', requirements: [admin, { kind: 'claim', claim: 'role', expected: '"owner"' }] }] },
      { method: 'GET', path: '/admin/stats', access: 'guarded', requirements: [admin] },
    ]);
  });

  it('uses only declared scopes', () => {
    const used = scopesOf(routes.flatMap((r) => r.requirements));
    expect(used).to.have.members([...scopes.names]);
    expect(used.filter((s) => !scopes.has(s))).to.deep.equal([]);
  });

  it('publishes the same requirements as OpenAPI security, valid once merged into a generated document', async () => {
    const fragment = openApiSecurity(routes, { scheme: 'bearer' });
    expect(fragment.paths['/messages/{id}']).to.deep.equal({
      delete: { security: [{ bearerAuth: ['admin'] }, { bearerAuth: [] }], 'x-koa-token-guard': { requirements: routes[4]!.requirements } },
    });
    const document = generatedDocument({ '/health': ['get'], '/me': ['get'], '/messages': ['get', 'post'], '/messages/{id}': ['delete'], '/admin/stats': ['get'] });
    await expectValid(merge(document, fragment));
  });
});
