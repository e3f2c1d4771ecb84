import type { Middleware, ParameterizedContext } from 'koa';
import type { ResolvedCors } from './options.js';

// What a browser MCP client sends: the token (either scheme), the 2026-07-28 routing headers (SEP-2243),
// the protocol version, the body's type and an SSE resumption.
const ALLOWED_HEADERS = new Set(['authorization', 'dpop', 'mcp-method', 'mcp-name', 'mcp-protocol-version', 'content-type', 'last-event-id']);
const PARAM_HEADER = 'mcp-param-';
const METHODS = 'GET, POST, DELETE';
const EXPOSED = 'WWW-Authenticate, DPoP-Nonce';

function allowedHeaders(requested: string): string {
  const allowed: string[] = [];
  for (const raw of requested.split(',')) {
    const name = raw.trim().toLowerCase();
    if (ALLOWED_HEADERS.has(name) || (name.startsWith(PARAM_HEADER) && name.length > PARAM_HEADER.length)) allowed.push(name);
  }
  return allowed.join(', ');
}

// Koa drops every header set before an error is thrown and sets the error's own: an allowed origin's 401
// must carry them too, or the browser hides the challenge from the client.
function withCorsHeaders(error: unknown, origin: string): void {
  if (typeof error !== 'object' || error === null) return;
  const headers = (error as { headers?: unknown }).headers;
  try {
    Object.defineProperty(error, 'headers', {
      configurable: true, enumerable: false, writable: true,
      value: { ...(typeof headers === 'object' && headers !== null ? headers : {}), 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': EXPOSED, Vary: 'Origin' },
    });
  } catch {
    // a frozen error is rethrown as it is
  }
}

/**
 * CORS for the MCP route (the Fetch standard's CORS protocol), mounted before `authenticate()`: a preflight
 * (`OPTIONS` with `Origin` and `Access-Control-Request-Method`, which browsers send without credentials) is
 * answered here, 204 for a configured origin and 403 for any other, and never reaches `authenticate()`;
 * every other request goes on (and still needs a token), its answer, refusals included, readable by a
 * configured origin. Without the `cors` option, it passes everything through.
 */
export function corsMiddleware(cors: ResolvedCors | undefined): Middleware {
  if (cors === undefined) return function mcpCorsOff(_ctx, next) {
    return next();
  };
  const maxAge = String(cors.maxAge);
  return async function mcpCors(ctx: ParameterizedContext, next: () => Promise<unknown>): Promise<void> {
    const origin = ctx.get('Origin');
    if (origin === '') {
      await next();
      return;
    }
    ctx.vary('Origin');
    const allowed = cors.origins.has(origin);
    if (ctx.method === 'OPTIONS' && ctx.get('Access-Control-Request-Method') !== '') {
      ctx.status = allowed ? 204 : 403;
      if (!allowed) return;
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Allow-Methods', METHODS);
      const headers = allowedHeaders(ctx.get('Access-Control-Request-Headers'));
      if (headers !== '') ctx.set('Access-Control-Allow-Headers', headers);
      ctx.set('Access-Control-Max-Age', maxAge);
      return;
    }
    if (!allowed) {
      await next();
      return;
    }
    ctx.set('Access-Control-Allow-Origin', origin);
    ctx.set('Access-Control-Expose-Headers', EXPOSED);
    try {
      await next();
    } catch (error) {
      withCorsHeaders(error, origin);
      throw error;
    }
  };
}
