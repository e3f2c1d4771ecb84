// The MCP authorization flow end to end with the real MCP SDK v2 client (not our code, protocol 2026-07-28)
// against the Koa MCP server of ./app.ts, and oidc-provider on loopback as the authorization server (RFC 8707
// resource indicators, RFC 9068 JWT access tokens): 401 → RFC 9728 metadata → authorization server metadata →
// client-credentials token for our resource → tools listed and called → our 403 → step-up to messages:admin.
import { expect } from 'chai';
import type http from 'node:http';
import { Client, ClientCredentialsProvider, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpApp } from './app.js';
import { clientCredentialsServer, listen, type Listening } from '../../spec/support/client-credentials-server.js';

const CLIENT = { clientId: 'mcp-agent', clientSecret: 'a-long-enough-client-secret-for-the-mcp-spec' };
const OTHER_RESOURCE = 'https://other.example.com/api';

interface Exchange { method: string; url: string; status: number; challenge: string | null }

describe('example: a Koa MCP server (SDK v2) with the MCP SDK v2 client and oidc-provider', function () {
  this.timeout(20_000);
  let as: Listening;
  let mcp: Listening;
  let resource: string;
  let exchanges: Exchange[];

  // Every request the SDK client makes, to the MCP server and to the authorization server.
  const recordingFetch: typeof fetch = async (input, init) => {
    const reply = await fetch(input, init);
    const url = input instanceof Request ? input.url : String(input);
    exchanges.push({ method: init?.method ?? (input instanceof Request ? input.method : 'GET'), url, status: reply.status, challenge: reply.headers.get('www-authenticate') });
    return reply;
  };

  function sdkClient(): { client: Client; transport: StreamableHTTPClientTransport } {
    // The v2 client asks for the 401's scope first (our challengeScope), and for the union with a 403's scope on a step-up.
    const authProvider = new ClientCredentialsProvider({ ...CLIENT, expectedIssuer: as.origin });
    const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider, fetch: recordingFetch });
    return { client: new Client({ name: 'spec-agent', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } }), transport };
  }

  async function tokenFor(target: string, scope: string): Promise<string> {
    const reply = await fetch(`${as.origin}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource: target }),
    });
    const body = (await reply.json()) as { access_token?: string };
    if (body.access_token === undefined) throw new Error(`token endpoint answered ${reply.status}`);
    return body.access_token;
  }

  before(async () => {
    let koaHandler: http.RequestListener = (_req, res) => res.end();
    mcp = await listen((req, res) => koaHandler(req, res));
    resource = `${mcp.origin}/mcp`;
    // The agent may have messages:admin, but gets it only when it asks for it (a client-credentials token
    // carries the scopes requested).
    as = await clientCredentialsServer({ client: CLIENT, scope: 'messages:read messages:write messages:admin', defaultResource: () => OTHER_RESOURCE });
    const app = createMcpApp({ issuer: as.origin, resource });
    app.silent = true;
    const koaCallback = app.callback();
    koaHandler = (req, res) => void koaCallback(req, res);
  });
  beforeEach(() => {
    exchanges = [];
  });
  after(async () => {
    await Promise.all([mcp.close(), as.close()]);
  });

  it('discovers the authorization server from the 401, gets a token for this resource, lists tools and calls one', async () => {
    const { client, transport } = sdkClient();
    await client.connect(transport);
    try {
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).to.deep.equal(['whoami', 'list_messages', 'post_message', 'purge_messages']);
      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      expect(JSON.parse((whoami.content as { text: string }[])[0]!.text)).to.deep.equal({ clientId: CLIENT.clientId, scopes: ['messages:read', 'messages:write'], resource });
      await client.callTool({ name: 'post_message', arguments: { text: 'hello' } });
      const listed = await client.callTool({ name: 'list_messages', arguments: {} });
      expect((listed.content as { text: string }[])[0]!.text).to.equal('["hello"]');
    } finally {
      await client.close();
    }
    const metadataUrl = `${mcp.origin}/.well-known/oauth-protected-resource/mcp`;
    const flow = exchanges.map((e) => `${e.method} ${e.url.replace(mcp.origin, 'MCP').replace(as.origin, 'AS')} ${e.status}`);
    expect(flow.slice(0, flow.indexOf('POST AS/token 200') + 2)).to.deep.equal([
      'POST MCP/mcp 401',
      'GET MCP/.well-known/oauth-protected-resource/mcp 200',
      'GET AS/.well-known/oauth-authorization-server 404',
      'GET AS/.well-known/openid-configuration 200',
      'POST AS/token 200',
      'POST MCP/mcp 200',
    ]);
    expect(exchanges[0]!.challenge).to.equal(`Bearer realm="api", scope="messages:read messages:write", resource_metadata="${metadataUrl}"`);
    expect(flow.filter((f) => f.startsWith('POST AS/token'))).to.have.length(1);
    expect(flow.filter((f) => f.startsWith('POST MCP') && !f.endsWith(' 200') && !f.endsWith(' 202'))).to.deep.equal(['POST MCP/mcp 401']);
  });

  it('publishes metadata the SDK can use: this resource, the authorization server, the scopes', async () => {
    const reply = await fetch(`${mcp.origin}/.well-known/oauth-protected-resource/mcp`);
    expect(await reply.json()).to.deep.equal({
      resource,
      authorization_servers: [as.origin],
      scopes_supported: ['messages:read', 'messages:write', 'messages:admin'],
      bearer_methods_supported: ['header'],
      resource_name: 'Messages MCP server',
    });
  });

  it('answers a tool call needing a scope the token lacks with our 403 insufficient_scope, and the client steps up to it', async () => {
    const { client, transport } = sdkClient();
    await client.connect(transport);
    try {
      expect(await client.callTool({ name: 'purge_messages', arguments: {} })).to.have.deep.property('content', [{ type: 'text', text: 'purged' }]);
      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      expect(JSON.parse((whoami.content as { text: string }[])[0]!.text)).to.have.deep.property('scopes', ['messages:read', 'messages:write', 'messages:admin']);
    } finally {
      await client.close();
    }
    const refusals = exchanges.filter((e) => e.status === 403);
    expect(refusals.map((e) => e.challenge)).to.deep.equal([
      `Bearer realm="api", error="insufficient_scope", error_description="requires scope messages:admin", scope="messages:admin", resource_metadata="${mcp.origin}/.well-known/oauth-protected-resource/mcp"`,
    ]);
    // One token for the 401's scope, one for the union with the 403's.
    expect(exchanges.filter((e) => e.url === `${as.origin}/token`)).to.have.length(2);
  });

  it('refuses a token the same provider issued for another resource with 401 invalid_token (no token passthrough)', async () => {
    const token = await tokenFor(OTHER_RESOURCE, 'messages:read');
    const reply = await fetch(resource, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect([reply.status, reply.headers.get('www-authenticate')]).to.deep.equal([
      401, `Bearer realm="api", error="invalid_token", error_description="token audience not accepted", scope="messages:read messages:write", resource_metadata="${mcp.origin}/.well-known/oauth-protected-resource/mcp"`,
    ]);
  });

  it('needs a token to list tools', async () => {
    const reply = await fetch(resource, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect([reply.status, reply.headers.get('www-authenticate')]).to.deep.equal([401, `Bearer realm="api", scope="messages:read messages:write", resource_metadata="${mcp.origin}/.well-known/oauth-protected-resource/mcp"`]);
  });
});
