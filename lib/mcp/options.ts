import { ConfigurationError } from '../errors.js';

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
  /** Largest request body read, in bytes; a larger one is answered 413 before any server is made. Default 4 MiB. */
  maxRequestBodySize?: number | undefined;
}

/** Every default of `serveMcp()`, in one place. */
export const MCP_DEFAULTS = Object.freeze({
  legacy: 'stateless' as const,
  endStreamsAtExpiry: true,
  maxRequestBodySize: 4 * 1024 * 1024,
});

export interface ResolvedMcpOptions {
  readonly legacy: 'stateless' | 'reject';
  readonly endStreamsAtExpiry: boolean;
  readonly maxRequestBodySize: number;
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
  return Object.freeze({ legacy, endStreamsAtExpiry, maxRequestBodySize });
}
