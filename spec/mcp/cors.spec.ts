// CORS for browser MCP clients (Fetch standard, CORS protocol): serveMcp's `cors` middleware answers a
// preflight before authenticate() (preflights carry no credentials), and every answer to an allowed
// origin, refusals included, lets the browser read it (WWW-Authenticate, DPoP-Nonce exposed).
import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import { McpServer } from '@modelcontextprotocol/server';
import { authenticate, ConfigurationError, type AuthState, type TokenGuardEvent } from '../../lib/index.js';
import { serveMcp } from '../../lib/mcp/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { bearer, request } from '../support/http.js';

const resource = 'http://127.0.0.1/mcp';
const ORIGIN = 'https://app.example.com';
const REQUESTED = 'authorization, dpop, mcp-method, mcp-name, mcp-param-region, mcp-protocol-version, content-type, last-event-id';
const ACCEPT = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hello', arguments: {} } });

describe('mcp/serveMcp: CORS for browser clients', function () {
  this.timeout(10_000);
  let issuer: TestIssuer;
  let events: TokenGuardEvent[];
  let made: number;

  before(async () => {
    issuer = await createTestIssuer({ audience: resource });
  });
  after(() => issuer.close());
  beforeEach(() => {
    events = [];
    made = 0;
  });

  function app(): Koa<AuthState> {
    const koa = new Koa<AuthState>();
    koa.silent = true;
    const mcp = serveMcp(() => {
      made++;
      const server = new McpServer({ name: 'messages', version: '1.0.0' });
      server.registerTool('hello', {}, () => ({ content: [{ type: 'text', text: 'hello' }] }));
      return server;
    }, { cors: { origins: [ORIGIN] } });
    const router = new Router<AuthState>();
    router.all('/mcp', mcp.cors, authenticate({ issuer: issuer.issuer, audience: resource, onEvent: (e) => events.push(e) }), mcp);
    koa.use(router.routes());
    return koa;
  }

  const preflight = (origin: string, headers = REQUESTED): Record<string, string> => ({
    origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers,
  });

  it('answers a preflight from a configured origin 204 before authenticate(), allowing the MCP and DPoP headers', async () => {
    const reply = await request(app(), '/mcp', { method: 'OPTIONS', headers: preflight(ORIGIN) });
    expect(reply.status).to.equal(204);
    expect(reply.headers['access-control-allow-origin']).to.equal(ORIGIN);
    expect(reply.headers['access-control-allow-methods']).to.equal('GET, POST, DELETE');
    expect(reply.headers['access-control-allow-headers']).to.equal(REQUESTED);
    expect(reply.headers['access-control-max-age']).to.equal('600');
    expect(reply.headers.vary).to.include('Origin');
    expect(reply.headers['www-authenticate']).to.equal(undefined);
    expect([events.length, made]).to.deep.equal([0, 0]);
  });

  it('leaves out of Access-Control-Allow-Headers a requested header it does not allow', async () => {
    const reply = await request(app(), '/mcp', { method: 'OPTIONS', headers: preflight(ORIGIN, 'authorization, x-evil, cookie') });
    expect([reply.status, reply.headers['access-control-allow-headers']]).to.deep.equal([204, 'authorization']);
  });

  it('refuses a preflight from any other origin 403 without CORS headers', async () => {
    for (const origin of ['https://evil.example.com', 'http://app.example.com', 'null']) {
      const reply = await request(app(), '/mcp', { method: 'OPTIONS', headers: preflight(origin) });
      expect([reply.status, reply.headers['access-control-allow-origin'], reply.headers['access-control-allow-headers']]).to.deep.equal([403, undefined, undefined]);
    }
    expect([events.length, made]).to.deep.equal([0, 0]);
  });

  it('still needs a token for everything else: an OPTIONS without the preflight header and a POST get our 401, readable by the allowed origin', async () => {
    for (const method of ['OPTIONS', 'POST']) {
      const reply = await request(app(), '/mcp', { method, headers: { origin: ORIGIN, ...ACCEPT }, ...(method === 'POST' ? { body: call } : {}) });
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api"');
      expect(reply.headers['access-control-allow-origin']).to.equal(ORIGIN);
      expect(reply.headers['access-control-expose-headers']).to.equal('WWW-Authenticate, DPoP-Nonce');
    }
    expect([events.length, made]).to.deep.equal([2, 0]);
  });

  it('lets the allowed origin read a served answer, and gives another origin no CORS headers', async () => {
    const token = await issuer.sign({ scope: 'messages:read' });
    const allowed = await request(app(), '/mcp', { method: 'POST', headers: { origin: ORIGIN, ...ACCEPT, ...bearer(token) }, body: call });
    expect([allowed.status, allowed.headers['access-control-allow-origin'], allowed.headers['access-control-expose-headers']]).to.deep.equal([200, ORIGIN, 'WWW-Authenticate, DPoP-Nonce']);
    const other = await request(app(), '/mcp', { method: 'POST', headers: { origin: 'https://evil.example.com', ...ACCEPT, ...bearer(token) }, body: call });
    expect([other.headers['access-control-allow-origin'], other.headers['access-control-expose-headers']]).to.deep.equal([undefined, undefined]);
  });

  it('passes every request through when no cors option is set', async () => {
    const mcp = serveMcp(() => new McpServer({ name: 'x', version: '1.0.0' }));
    const koa = new Koa<AuthState>();
    koa.silent = true;
    koa.use(mcp.cors);
    koa.use(authenticate({ issuer: issuer.issuer, audience: resource }));
    const reply = await request(koa, '/mcp', { method: 'OPTIONS', headers: preflight(ORIGIN) });
    expect([reply.status, reply.headers['access-control-allow-origin']]).to.deep.equal([401, undefined]);
  });

  it('refuses bad cors options at startup with how to fix them', () => {
    const factory = (): McpServer => new McpServer({ name: 'x', version: '1.0.0' });
    for (const origins of [[], ['*'], ['https://app.example.com/'], ['app.example.com'], 'https://app.example.com']) {
      expect(() => serveMcp(factory, { cors: { origins: origins as string[] } }), String(origins)).to.throw(ConfigurationError, '`cors.origins` must be');
    }
    expect(() => serveMcp(factory, { cors: { origins: [ORIGIN], maxAge: -1 } })).to.throw(ConfigurationError, '`cors.maxAge` must be');
  });
});
