import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import nock from 'nock';
import {
  authenticate, ConfigurationError, fetchUserInfo, protectedResourceMetadata, requireClaim, requireScopes, type AuthState,
} from '../../lib/index.js';
import { bearer, request } from '../support/http.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';

const AS = 'https://auth.example.com/';
const RESOURCE = 'https://api.example.com/mcp-metadata-spec';
const METADATA_URL = 'https://api.example.com/.well-known/oauth-protected-resource/mcp-metadata-spec';

function metadataApp(): { app: Koa; downstream: () => number } {
  const app = new Koa();
  app.silent = true;
  let downstream = 0;
  app.use(protectedResourceMetadata({ resource: RESOURCE, authorizationServers: [AS], scopesSupported: ['messages:read'], cacheMaxAge: 600 }));
  app.use((ctx) => {
    downstream++;
    ctx.status = 418;
  });
  return { app, downstream: () => downstream };
}

describe('koa/protectedResourceMetadata (RFC 9728 3)', () => {
  const expected = { resource: RESOURCE, authorization_servers: [AS], scopes_supported: ['messages:read'], bearer_methods_supported: ['header'] };

  it('serves the document at the path-suffixed URL and at the root, as JSON, cacheable, readable from any origin', async () => {
    const { app, downstream } = metadataApp();
    for (const path of ['/.well-known/oauth-protected-resource/mcp-metadata-spec', '/.well-known/oauth-protected-resource']) {
      const reply = await request(app, path, { headers: { origin: 'https://client.example.org' } });
      expect(reply.status, path).to.equal(200);
      expect(reply.headers['content-type']).to.equal('application/json; charset=utf-8');
      expect(reply.headers['cache-control']).to.equal('public, max-age=600');
      expect(reply.headers['access-control-allow-origin']).to.equal('*');
      expect(reply.json()).to.deep.equal(expected);
    }
    expect(downstream()).to.equal(0);
  });

  it('answers HEAD with the headers and no body', async () => {
    const reply = await request(metadataApp().app, '/.well-known/oauth-protected-resource/mcp-metadata-spec', { method: 'HEAD' });
    expect([reply.status, reply.text, reply.headers['content-type'], reply.headers['content-length']])
      .to.deep.equal([200, '', 'application/json; charset=utf-8', String(JSON.stringify(expected).length)]);
  });

  it('answers other methods 405 with Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const reply = await request(metadataApp().app, '/.well-known/oauth-protected-resource', { method });
      expect([reply.status, reply.headers.allow], method).to.deep.equal([405, 'GET, HEAD, OPTIONS']);
    }
  });

  it('answers the CORS preflight of a browser MCP client', async () => {
    const reply = await request(metadataApp().app, '/.well-known/oauth-protected-resource/mcp-metadata-spec', {
      method: 'OPTIONS',
      headers: { origin: 'https://client.example.org', 'access-control-request-method': 'GET', 'access-control-request-headers': 'mcp-protocol-version, authorization' },
    });
    expect(reply.status).to.equal(204);
    expect(reply.headers).to.deep.include({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET, HEAD, OPTIONS',
      'access-control-allow-headers': 'mcp-protocol-version, authorization',
      'access-control-max-age': '86400',
      vary: 'Access-Control-Request-Headers',
    });
    const odd = await request(metadataApp().app, '/.well-known/oauth-protected-resource', {
      method: 'OPTIONS', headers: { origin: 'https://client.example.org', 'access-control-request-method': 'GET', 'access-control-request-headers': 'a\tb;c' },
    });
    expect(odd.headers['access-control-allow-headers']).to.equal('Authorization, MCP-Protocol-Version, Content-Type');
  });

  it('lets every other path through to next()', async () => {
    const { app, downstream } = metadataApp();
    for (const path of ['/', '/mcp', '/.well-known/oauth-protected-resource/other', '/.well-known/oauth-authorization-server']) {
      expect((await request(app, path)).status, path).to.equal(418);
    }
    expect(downstream()).to.equal(4);
  });

  it('serves the root path once for a pathless resource', async () => {
    const app = new Koa();
    app.use(protectedResourceMetadata({ resource: 'https://root.example.com/', authorizationServers: AS }));
    const reply = await request(app, '/.well-known/oauth-protected-resource');
    expect([reply.status, (reply.json() as { resource: string }).resource]).to.deep.equal([200, 'https://root.example.com/']);
  });

  it('serves several resources of one app, each at its own URL, the root by the first mounted', async () => {
    const app = new Koa();
    app.use(protectedResourceMetadata({ resource: 'https://api.example.com/one', authorizationServers: AS }));
    app.use(protectedResourceMetadata({ resource: 'https://api.example.com/two', authorizationServers: AS }));
    const resourceAt = async (path: string): Promise<string> => (((await request(app, path)).json()) as { resource: string }).resource;
    expect(await resourceAt('/.well-known/oauth-protected-resource/one')).to.equal('https://api.example.com/one');
    expect(await resourceAt('/.well-known/oauth-protected-resource/two')).to.equal('https://api.example.com/two');
    expect(await resourceAt('/.well-known/oauth-protected-resource')).to.equal('https://api.example.com/one');
  });

  it('publishes what an authenticate() created after it enforces, even after a first request', async () => {
    const resource = 'https://api.example.com/mcp-late-authenticate';
    const app = new Koa();
    app.use(protectedResourceMetadata({ resource, authorizationServers: [AS] }));
    const methods = async (): Promise<string[]> =>
      ((await request(app, '/.well-known/oauth-protected-resource/mcp-late-authenticate')).json() as { bearer_methods_supported: string[] }).bearer_methods_supported;
    expect(await methods()).to.deep.equal(['header']);
    app.use(authenticate({ issuer: 'https://late.example.com/', jwksUri: 'https://late.example.com/jwks', audience: resource, allowQueryToken: true }));
    expect(await methods()).to.deep.equal(['header', 'query']);
  });
});

describe('koa/authenticate resourceMetadata (RFC 9728 5.1)', () => {
  let provider: FakeProvider;
  beforeEach(async () => {
    provider = await fakeProvider({ audience: RESOURCE });
  });
  afterEach(() => nock.cleanAll());

  function appWith(resourceMetadata: boolean | string): Koa<AuthState> {
    const app = new Koa<AuthState>();
    app.silent = true;
    const router = new Router<AuthState>();
    router.get('/messages', requireScopes('messages:read'), (ctx) => {
      ctx.body = 'ok';
    });
    router.get('/owner', requireClaim('role', 'owner'), (ctx) => {
      ctx.body = 'ok';
    });
    router.get('/userinfo', async (ctx) => {
      ctx.body = await fetchUserInfo(ctx);
    });
    app.use(protectedResourceMetadata({ resource: RESOURCE, authorizationServers: [AS] }));
    app.use(authenticate({ issuer: provider.issuer, audience: provider.audience, resourceMetadata }));
    app.use(router.routes());
    return app;
  }

  it('names the metadata in the bare 401 when no token came', async () => {
    const reply = await request(appWith(true), '/messages');
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, `Bearer realm="api", resource_metadata="${METADATA_URL}"`]);
  });

  it('names it in a 401 invalid_token', async () => {
    const reply = await request(appWith(true), '/messages', { headers: bearer(await provider.sign({ aud: 'https://other.example.com' })) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([
      401, `Bearer realm="api", error="invalid_token", error_description="token audience not accepted", resource_metadata="${METADATA_URL}"`,
    ]);
  });

  it("names it in a guard's 403 insufficient_scope, after the scope", async () => {
    const reply = await request(appWith(true), '/messages', { headers: bearer(await provider.sign({ scope: 'other' })) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([
      403, `Bearer realm="api", error="insufficient_scope", error_description="requires scope messages:read", scope="messages:read", resource_metadata="${METADATA_URL}"`,
    ]);
    const claim = await request(appWith(true), '/owner', { headers: bearer(await provider.sign({ role: 'guest' })) });
    expect(claim.headers['www-authenticate']).to.equal(`Bearer realm="api", error="insufficient_scope", error_description="role claim not accepted for this resource", resource_metadata="${METADATA_URL}"`);
  });

  it('names it in a refusal of fetchUserInfo(ctx)', async () => {
    const userinfo = new URL(`${provider.issuer.replace(/\/+$/, '')}/userinfo`);
    nock(userinfo.origin).get(userinfo.pathname).reply(401, '', { 'www-authenticate': 'Bearer error="invalid_token"' });
    const reply = await request(appWith(true), '/userinfo', { headers: bearer(await provider.sign()) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([
      401, `Bearer realm="api", error="invalid_token", error_description="token not accepted by the identity provider", resource_metadata="${METADATA_URL}"`,
    ]);
  });

  it('names it in the refusal of resolveUser', async () => {
    const app = new Koa();
    app.silent = true;
    app.use(authenticate({ issuer: provider.issuer, audience: provider.audience, resourceMetadata: true, resolveUser: () => null }));
    const reply = await request(app, '/', { headers: bearer(await provider.sign()) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([
      401, `Bearer realm="api", error="invalid_token", error_description="unknown user", resource_metadata="${METADATA_URL}"`,
    ]);
  });

  it('uses an explicit URL as given', async () => {
    const url = 'https://meta.example.com/.well-known/oauth-protected-resource/mcp';
    const reply = await request(appWith(url), '/messages');
    expect(reply.headers['www-authenticate']).to.equal(`Bearer realm="api", resource_metadata="${url}"`);
  });

  it('leaves challenges as they were when off', async () => {
    const reply = await request(appWith(false), '/messages');
    expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api"');
  });

  it('refuses at startup what cannot name one metadata URL', () => {
    const base = { issuer: provider.issuer, resourceMetadata: true };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...base, audience: [RESOURCE, 'https://two.example.com'] }, /needs exactly one `audience`/],
      [{ ...base, audience: 'urn:example:api' }, /must be an https URL/],
      [{ ...base, audience: 'https://api.example.com/#x' }, /must not contain a fragment/],
      [{ issuer: provider.issuer, audience: RESOURCE, resourceMetadata: 'http://meta.example.com/x' }, /must be an https URL/],
      [{ issuer: provider.issuer, audience: RESOURCE, resourceMetadata: 'yes' }, /must be an absolute URL/],
    ];
    for (const [options, message] of cases) {
      expect(() => authenticate(options as unknown as Parameters<typeof authenticate>[0])).to.throw(ConfigurationError, message);
    }
  });
});
