import { ConfigurationError } from '../errors.js';

/** CORS for browser MCP clients: who may call the MCP route from a web page. */
export interface McpCorsOptions {
  /** The origins allowed, exactly as browsers send them (`https://app.example.com`: scheme, host, port; no path, no `*`). */
  origins: readonly string[];
  /** How long a browser may cache a preflight's answer (`Access-Control-Max-Age`), in seconds. Default 600. */
  maxAge?: number | undefined;
}

/** Options of `serveMcp()`. */
export interface ServeMcpOptions {
  /**
   * How 2025-era traffic (the `initialize` handshake) is served, passed to the SDK's `createMcpHandler`:
   * `'stateless'` answers it with a fresh server per request, `'reject'` serves 2026-07-28 only. Default `'stateless'`.
   */
  legacy?: 'stateless' | 'reject' | undefined;
  /**
   * End each exchange when the token that opened it expires (`ctx.state.auth.signal`: `exp` + `clockTolerance`):
   * the SDK's exchange is aborted and a long SSE response (a `subscriptions/listen` stream) ends, so the
   * client must come back with a fresh token. `false`: a stream lives on once its token was checked. Default true.
   */
  endStreamsAtExpiry?: boolean | undefined;
  /**
   * CORS for browser MCP clients: mount the returned middleware's `cors` before `authenticate()` so a
   * preflight is answered without a token. Default: none (no CORS headers; preflights reach `authenticate()`).
   */
  cors?: McpCorsOptions | undefined;
  /** Largest request body read, in bytes; a larger one is answered 413 before any server is made. Default 4 MiB. */
  maxRequestBodySize?: number | undefined;
}

/** Every default of `serveMcp()`, in one place. */
export const MCP_DEFAULTS = Object.freeze({
  legacy: 'stateless' as const,
  endStreamsAtExpiry: true,
  maxRequestBodySize: 4 * 1024 * 1024,
  corsMaxAge: 600,
});

export interface ResolvedCors {
  readonly origins: ReadonlySet<string>;
  readonly maxAge: number;
}

function resolveCors(cors: McpCorsOptions | undefined): ResolvedCors | undefined {
  if (cors === undefined) return undefined;
  const origins: unknown = (cors as { origins?: unknown } | null)?.origins;
  const isOrigin = (o: unknown): boolean => typeof o === 'string' && URL.canParse(o) && new URL(o).origin === o;
  if (!Array.isArray(origins) || origins.length === 0 || !origins.every(isOrigin)) {
    throw new ConfigurationError("serveMcp(): `cors.origins` must be a non-empty list of origins as browsers send them (scheme, host and port, no path, no '*'), e.g. ['https://app.example.com'].");
  }
  const maxAge = cors.maxAge ?? MCP_DEFAULTS.corsMaxAge;
  if (!Number.isSafeInteger(maxAge) || maxAge < 0) throw new ConfigurationError('serveMcp(): `cors.maxAge` must be a whole number of seconds, 0 or more, e.g. 600.');
  return Object.freeze({ origins: new Set(origins as string[]), maxAge });
}

export interface ResolvedMcpOptions {
  readonly legacy: 'stateless' | 'reject';
  readonly endStreamsAtExpiry: boolean;
  readonly maxRequestBodySize: number;
  readonly cors: ResolvedCors | undefined;
}

export function resolveMcpOptions(options: ServeMcpOptions = {}): ResolvedMcpOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('serveMcp(factory, options): `options` must be an object, e.g. { legacy: \'reject\' }.');
  const legacy = options.legacy ?? MCP_DEFAULTS.legacy;
  if (legacy !== 'stateless' && legacy !== 'reject') {
    throw new ConfigurationError("serveMcp(): `legacy` must be 'stateless' (serve 2025 clients too, the default) or 'reject' (2026-07-28 only).");
  }
  const endStreamsAtExpiry = options.endStreamsAtExpiry ?? MCP_DEFAULTS.endStreamsAtExpiry;
  if (typeof endStreamsAtExpiry !== 'boolean') throw new ConfigurationError('serveMcp(): `endStreamsAtExpiry` must be true (the default: streams end when their token expires) or false.');
  const maxRequestBodySize = options.maxRequestBodySize ?? MCP_DEFAULTS.maxRequestBodySize;
  if (!Number.isSafeInteger(maxRequestBodySize) || maxRequestBodySize <= 0) {
    throw new ConfigurationError('serveMcp(): `maxRequestBodySize` must be a positive whole number of bytes, e.g. 1048576 for 1 MiB.');
  }
  return Object.freeze({ legacy, endStreamsAtExpiry, maxRequestBodySize, cors: resolveCors(options.cors) });
}
