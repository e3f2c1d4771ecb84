// What the MCP route requires, per tool: describeRoutes() lists each tool's (resource's, prompt's) guards
// read from serveMcp()'s factory, scopes_supported can be derived from them, and openApiSecurity() leaves
// the route out (one JSON-RPC endpoint is not a REST operation).
import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import { McpServer, ResourceTemplate, requireScopes as sdkRequireScopes, type McpServerFactory } from '@modelcontextprotocol/server';
import {
  ConfigurationError, defineScopes, describeRoutes, openApiSecurity, protectedResourceMetadata, protectedResourceMetadataDocument,
  requireAuthLevel, requireClaim, requireScopes, requireToken, type AuthState,
} from '../../lib/index.js';
import { serveMcp, toolGuard, type ServeMcpOptions } from '../../lib/mcp/index.js';
import { request } from '../support/http.js';

const resource = 'https://api.example.com/mcp';
const scopes = defineScopes({ 'messages:admin': ['messages:read'], 'messages:read': [], 'messages:write': [] });
const read = scopes.requireScopes('messages:read');
const purge = scopes.requireScopes('messages:admin');
const mfa = requireAuthLevel({ acr: 'mfa', maxAge: 300 });
const acme = requireClaim('tenant', 'acme');
const text = (): { content: [] } => ({ content: [] });

describe('mcp/serveMcp: what the route requires, per tool', function () {
  this.timeout(10_000);
  let calls: Parameters<McpServerFactory>[0][];
  beforeEach(() => {
    calls = [];
  });

  // Tools of every kind of guard, an unguarded one, one with the SDK's own scopeChallenge, a disabled one,
  // a resource, a resource template and a prompt.
  const factory: McpServerFactory = (context) => {
    calls.push(context);
    const server = new McpServer({ name: 'messages', version: '1.0.0' });
    server.registerTool('read_messages', { scopeChallenge: toolGuard(read) }, text);
    server.registerTool('purge_messages', { scopeChallenge: toolGuard(purge, mfa) }, text);
    server.registerTool('tenant_report', { scopeChallenge: toolGuard(acme) }, text);
    server.registerTool('ping', {}, text);
    server.registerTool('sdk_guarded', { scopeChallenge: sdkRequireScopes('sdk:scope') }, text);
    server.registerTool('retired', { scopeChallenge: toolGuard(requireScopes('retired:scope')) }, text).disable();
    server.registerResource('inbox', 'messages://inbox', { scopeChallenge: toolGuard(read) }, (uri) => ({ contents: [{ uri: uri.href, text: '' }] }));
    server.registerResource('message', new ResourceTemplate('messages://{id}', { list: undefined }), { scopeChallenge: toolGuard(read) }, (uri) => ({ contents: [{ uri: uri.href, text: '' }] }));
    server.registerPrompt('summarize', { scopeChallenge: toolGuard(scopes.requireScopes('messages:write')) }, () => ({ messages: [] }));
    if (context.era === 'legacy') server.registerTool('legacy_only', { scopeChallenge: toolGuard(requireScopes('legacy:scope')) }, text);
    return server;
  };

  function routerWith(options?: ServeMcpOptions, mcpFactory: McpServerFactory = factory): Router<AuthState> {
    const router = new Router<AuthState>();
    router.get('/messages', requireScopes('rest:read'), (ctx) => {
      ctx.body = [];
    });
    router.post('/mcp', serveMcp(mcpFactory, options));
    return router;
  }

  describe('describeRoutes()', () => {
    it('lists the MCP route with each tool\'s, resource\'s and prompt\'s requirements, as REST routes show theirs', () => {
      const routes = describeRoutes(routerWith());
      expect(routes.map((r) => [r.method, r.path, r.access])).to.deep.equal([['GET', '/messages', 'guarded'], ['POST', '/mcp', 'unguarded']]);
      expect(routes[0]).to.not.have.property('mcp');
      expect(routes[1]!.requirements).to.deep.equal([]);
      expect(routes[1]!.mcp).to.deep.equal([
        { kind: 'tool', name: 'read_messages', access: 'guarded', requirements: [read.requirement] },
        { kind: 'tool', name: 'purge_messages', access: 'guarded', requirements: [purge.requirement, mfa.requirement] },
        { kind: 'tool', name: 'tenant_report', access: 'guarded', requirements: [acme.requirement] },
        { kind: 'tool', name: 'ping', access: 'unguarded', requirements: [] },
        { kind: 'tool', name: 'sdk_guarded', access: 'unknown', requirements: [] },
        { kind: 'resource', name: 'inbox', uri: 'messages://inbox', access: 'guarded', requirements: [read.requirement] },
        { kind: 'resourceTemplate', name: 'message', uri: 'messages://{id}', access: 'guarded', requirements: [read.requirement] },
        { kind: 'prompt', name: 'summarize', access: 'guarded', requirements: [scopes.requireScopes('messages:write').requirement] },
        { kind: 'tool', name: 'legacy_only', access: 'guarded', requirements: [requireScopes('legacy:scope').requirement] },
      ]);
      expect(read.requirement).to.deep.include({ impliedBy: { 'messages:read': ['messages:admin'] } });
    });

    it('keeps the route\'s own guards as its requirements, beside the tools\'', () => {
      const router = new Router<AuthState>();
      router.post('/mcp', requireToken(), serveMcp(factory));
      const [route] = describeRoutes(router);
      expect([route!.access, route!.requirements, route!.mcp!.length]).to.deep.equal(['guarded', [{ kind: 'token' }], 9]);
    });

    it('runs the factory on the first description only, once per era it serves, without authInfo', () => {
      const router = routerWith();
      expect(calls).to.deep.equal([]);
      describeRoutes(router);
      describeRoutes(router);
      expect(calls).to.deep.equal([{ era: 'modern' }, { era: 'legacy' }]);
    });

    it('asks only the 2026-07-28 era with legacy: \'reject\'', () => {
      const [, route] = describeRoutes(routerWith({ legacy: 'reject' }));
      expect(calls).to.deep.equal([{ era: 'modern' }]);
      expect(route!.mcp!.map((p) => p.name)).to.not.include('legacy_only');
    });

    it('says how to fix a factory it cannot run synchronously, and one that throws', () => {
      const asynchronous = routerWith({}, () => Promise.resolve(new McpServer({ name: 'm', version: '1' })));
      expect(() => describeRoutes(asynchronous)).to.throw(ConfigurationError, /returned a Promise/);
      const cause = new Error('no tenant');
      const throwing = routerWith({}, () => {
        throw cause;
      });
      let thrown: unknown;
      try {
        describeRoutes(throwing);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(ConfigurationError).and.have.property('cause', cause);
      expect((thrown as Error).message).to.match(/without authInfo/);
    });

    it('lets a spec fail on a tool nobody guarded', () => {
      const unguarded = describeRoutes(routerWith()).flatMap((r) => r.mcp ?? []).filter((p) => p.access !== 'guarded').map((p) => p.name);
      expect(unguarded).to.deep.equal(['ping', 'sdk_guarded']);
    });
  });

  describe('scopes_supported', () => {
    it('derives from the tool guards of a router\'s MCP route, REST routes\' guards included, implying scopes too', () => {
      const document = protectedResourceMetadataDocument({ resource, authorizationServers: 'https://auth.example.com/', scopesSupported: routerWith({ legacy: 'reject' }) });
      expect(document.scopes_supported).to.deep.equal(['rest:read', 'messages:read', 'messages:admin', 'messages:write']);
    });

    it('derives from serveMcp()\'s middleware alone: its tools\' scopes, served by protectedResourceMetadata()', async () => {
      const app = new Koa();
      app.use(protectedResourceMetadata({ resource, authorizationServers: 'https://auth.example.com/', scopesSupported: serveMcp(factory) }));
      const reply = await request(app, '/.well-known/oauth-protected-resource/mcp');
      expect(reply.status).to.equal(200);
      expect((JSON.parse(reply.text) as { scopes_supported: string[] }).scopes_supported).to.deep.equal(['messages:read', 'messages:admin', 'messages:write', 'legacy:scope']);
    });
  });

  describe('openApiSecurity()', () => {
    it('leaves the MCP route out, and its tools\' scopes out of the scheme', () => {
      const router = routerWith();
      router.all('/mcp-guarded', requireScopes('route:scope'), serveMcp(factory));
      const fragment = openApiSecurity(router, { scheme: { type: 'oauth2', flows: { clientCredentials: { tokenUrl: 'https://auth.example.com/token' } } } });
      expect(Object.keys(fragment.paths)).to.deep.equal(['/messages']);
      expect(fragment.components.securitySchemes.oauth2).to.deep.equal({ type: 'oauth2', flows: { clientCredentials: { tokenUrl: 'https://auth.example.com/token', scopes: { 'rest:read': '' } } } });
      const routes = describeRoutes(router);
      expect(Object.keys(openApiSecurity(routes, { scheme: 'bearer' }).paths)).to.deep.equal(['/messages']);
    });
  });
});
