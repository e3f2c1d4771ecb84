// toolGuard(): this library's guards as a tool's scopeChallenge, every refusal rendered by this library.
import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import {
  authenticate, ConfigurationError, defineScopes, requireAuthLevel, requireClaim, requireScopes, type AuthState, type Guard,
} from '../../lib/index.js';
import { serveMcp, toolGuard } from '../../lib/mcp/index.js';
import { createDpopKey, createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { bearer, request } from '../support/http.js';

const resource = 'http://127.0.0.1/mcp';
const metadata = 'http://127.0.0.1/.well-known/oauth-protected-resource/mcp';
const ACCEPT = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const call = (name: string): string => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } });
const scopes = defineScopes({ 'messages:admin': ['messages:read'], 'messages:read': [], 'messages:write': [] });

describe('mcp/toolGuard', function () {
  this.timeout(10_000);
  let issuer: TestIssuer;
  let ran: string[];

  before(async () => {
    issuer = await createTestIssuer({ audience: resource, claims: { tenant: 'acme' } });
  });
  after(() => issuer.close());
  beforeEach(() => {
    ran = [];
  });

  const tools: Record<string, () => Guard[]> = {
    read: () => [scopes.requireScopes('messages:read')],
    write_both: () => [scopes.requireScopes('messages:read'), scopes.requireScopes('messages:write')],
    purge: () => [scopes.requireScopes('messages:read'), requireAuthLevel({ acr: 'mfa', maxAge: 300 })],
    acme: () => [requireClaim('tenant', 'acme')],
  };

  function app(options: { dpop?: boolean } = {}): Koa<AuthState> {
    const koa = new Koa<AuthState>();
    koa.silent = true;
    koa.use(authenticate({ issuer: issuer.issuer, audience: resource, resourceMetadata: true, ...(options.dpop === true ? { dpop: {} } : {}) }));
    const router = new Router<AuthState>();
    router.all('/mcp', serveMcp(() => {
      const mcp = new McpServer({ name: 'messages', version: '1.0.0' });
      for (const [name, guards] of Object.entries(tools)) {
        mcp.registerTool(name, { scopeChallenge: toolGuard(...guards()) }, () => {
          ran.push(name);
          return { content: [] };
        });
      }
      return mcp;
    }));
    koa.use(router.routes());
    return koa;
  }

  async function callAs(tool: string, claims: Record<string, unknown>): Promise<{ status: number; challenge: string | undefined }> {
    const token = await issuer.sign(claims);
    const reply = await request(app(), '/mcp', { method: 'POST', headers: { ...ACCEPT, ...bearer(token) }, body: call(tool) });
    return { status: reply.status, challenge: reply.headers['www-authenticate'] };
  }

  it('answers a missing scope with our 403 (realm, resource_metadata), and the tool never runs', async () => {
    expect(await callAs('read', { scope: 'messages:write' })).to.deep.equal({
      status: 403,
      challenge: `Bearer realm="api", error="insufficient_scope", error_description="requires scope messages:read", scope="messages:read", resource_metadata="${metadata}"`,
    });
    expect(ran).to.deep.equal([]);
  });

  it('lists every scope the call needs in one 403', async () => {
    const { status, challenge } = await callAs('write_both', { scope: 'openid' });
    expect([status, challenge]).to.deep.equal([403, `Bearer realm="api", error="insufficient_scope", error_description="requires all of the scopes: messages:read, messages:write", `
      + `scope="messages:read messages:write", resource_metadata="${metadata}"`]);
  });

  it('passes a token whose scope implies the needed one (defineScopes), where the SDK matches exactly', async () => {
    expect((await callAs('read', { scope: 'messages:admin' })).status).to.equal(200);
    expect(ran).to.deep.equal(['read']);
  });

  it('asks for a step-up with acr_values and max_age for an auth level (RFC 9470)', async () => {
    expect(await callAs('purge', { scope: 'messages:read', acr: 'pwd', auth_time: Math.floor(Date.now() / 1000) })).to.deep.equal({
      status: 401,
      challenge: `Bearer realm="api", error="insufficient_user_authentication", error_description="authentication level not sufficient", `
        + `acr_values="mfa", max_age="300", resource_metadata="${metadata}"`,
    });
    expect(ran).to.deep.equal([]);
  });

  it("refuses another tenant's token with a claim guard", async () => {
    expect((await callAs('acme', { tenant: 'globex' })).status).to.equal(403);
    expect((await callAs('acme', {})).status).to.equal(200);
    expect(ran).to.deep.equal(['acme']);
  });

  it('answers a DPoP request with a DPoP challenge and its algs (RFC 9449 7.1)', async () => {
    const key = await createDpopKey();
    const token = await issuer.sign({ scope: 'messages:write' }, { dpopKey: key });
    const url = 'http://127.0.0.1/mcp';
    const koa = app({ dpop: true });
    const reply = await request(koa, '/mcp', {
      method: 'POST',
      headers: { ...ACCEPT, host: '127.0.0.1', authorization: `DPoP ${token}`, dpop: await key.proof({ method: 'POST', url, accessToken: token }) },
      body: call('read'),
    });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([403, `DPoP error="insufficient_scope", error_description="requires scope messages:read", `
      + `scope="messages:read", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519", resource_metadata="${metadata}"`]);
    expect(ran).to.deep.equal([]);
  });

  it('refuses to be built without guards, saying how', () => {
    expect(() => toolGuard()).to.throw(ConfigurationError, "toolGuard() takes this library's guards");
    expect(() => toolGuard((() => undefined) as unknown as Guard)).to.throw(ConfigurationError, "toolGuard() takes this library's guards");
    expect(() => toolGuard(requireScopes('a'))).not.to.throw();
  });

  it('never lets a tool run when not served by serveMcp() (the SDK answers 500)', async () => {
    const handler = createMcpHandler(() => {
      const mcp = new McpServer({ name: 'messages', version: '1.0.0' });
      mcp.registerTool('read', { scopeChallenge: toolGuard(scopes.requireScopes('messages:read')) }, () => {
        ran.push('read');
        return { content: [] };
      });
      return mcp;
    }, { onerror: () => {} });
    const reply = await handler.fetch(new Request(resource, { method: 'POST', headers: ACCEPT, body: call('read') }));
    expect([reply.status, ran]).to.deep.equal([500, []]);
  });
});
