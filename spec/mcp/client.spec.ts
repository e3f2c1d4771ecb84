// The MCP SDK's own v2 client against serveMcp() on loopback, the test kit as its authorization server:
// discovery, client credentials, a tool call, our 403 and the client's automatic step-up.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { Client, ClientCredentialsProvider, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { authenticate, defineScopes, protectedResourceMetadata, type AuthState } from '../../lib/index.js';
import { serveMcp, toolGuard } from '../../lib/mcp/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';

const scopes = defineScopes({ 'messages:admin': ['messages:read'], 'messages:read': [] });

// One line per request the MCP server saw: method, path, Mcp-Method header, status, challenge.
type Exchange = string;

describe('mcp/client (the SDK v2 client against serveMcp)', function () {
  this.timeout(20_000);
  let issuer: TestIssuer;
  let server: http.Server;
  let resource: string;
  let seen: Exchange[] = [];
  let ran: string[] = [];

  before(async () => {
    issuer = await createTestIssuer({ clients: [{ clientId: 'agent', clientSecret: 'agent-secret', scope: 'messages:read messages:admin' }] });
    server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    resource = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    const app = new Koa<AuthState>();
    app.use(async (ctx, next) => {
      const line = `${ctx.method} ${ctx.path} ${ctx.get('Mcp-Method') || '-'}`;
      try {
        await next();
        seen.push(`${line} ${ctx.status}`);
      } catch (error) {
        const { status, headers } = error as { status: number; headers: Record<string, string> };
        seen.push(`${line} ${status} ${headers['WWW-Authenticate']}`);
        throw error;
      }
    });
    app.use(protectedResourceMetadata({ resource, authorizationServers: issuer.issuer, scopesSupported: ['messages:read', 'messages:admin'] }));
    // challengeScope: the client's first token asks for messages:read only, not everything scopes_supported lists.
    app.use(authenticate({ issuer: issuer.issuer, audience: resource, resourceMetadata: true, challengeScope: ['messages:read'] }));
    const router = new Router<AuthState>();
    router.all('/mcp', serveMcp(() => {
      const mcp = new McpServer({ name: 'messages', version: '1.0.0' });
      mcp.registerTool('read_messages', { scopeChallenge: toolGuard(scopes.requireScopes('messages:read')) }, () => {
        ran.push('read_messages');
        return { content: [{ type: 'text', text: 'hello' }] };
      });
      mcp.registerTool('purge_messages', { scopeChallenge: toolGuard(scopes.requireScopes('messages:admin')) }, () => {
        ran.push('purge_messages');
        return { content: [{ type: 'text', text: 'purged' }] };
      });
      return mcp;
    }));
    app.use(router.routes());
    const handle = app.callback();
    server.on('request', (req, res) => void handle(req, res));
    // authenticate() reads the issuer's discovery and keys now, so the counts below are the client's alone.
    const warm = await fetch(resource, { method: 'POST', headers: { authorization: `Bearer ${await issuer.sign({ aud: resource })}`, 'content-type': 'application/json' }, body: '{}' });
    await warm.body?.cancel();
  });

  beforeEach(() => {
    seen = [];
    ran = [];
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await issuer.close();
  });

  function connect(mode: 'auto' | 'legacy'): { client: Client; transport: StreamableHTTPClientTransport } {
    const provider = new ClientCredentialsProvider({ clientId: 'agent', clientSecret: 'agent-secret', expectedIssuer: issuer.issuer });
    const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
    const client = new Client({ name: 'spec', version: '1.0.0' }, { versionNegotiation: { mode } });
    return { client, transport };
  }

  it('lists and calls tools through the 2025 initialize handshake (legacy mode, the stateless fallback)', async () => {
    const { client, transport } = connect('legacy');
    await client.connect(transport);
    expect((await client.listTools()).tools.map((t) => t.name)).to.have.members(['read_messages', 'purge_messages']);
    expect(await client.callTool({ name: 'read_messages', arguments: {} })).to.have.deep.property('content', [{ type: 'text', text: 'hello' }]);
    expect(await client.callTool({ name: 'purge_messages', arguments: {} })).to.have.deep.property('content', [{ type: 'text', text: 'purged' }]);
    await client.close();
    expect(ran).to.deep.equal(['read_messages', 'purge_messages']);
    expect(seen.filter((line) => line.includes(' 403 '))).to.deep.equal([`POST /mcp - 403 Bearer realm="api", error="insufficient_scope", `
      + `error_description="requires scope messages:admin", scope="messages:admin", resource_metadata="${new URL(resource).origin}/.well-known/oauth-protected-resource/mcp"`]);
    expect(seen.filter((line) => line.startsWith('POST /mcp') && line.includes(' 5'))).to.deep.equal([]);
  });

  it('discovers, gets a token, lists and calls tools, and steps up to messages:admin on our 403 (2026-07-28)', async () => {
    const { client, transport } = connect('auto');
    const before = { discovery: issuer.requests.discovery, token: issuer.requests.token! };
    await client.connect(transport);
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).to.have.members(['read_messages', 'purge_messages']);
    expect(await client.callTool({ name: 'read_messages', arguments: {} })).to.have.deep.property('content', [{ type: 'text', text: 'hello' }]);
    expect(await client.callTool({ name: 'purge_messages', arguments: {} })).to.have.deep.property('content', [{ type: 'text', text: 'purged' }]);
    await client.close();
    expect(ran).to.deep.equal(['read_messages', 'purge_messages']);
    const metadata = `${new URL(resource).origin}/.well-known/oauth-protected-resource/mcp`;
    expect(seen).to.deep.equal([
      `POST /mcp server/discover 401 Bearer realm="api", scope="messages:read", resource_metadata="${metadata}"`,
      'GET /.well-known/oauth-protected-resource/mcp - 200',
      'POST /mcp server/discover 200',
      'POST /mcp tools/list 200',
      'POST /mcp tools/call 200',
      `POST /mcp tools/call 403 Bearer realm="api", error="insufficient_scope", error_description="requires scope messages:admin", scope="messages:admin", resource_metadata="${metadata}"`,
      'GET /.well-known/oauth-protected-resource/mcp - 200',
      'POST /mcp tools/call 200',
    ]);
    // The client reads the AS metadata for each authorization: a token for messages:read (the 401's scope),
    // then one for messages:read and messages:admin (the union with our 403's scope).
    expect([issuer.requests.discovery - before.discovery, issuer.requests.token! - before.token]).to.deep.equal([2, 2]);
  });
});
