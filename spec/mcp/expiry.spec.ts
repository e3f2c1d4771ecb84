// Streams end with their token: a subscriptions/listen stream served by serveMcp() ends when the token
// that opened it expires (exp + clockTolerance), seen by the SDK's own v2 client.
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { authenticate, type AuthState, type IntrospectionOptions } from '../../lib/index.js';
import { serveMcp, type McpMiddleware, type ServeMcpOptions } from '../../lib/mcp/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';

const TOLERANCE = 1;

describe('mcp/serveMcp: streams end with their token', function () {
  this.timeout(15_000);
  let issuer: TestIssuer;
  let servers: http.Server[] = [];

  before(async () => {
    issuer = await createTestIssuer({ introspection: true });
  });
  after(() => issuer.close());
  afterEach(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    servers = [];
  });

  let signals: AbortSignal[] = [];
  beforeEach(() => {
    signals = [];
  });

  async function serve(options: ServeMcpOptions = {}, introspection?: IntrospectionOptions['cache']): Promise<{ resource: string; mcp: McpMiddleware }> {
    const server = http.createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const resource = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    const app = new Koa<AuthState>();
    app.silent = true;
    const { clientId, clientSecret } = issuer.introspection!;
    app.use(authenticate({
      issuer: issuer.issuer, audience: resource, clockTolerance: TOLERANCE,
      ...(introspection === undefined ? {} : { introspection: { clientId, clientSecret, cache: introspection } }),
    }));
    app.use(async (ctx, next) => {
      await next();
      signals.push(ctx.state.auth!.signal);
    });
    const mcp = serveMcp(() => {
      const server = new McpServer({ name: 'messages', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
      server.registerTool('hello', {}, () => ({ content: [{ type: 'text', text: 'hello' }] }));
      return server;
    }, options);
    const router = new Router<AuthState>();
    router.all('/mcp', mcp);
    app.use(router.routes());
    const handle = app.callback();
    server.on('request', (req, res) => void handle(req, res));
    return { resource, mcp };
  }

  async function connect(resource: string, token: () => string): Promise<Client> {
    const withToken = (url: string | URL, init?: RequestInit): Promise<Response> => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${token()}`);
      return fetch(url, { ...init, headers });
    };
    const client = new Client({ name: 'spec', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch: withToken }));
    return client;
  }

  it('ends a subscriptions/listen stream within a second of exp + clockTolerance, and a fresh token reopens it', async () => {
    const { resource } = await serve();
    const exp = Math.floor(Date.now() / 1000) + 2;
    let token = await issuer.sign({ aud: resource, exp });
    const client = await connect(resource, () => token);
    try {
      const subscription = await client.listen({ toolsListChanged: true });
      const how = await subscription.closed;
      const at = Date.now();
      expect(how).to.be.oneOf(['remote', 'graceful']);
      expect(at).to.be.within((exp + TOLERANCE) * 1000, (exp + TOLERANCE) * 1000 + 1000);
      token = await issuer.sign({ aud: resource, exp: Math.floor(Date.now() / 1000) + 600 });
      const reopened = await client.listen({ toolsListChanged: true });
      const state = await Promise.race([reopened.closed, new Promise((resolve) => setTimeout(() => resolve('open'), 300))]);
      expect(state).to.equal('open');
      await reopened.close();
    } finally {
      await client.close();
    }
  });

  it('ends an opaque token\'s stream within a second of its introspection verdict\'s cache expiry, long before exp; the same token reopens it after a fresh introspection', async () => {
    const { resource } = await serve({}, { ttl: 2 });
    const token = issuer.issueOpaque({ aud: resource, exp: Math.floor(Date.now() / 1000) + 3600 });
    const before = Date.now();
    const client = await connect(resource, () => token);
    const connected = Date.now();
    try {
      const subscription = await client.listen({ toolsListChanged: true });
      const how = await subscription.closed;
      const at = Date.now();
      expect(how).to.be.oneOf(['remote', 'graceful']);
      // The verdict was given between `before` and `connected`, and is trusted for 2 s.
      expect(at).to.be.within(before + 2000, connected + 3000);
      const asked = issuer.requests.introspection!;
      const reopened = await client.listen({ toolsListChanged: true });
      expect(issuer.requests.introspection).to.equal(asked + 1);
      const state = await Promise.race([reopened.closed, new Promise((resolve) => setTimeout(() => resolve('open'), 300))]);
      expect(state).to.equal('open');
      await reopened.close();
    } finally {
      await client.close();
    }
  });

  it('ends a revoked opaque token\'s stream when its verdict\'s cache expiry comes, and the token cannot reopen it', async () => {
    const { resource } = await serve({}, { ttl: 2 });
    const token = issuer.issueOpaque({ aud: resource, exp: Math.floor(Date.now() / 1000) + 3600 });
    const client = await connect(resource, () => token);
    const connected = Date.now();
    try {
      const subscription = await client.listen({ toolsListChanged: true });
      issuer.revoke(token);
      await subscription.closed;
      expect(Date.now()).to.be.below(connected + 3000);
      const reply = await fetch(resource, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      });
      expect([reply.status, reply.headers.get('www-authenticate')]).to.deep.equal([401, 'Bearer realm="api", error="invalid_token", error_description="token is not active"']);
    } finally {
      await client.close();
    }
  });

  it('keeps the stream open past exp with endStreamsAtExpiry: false (the token is checked when it opens only)', async () => {
    const { resource } = await serve({ endStreamsAtExpiry: false });
    const exp = Math.floor(Date.now() / 1000) + 1;
    const token = await issuer.sign({ aud: resource, exp });
    const client = await connect(resource, () => token);
    try {
      const subscription = await client.listen({ toolsListChanged: true });
      const wait = (exp + TOLERANCE) * 1000 + 500 - Date.now();
      const state = await Promise.race([subscription.closed, new Promise((resolve) => setTimeout(() => resolve('open'), wait))]);
      expect(state).to.equal('open');
      await subscription.close();
    } finally {
      await client.close();
    }
  });

  it('leaves no listener on a token\'s signal once its requests are answered', async () => {
    const { resource } = await serve();
    const token = await issuer.sign({ aud: resource, exp: Math.floor(Date.now() / 1000) + 600 });
    for (let id = 1; id <= 3; id++) {
      const response = await fetch(resource, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'hello', arguments: {} } }),
      });
      expect([response.status, (await response.text()).includes('"hello"')]).to.deep.equal([200, true]);
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(new Set(signals).size).to.equal(1);
    expect(getEventListeners(signals[0]!, 'abort')).to.have.length(0);
  });
});
