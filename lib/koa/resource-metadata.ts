import type { Middleware } from 'koa';
import { resolveMetadataOptions, type ProtectedResourceMetadataOptions } from '../metadata/document.js';
import { WELL_KNOWN_PATH } from '../metadata/resource.js';

const ALLOW = 'GET, HEAD, OPTIONS';
// What browser MCP clients send; allowed on the preflight when the browser lists nothing parseable.
const DEFAULT_ALLOWED_HEADERS = 'Authorization, MCP-Protocol-Version, Content-Type';
// RFC 9110 5.6.1 list of field names (tokens).
const HEADER_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;

/**
 * Koa middleware serving the RFC 9728 protected-resource metadata at the path-suffixed URL
 * (`/.well-known/oauth-protected-resource/mcp` for `https://api.example.com/mcp`) and at the root
 * `/.well-known/oauth-protected-resource`: GET and HEAD, JSON, readable from any origin (CORS, the
 * preflight answered), cached for `cacheMaxAge`. Other paths pass through to `next()`.
 *
 * The fields that matter for enforcement are derived, never repeated: `bearer_methods_supported`,
 * DPoP and mTLS come from the `authenticate()` whose `audience` is the resource. Mount it before
 * `authenticate()`: metadata needs no token. Bad options throw a `ConfigurationError` here.
 */
export function protectedResourceMetadata(options: ProtectedResourceMetadataOptions): Middleware {
  const metadata = resolveMetadataOptions(options);
  const paths = new Set([metadata.path, WELL_KNOWN_PATH]);
  const cacheControl = `public, max-age=${metadata.cacheMaxAge}`;
  let body: string | undefined;
  let builtAt = -1;

  return async function protectedResourceMetadataMiddleware(ctx, next) {
    if (!paths.has(ctx.path)) {
      await next();
      return;
    }
    ctx.set('Access-Control-Allow-Origin', '*');
    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      // Built on first use: the authenticate() it describes is usually created after this middleware.
      const version = metadata.version();
      if (body === undefined || version !== builtAt) {
        body = JSON.stringify(metadata.build());
        builtAt = version;
      }
      ctx.set('Cache-Control', cacheControl);
      ctx.type = 'application/json';
      ctx.body = body;
      return;
    }
    if (ctx.method === 'OPTIONS') {
      const requested = ctx.get('Access-Control-Request-Headers').trim();
      ctx.set('Allow', ALLOW);
      ctx.set('Access-Control-Allow-Methods', ALLOW);
      ctx.set('Access-Control-Allow-Headers', HEADER_LIST.test(requested) ? requested : DEFAULT_ALLOWED_HEADERS);
      ctx.set('Access-Control-Max-Age', '86400');
      ctx.vary('Access-Control-Request-Headers');
      ctx.status = 204;
      return;
    }
    ctx.set('Allow', ALLOW);
    ctx.status = 405;
  };
}
