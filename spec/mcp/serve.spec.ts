// serveMcp(): the SDK v2 handler mounted on Koa, spoken to with raw HTTP (2025 JSON-RPC, the stateless fallback).
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { McpServer, type McpRequestContext } from '@modelcontextprotocol/server';
import { authenticate, ConfigurationError, GuardOrderError, type AuthState } from '../../lib/index.js';
import { serveMcp, type ServeMcpOptions } from '../../lib/mcp/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { bearer, request } from '../support/http.js';

const resource = 'http://127.0.0.1/mcp';
const ACCEPT = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const call = (name: string, id = 1): string => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });

describe('mcp/serveMcp', function () {
  this.timeout(10_000);
  let issuer: TestIssuer;
  let token: string;
  let seen: McpRequestContext[];
  let signals: AbortSignal[];

  before(async () => {
    issuer = await createTestIssuer({ audience: resource });
    token = await issuer.sign({ scope: 'messages:read' });
  });
  after(() => issuer.close());
  beforeEach(() => {
    seen = [];
    signals = [];
  });

  function factory(context: McpRequestContext): McpServer {
    seen.push(context);
    const mcp = new McpServer({ name: 'messages', version: '1.0.0' });
    mcp.registerTool('hello', {}, () => ({ content: [{ type: 'text', text: 'hello' }] }));
    mcp.registerTool('slow', {}, async (ctx) => {
      signals.push(ctx.mcpReq.signal);
      await new Promise((resolve) => ctx.mcpReq.signal.addEventListener('abort', resolve));
      return { content: [] };
    });
    return mcp;
  }

  function appWith(options: ServeMcpOptions = {}, before?: Koa.Middleware<AuthState>, auth = true): Koa<AuthState> {
    const app = new Koa<AuthState>();
    app.silent = true;
    if (before !== undefined) app.use(before);
    if (auth) app.use(authenticate({ issuer: issuer.issuer, audience: resource, resourceMetadata: true }));
    const router = new Router<AuthState>();
    router.all('/mcp', serveMcp(factory, options));
    app.use(router.routes());
    return app;
  }

  it('serves a tool call and hands the factory and the tool mcpAuthInfo(ctx), resourceMetadataUrl included', async () => {
    const reply = await request(appWith(), '/mcp', { method: 'POST', headers: { ...ACCEPT, ...bearer(token) }, body: call('hello') });
    expect(reply.status).to.equal(200);
    expect(reply.text).to.include('"text":"hello"');
    expect(seen.map((c) => [c.era, c.authInfo?.token, c.authInfo?.scopes, c.authInfo?.resourceMetadataUrl])).to.deep.equal([
      ['legacy', token, ['messages:read'], 'http://127.0.0.1/.well-known/oauth-protected-resource/mcp'],
    ]);
  });

  it('builds the request URL as Koa sees it, proxy headers included when app.proxy is on', async () => {
    const app = appWith();
    app.proxy = true;
    await request(app, '/mcp?x=1', { method: 'POST', headers: { ...ACCEPT, ...bearer(token), 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' }, body: call('hello') });
    expect(seen[0]?.requestInfo?.url).to.equal('https://api.example.com/mcp?x=1');
    await request(appWith(), '/mcp', { method: 'POST', headers: { ...ACCEPT, ...bearer(token), 'x-forwarded-proto': 'https', host: 'mcp.local:8080' }, body: call('hello') });
    expect(seen[1]?.requestInfo?.url).to.equal('http://mcp.local:8080/mcp');
  });

  it('takes the body a body parser already read', async () => {
    const parser: Koa.Middleware<AuthState> = async (ctx, next) => {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      (ctx.request as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      await next();
    };
    const reply = await request(appWith({}, parser), '/mcp', { method: 'POST', headers: { ...ACCEPT, ...bearer(token) }, body: call('hello') });
    expect([reply.status, reply.text.includes('"text":"hello"')]).to.deep.equal([200, true]);
  });

  it('keeps a 202 without a body a 202 without a body (a notification)', async () => {
    const reply = await request(appWith(), '/mcp', {
      method: 'POST', headers: { ...ACCEPT, ...bearer(token) }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    expect([reply.status, reply.text, reply.headers['content-type']]).to.deep.equal([202, '', undefined]);
  });

  it('answers 413 for a body over maxRequestBodySize, before any server is made', async () => {
    const reply = await request(appWith({ maxRequestBodySize: 64 }), '/mcp', {
      method: 'POST', headers: { ...ACCEPT, ...bearer(token) }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hello', arguments: { pad: 'x'.repeat(100) } } }),
    });
    expect([reply.status, seen.length]).to.deep.equal([413, 0]);
  });

  it('passes legacy through: reject serves no 2025 request', async () => {
    const reply = await request(appWith({ legacy: 'reject' }), '/mcp', { method: 'POST', headers: { ...ACCEPT, ...bearer(token) }, body: call('hello') });
    expect(reply.status).to.be.within(400, 499);
    expect(seen.filter((c) => c.era === 'legacy')).to.deep.equal([]);
  });

  it('aborts a 2026-07-28 exchange (answered as one JSON body) when the client goes away', async () => {
    const app = appWith();
    const server = http.createServer(app.callback() as http.RequestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const gone = new AbortController();
    // The connection drops (undici aborts the request) once the slow tool runs: not a JSON-RPC cancellation.
    const dropping = (url: string | URL, init?: RequestInit): Promise<Response> =>
      fetch(url, typeof init?.body === 'string' && init.body.includes('"slow"') ? { ...init, signal: gone.signal } : init);
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`), { fetch: dropping, requestInit: { headers: bearer(token) } });
    const client = new Client({ name: 'spec', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    try {
      await client.connect(transport);
      const called = client.callTool({ name: 'slow', arguments: {} }).catch(() => undefined);
      while (signals.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect([seen.at(-1)?.era, signals[0]!.aborted]).to.deep.equal(['modern', false]);
      gone.abort();
      for (let i = 0; i < 200 && !signals[0]!.aborted; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(signals[0]!.aborted).to.equal(true);
      await called;
    } finally {
      await client.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('aborts a 2025 exchange when the client goes away', async () => {
    const app = appWith();
    const server = http.createServer(app.callback() as http.RequestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const req = http.request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/mcp', method: 'POST', headers: { ...ACCEPT, ...bearer(token) } });
      req.on('error', () => {});
      req.end(call('slow'));
      while (signals.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(signals[0]!.aborted).to.equal(false);
      req.destroy();
      for (let i = 0; i < 200 && !signals[0]!.aborted; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(signals[0]!.aborted).to.equal(true);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('needs authenticate() before it: GuardOrderError, and the SDK never runs', async () => {
    let thrown: unknown;
    const catcher: Koa.Middleware<AuthState> = async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        thrown = error;
        ctx.status = 500;
      }
    };
    const reply = await request(appWith({}, catcher, false), '/mcp', { method: 'POST', headers: ACCEPT, body: call('hello') });
    expect([reply.status, seen.length]).to.deep.equal([500, 0]);
    expect(thrown).to.be.instanceOf(GuardOrderError);
    expect((thrown as Error).message).to.equal('koa-token-guard: authenticate() must run before serveMcp(); mount authenticate() on the app or router ahead of the guard.');
  });

  it('refuses bad options at startup with how to fix them', () => {
    expect(() => serveMcp(factory, { legacy: 'sessions' as 'reject' })).to.throw(ConfigurationError, "`legacy` must be 'stateless'");
    expect(() => serveMcp(factory, { maxRequestBodySize: 0 })).to.throw(ConfigurationError, '`maxRequestBodySize` must be a positive whole number');
    expect(() => serveMcp(factory, { maxRequestBodySize: 1.5 })).to.throw(ConfigurationError, '`maxRequestBodySize` must be a positive whole number');
    expect(() => serveMcp(factory, { endStreamsAtExpiry: 'yes' as unknown as boolean })).to.throw(ConfigurationError, '`endStreamsAtExpiry` must be true');
  });

  it('exposes the handler notify and close()', async () => {
    const middleware = serveMcp(factory);
    expect(typeof middleware.notify.toolsChanged).to.equal('function');
    middleware.notify.toolsChanged(); // no stream open: a no-op
    await middleware.close();
  });
});
