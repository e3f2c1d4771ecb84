import type { Middleware, ParameterizedContext } from 'koa';
import { createMcpHandler, type McpServerFactory, type ServerNotifier } from '@modelcontextprotocol/server';
import { GuardOrderError } from '../errors.js';
import { mcpAuthInfo } from '../koa/mcp.js';
import { authContextOf, type AuthState } from '../koa/state.js';
import { describesMcp, type McpPrimitiveDescription } from '../guards/describe-routes.js';
import { corsMiddleware } from './cors.js';
import { describeFactory } from './describe.js';
import { exchanges, type McpExchange } from './exchange.js';
import { resolveMcpOptions, type ServeMcpOptions } from './options.js';
import { toWebRequest } from './web-request.js';
import { writeWebResponse } from './web-response.js';

/** The middleware `serveMcp()` returns, with the SDK handler's change notifications and teardown. */
export interface McpMiddleware extends Middleware {
  /** Publishes list-changed and resource-updated notifications to open `subscriptions/listen` streams. */
  readonly notify: ServerNotifier;
  /**
   * CORS for the route (option `cors`), to mount before `authenticate()`: answers preflights, which carry no
   * token, and lets configured origins read every answer, refusals included. Passes everything on without `cors`.
   */
  readonly cors: Middleware;
  /** Ends in-flight 2026-07-28 exchanges and their servers (at shutdown). */
  close(): Promise<void>;
  /**
   * Every tool, resource and prompt the factory registers, with their `toolGuard()`s, as `describeRoutes()`
   * lists them under the route's `mcp`: read from a server the factory makes on the first call (per era
   * served, without `authInfo`), then remembered. A `ConfigurationError` if the factory throws or is async.
   */
  describe(): readonly McpPrimitiveDescription[];
}

/**
 * Koa middleware serving an MCP server (SDK v2, `createMcpHandler`) behind `authenticate()`, which must run
 * first (a `GuardOrderError` otherwise). `factory` is called per request with the SDK's `{ era, authInfo }`,
 * `authInfo` being `mcpAuthInfo(ctx)`. Mount it on the MCP route for every method: `router.all('/mcp', …)`.
 * Works with or without a body parser; the exchange is aborted when the client goes away.
 */
export function serveMcp(factory: McpServerFactory, options?: ServeMcpOptions): McpMiddleware {
  const { legacy, endStreamsAtExpiry, maxRequestBodySize, cors } = resolveMcpOptions(options);
  const handler = createMcpHandler(factory, { legacy, maxRequestBodySize });

  async function serveMcpMiddleware(ctx: ParameterizedContext): Promise<void> {
    if (authContextOf(ctx) === undefined) throw new GuardOrderError('serveMcp');
    const aborted = new AbortController();
    // The token's signal is shared by all its requests: its listener goes when the response does.
    const expiry = endStreamsAtExpiry ? (ctx.state as AuthState).auth?.signal : undefined;
    const expire = (): void => aborted.abort(expiry?.reason);
    ctx.res.once('close', () => {
      expiry?.removeEventListener('abort', expire);
      if (!ctx.res.writableFinished) aborted.abort();
    });
    if (expiry?.aborted === true) expire();
    else expiry?.addEventListener('abort', expire, { once: true });
    const { request, parsedBody } = toWebRequest(ctx, aborted.signal);
    const authInfo = mcpAuthInfo(ctx);
    const exchange: McpExchange = { ctx, refusal: undefined };
    const response = await exchanges.run(exchange, () => handler.fetch(request, {
      ...(authInfo === undefined ? {} : { authInfo }),
      ...(parsedBody === undefined ? {} : { parsedBody }),
    }));
    if (exchange.refusal !== undefined) {
      await response.body?.cancel();
      throw exchange.refusal; // authenticate() gives it the realm, resource_metadata and DPoP challenges
    }
    writeWebResponse(ctx, response);
  }

  let primitives: readonly McpPrimitiveDescription[] | undefined;
  // Not at startup: the factory may need what the application prepares after mounting the route.
  const describe = (): readonly McpPrimitiveDescription[] => primitives ??= describeFactory(factory, legacy);
  return describesMcp(Object.assign(serveMcpMiddleware, { notify: handler.notify, cors: corsMiddleware(cors), close: () => handler.close(), describe }), describe);
}
