// A remote MCP server on Koa, protected as the MCP authorization spec asks: RFC 9728 metadata named in
// every challenge, tokens checked for this resource (RFC 8707 audience), per-tool scopes answered with
// a 403 insufficient_scope the client can step up from. Stateless Streamable HTTP, JSON responses.
//   ISSUER=https://auth.example.com/ RESOURCE=http://localhost:3000/mcp npx tsx examples/mcp/app.ts
import type { IncomingMessage } from 'node:http';
import Koa, { type ParameterizedContext } from 'koa';
import Router from '@koa/router';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import {
  authenticate, defineScopes, mcpAuthInfo, protectedResourceMetadata, requireToken, type AuthState, type Guard, type McpAuthInfo,
} from 'koa-token-guard';

export const scopes = defineScopes(['messages:read', 'messages:write', 'messages:admin'] as const);

// Each tool's scope, as data: checked over HTTP before the SDK sees the call, so a missing scope is a
// 403 with a challenge (the MCP spec's scope step-up), not a JSON-RPC error inside a 200.
const toolScopes = { list_messages: 'messages:read', post_message: 'messages:write', purge_messages: 'messages:admin' } as const;
const toolGuards = new Map<string, Guard>(Object.entries(toolScopes).map(([tool, scope]) => [tool, scopes.requireScopes(scope)]));

function createMcpServer(messages: string[]): McpServer {
  const server = new McpServer({ name: 'messages', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who the token was issued to' }, ({ authInfo }) => ({
    content: [{ type: 'text', text: JSON.stringify({ clientId: authInfo?.clientId, scopes: authInfo?.scopes, resource: authInfo?.resource?.href }) }],
  }));
  server.registerTool('list_messages', { description: 'List the messages' }, () => ({
    content: [{ type: 'text', text: JSON.stringify(messages) }],
  }));
  server.registerTool('post_message', { description: 'Post a message', inputSchema: { text: z.string().max(280) } }, ({ text }) => {
    messages.push(text);
    return { content: [{ type: 'text', text: 'posted' }] };
  });
  server.registerTool('purge_messages', { description: 'Delete every message' }, () => {
    messages.length = 0;
    return { content: [{ type: 'text', text: 'purged' }] };
  });
  return server;
}

const MAX_BODY = 1024 * 1024;

async function readJson(ctx: ParameterizedContext): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) ctx.throw(413, 'request body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return ctx.throw(400, 'request body is not JSON');
  }
}

/** The guard of every `tools/call` in a JSON-RPC message or batch; a refusal is thrown as an HTTP error. */
async function checkToolScopes(ctx: ParameterizedContext, body: unknown): Promise<void> {
  for (const message of Array.isArray(body) ? body as unknown[] : [body]) {
    if (typeof message !== 'object' || message === null || (message as { method?: unknown }).method !== 'tools/call') continue;
    const name = (message as { params?: { name?: unknown } }).params?.name;
    const guard = typeof name === 'string' ? toolGuards.get(name) : undefined;
    const failure = guard === undefined ? undefined : await guard.check(ctx);
    if (failure !== undefined) throw failure;
  }
}

export interface McpAppOptions {
  /** The authorization server's issuer identifier. */
  issuer: string;
  /** This MCP server's URL, the RFC 8707 resource its tokens must be issued for, e.g. 'https://api.example.com/mcp'. */
  resource: string;
}

export function createMcpApp({ issuer, resource }: McpAppOptions): Koa<AuthState> {
  const app = new Koa<AuthState>();
  const messages: string[] = [];
  app.use(protectedResourceMetadata({ resource, authorizationServers: [issuer], scopesSupported: scopes.names, resourceName: 'Messages MCP server' }));
  app.use(authenticate({ issuer, audience: resource, resourceMetadata: true }));

  const router = new Router<AuthState>();
  const path = new URL(resource).pathname;
  router.post(path, requireToken(), async (ctx) => {
    const body = await readJson(ctx);
    await checkToolScopes(ctx, body);
    (ctx.req as IncomingMessage & { auth?: McpAuthInfo | undefined }).auth = mcpAuthInfo(ctx);
    // Stateless: a server and transport per request; the transport writes the response itself.
    const server = createMcpServer(messages);
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
    ctx.respond = false;
    ctx.res.on('close', () => void server.close());
    await server.connect(transport);
    await transport.handleRequest(ctx.req, ctx.res, body);
  });
  // No server-initiated stream and no sessions: the Streamable HTTP transport allows 405 for both.
  router.get(path, requireToken(), (ctx) => {
    ctx.set('Allow', 'POST');
    ctx.status = 405;
  });
  router.delete(path, requireToken(), (ctx) => {
    ctx.set('Allow', 'POST');
    ctx.status = 405;
  });
  app.use(router.routes());
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { ISSUER, RESOURCE = 'http://localhost:3000/mcp', PORT = '3000' } = process.env;
  if (!ISSUER) throw new Error('set ISSUER, the authorization server issuing tokens for RESOURCE, e.g. ISSUER=https://auth.example.com/');
  createMcpApp({ issuer: ISSUER, resource: RESOURCE }).listen(Number(PORT), () => console.log(`MCP server on ${RESOURCE}`));
}
