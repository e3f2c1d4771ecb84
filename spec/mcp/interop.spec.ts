// Real MCP clients against serveMcp() on loopback, for what the library must not let through: a header
// that disagrees with the body, a token for another resource, and the v1 client on the 2025 fallback.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/server';
import { authenticate, defineScopes, type AuthState } from '../../lib/index.js';
import { serveMcp, toolGuard } from '../../lib/mcp/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { bearer } from '../support/http.js';

const scopes = defineScopes({ 'messages:admin': ['messages:read'], 'messages:read': [] });

describe('mcp/interop (real clients against serveMcp)', function () {
  this.timeout(20_000);
  let issuer: TestIssuer;
  let server: http.Server;
  let resource: string;
  let statuses: number[] = [];
  let ran: string[] = [];
  let methods: string[] = [];

  before(async () => {
    server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    resource = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    issuer = await createTestIssuer({ audience: resource });
    const app = new Koa<AuthState>();
    app.silent = true;
    app.use(async (ctx, next) => {
      try {
        await next();
        statuses.push(ctx.status);
        methods.push(`${ctx.method} ${ctx.status}`);
      } catch (error) {
        statuses.push((error as { status: number }).status);
        throw error;
      }
    });
    app.use(authenticate({ issuer: issuer.issuer, audience: resource, resourceMetadata: true }));
    const router = new Router<AuthState>();
    router.all('/mcp', serveMcp(() => {
      const mcp = new McpServer({ name: 'messages', version: '1.0.0' });
      for (const name of ['read_messages', 'delete_messages']) {
        mcp.registerTool(name, { scopeChallenge: toolGuard(scopes.requireScopes('messages:read')) }, () => {
          ran.push(name);
          return { content: [{ type: 'text', text: name }] };
        });
      }
      return mcp;
    }));
    app.use(router.routes());
    const handle = app.callback();
    server.on('request', (req, res) => void handle(req, res));
  });

  beforeEach(() => {
    statuses = [];
    methods = [];
    ran = [];
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await issuer.close();
  });

  it('answers an Mcp-Name header that disagrees with params.name 400 with JSON-RPC -32020, and the tool never runs', async () => {
    const token = await issuer.sign({ scope: 'messages:read' });
    let answer: { status: number; body: string } | undefined;
    // The v2 client sets Mcp-Name from params.name; a proxy (or attacker) rewrites it on the way.
    const rewriting = async (url: string | URL, init?: RequestInit): Promise<Response> => {
      const headers = new Headers(init?.headers);
      if (headers.get('mcp-method') !== 'tools/call') return fetch(url, init);
      headers.set('mcp-name', 'read_messages');
      const response = await fetch(url, { ...init, headers });
      answer = { status: response.status, body: await response.clone().text() };
      return response;
    };
    const transport = new StreamableHTTPClientTransport(new URL(resource), { fetch: rewriting, requestInit: { headers: bearer(token) } });
    const client = new Client({ name: 'spec', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    try {
      await client.connect(transport);
      const outcome = await client.callTool({ name: 'delete_messages', arguments: {} }).then(() => 'resolved', (error: unknown) => error);
      expect(outcome).to.be.instanceOf(Error);
    } finally {
      await client.close();
    }
    expect(answer?.status).to.equal(400);
    expect((JSON.parse(answer!.body) as { error: { code: number } }).error.code).to.equal(-32020);
    expect(ran).to.deep.equal([]);
  });

  it('answers a token issued for another resource 401 invalid_token, and no tool runs', async () => {
    const token = await issuer.sign({ scope: 'messages:read', aud: 'https://other.example.com/mcp' });
    const response = await fetch(resource, {
      method: 'POST',
      headers: { ...bearer(token), accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'read_messages', arguments: {} } }),
    });
    await response.body?.cancel();
    expect(response.status).to.equal(401);
    expect(response.headers.get('www-authenticate')).to.match(/^Bearer realm="api", error="invalid_token", /);
    const transport = new StreamableHTTPClientTransport(new URL(resource), { requestInit: { headers: bearer(token) } });
    const client = new Client({ name: 'spec', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    const connected = await client.connect(transport).then(() => 'connected', (error: unknown) => error);
    await client.close();
    expect(connected).to.be.instanceOf(Error);
    expect(statuses).to.deep.equal([401, 401]);
    expect(ran).to.deep.equal([]);
  });

  it('lists and calls tools with the v1 client (@modelcontextprotocol/sdk 1.x) through the 2025 fallback', async () => {
    const token = await issuer.sign({ scope: 'messages:admin' }); // implies messages:read
    const client = new V1Client({ name: 'spec-v1', version: '1.0.0' });
    await client.connect(new V1Transport(new URL(resource), { requestInit: { headers: bearer(token) } }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).to.have.members(['read_messages', 'delete_messages']);
      expect(await client.callTool({ name: 'read_messages', arguments: {} })).to.have.deep.property('content', [{ type: 'text', text: 'read_messages' }]);
    } finally {
      await client.close();
    }
    expect(ran).to.deep.equal(['read_messages']);
    // The 2025 GET stream is gone from the stateless fallback: 405, which the v1 client takes as "no stream".
    expect(methods.filter((m) => !m.endsWith(' 200') && !m.endsWith(' 202'))).to.deep.equal(['GET 405']);
  });
});
