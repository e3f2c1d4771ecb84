// A remote MCP server on Koa with the MCP SDK v2 (protocol 2026-07-28, and 2025 clients through the SDK's
// stateless fallback), protected as the MCP authorization spec asks: RFC 9728 metadata named in every
// challenge, tokens checked for this resource (RFC 8707 audience), and per-tool guards whose refusals are
// our 403 insufficient_scope, from which the client steps up. Streams end when their token expires.
//   ISSUER=https://auth.example.com/ RESOURCE=http://localhost:3000/mcp npx tsx examples/mcp/app.ts
import Koa, { type Middleware } from 'koa';
import Router from '@koa/router';
import { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { authenticate, defineScopes, protectedResourceMetadata, type AuthState } from 'koa-token-guard';
import { serveMcp, toolGuard } from 'koa-token-guard/mcp';

// messages:admin implies messages:write, which implies messages:read: a token with a wider scope passes.
export const scopes = defineScopes({ 'messages:read': [], 'messages:write': ['messages:read'], 'messages:admin': ['messages:write'] });

function createMcpServer(messages: string[]): McpServer {
  const server = new McpServer({ name: 'messages', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who the token was issued to' }, (ctx) => {
    const authInfo = ctx.http?.authInfo;
    return { content: [{ type: 'text', text: JSON.stringify({ clientId: authInfo?.clientId, scopes: authInfo?.scopes, resource: authInfo?.resource?.href }) }] };
  });
  server.registerTool('list_messages', { description: 'List the messages', scopeChallenge: toolGuard(scopes.requireScopes('messages:read')) }, () => ({
    content: [{ type: 'text', text: JSON.stringify(messages) }],
  }));
  server.registerTool('post_message', {
    description: 'Post a message', inputSchema: z.object({ text: z.string().max(280) }), scopeChallenge: toolGuard(scopes.requireScopes('messages:write')),
  }, ({ text }) => {
    messages.push(text);
    return { content: [{ type: 'text', text: 'posted' }] };
  });
  server.registerTool('purge_messages', { description: 'Delete every message', scopeChallenge: toolGuard(scopes.requireScopes('messages:admin')) }, () => {
    messages.length = 0;
    return { content: [{ type: 'text', text: 'purged' }] };
  });
  return server;
}

export interface McpAppOptions {
  /** The authorization server's issuer identifier. */
  issuer: string;
  /** This MCP server's URL, the RFC 8707 resource its tokens must be issued for, e.g. 'https://api.example.com/mcp'. */
  resource: string;
}

/**
 * The MCP server as one Koa middleware, to mount on any app: the RFC 9728 metadata for `resource` and the MCP
 * route at its path, behind an authenticate() of its own (its tokens are for this resource, not the app's).
 */
export function mcpMiddleware({ issuer, resource }: McpAppOptions): Middleware<AuthState> {
  const messages: string[] = [];
  const metadata = protectedResourceMetadata({ resource, authorizationServers: [issuer], scopesSupported: scopes.names, resourceName: 'Messages MCP server' });
  const router = new Router<AuthState>();
  // challengeScope: a client's first token asks for reading and writing; messages:admin only on a step-up.
  // The SDK calls the factory per request; messages are the app's, shared by every server.
  router.all(new URL(resource).pathname,
    authenticate({ issuer, audience: resource, resourceMetadata: true, challengeScope: ['messages:read', 'messages:write'] }),
    serveMcp(() => createMcpServer(messages)));
  const routes = router.routes() as unknown as Middleware<AuthState>; // the router adds its own context on dispatch
  return async (ctx, next) => {
    await metadata(ctx, async () => {
      await routes(ctx, next);
    });
  };
}

export function createMcpApp(options: McpAppOptions): Koa<AuthState> {
  return new Koa<AuthState>().use(mcpMiddleware(options));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { ISSUER, RESOURCE = 'http://localhost:3000/mcp', PORT = '3000' } = process.env;
  if (!ISSUER) throw new Error('set ISSUER, the authorization server issuing tokens for RESOURCE, e.g. ISSUER=https://auth.example.com/');
  createMcpApp({ issuer: ISSUER, resource: RESOURCE }).listen(Number(PORT), () => console.log(`MCP server on ${RESOURCE}`));
}
