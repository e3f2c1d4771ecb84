import { ConfigurationError } from '../errors.js';
import { peerCertificate, type CertificateLike, type SocketCarrier } from './certificate.js';

/** Reads the client certificate of one request; Koa's context for `authenticate()`. */
export type GetCertificate<TCtx = SocketCarrier> = (ctx: TCtx) => CertificateLike | Promise<CertificateLike>;

/** The `mtls` options of `authenticate()`: certificate-bound access tokens (RFC 8705). */
export interface MtlsOptions<TCtx extends SocketCarrier = SocketCarrier> {
  /**
   * `true`: refuse every token that is not certificate-bound (no `cnf["x5t#S256"]`), 401 `invalid_token`.
   * Default false: unbound tokens pass as before, bound ones must match the client certificate.
   */
  required?: boolean | undefined;
  /**
   * Reads the client's leaf certificate: an `X509Certificate`, a PEM string, DER bytes, or undefined for
   * none. Default: the certificate of this request's TLS handshake (the server needs `requestCert: true`).
   * Behind a TLS-terminating proxy use `certificateFromHeader()`. Return undefined rather than throw.
   */
  getCertificate?: GetCertificate<TCtx> | undefined;
}

/** The defaults of the `mtls` options, in one place. */
export const MTLS_DEFAULTS = Object.freeze({
  required: false,
  getCertificate: peerCertificate,
});

export interface ResolvedMtlsOptions<TCtx extends SocketCarrier = SocketCarrier> {
  readonly required: boolean;
  readonly getCertificate: GetCertificate<TCtx>;
}

/** Validates and freezes `mtls` once, at startup; undefined when mTLS is not configured. */
export function resolveMtlsOptions<TCtx extends SocketCarrier>(mtls: MtlsOptions<TCtx> | undefined): ResolvedMtlsOptions<TCtx> | undefined {
  if (mtls === undefined) return undefined;
  if (mtls === null || typeof mtls !== 'object') {
    throw new ConfigurationError('`mtls` must be an object, e.g. `mtls: {}` (the TLS peer certificate) or `mtls: { required: true }`.');
  }
  const required = mtls.required ?? MTLS_DEFAULTS.required;
  if (typeof required !== 'boolean') {
    throw new ConfigurationError(`\`mtls.required\` must be true or false (default ${MTLS_DEFAULTS.required}); got ${JSON.stringify(required)}.`);
  }
  const getCertificate = mtls.getCertificate ?? MTLS_DEFAULTS.getCertificate;
  if (typeof getCertificate !== 'function') {
    throw new ConfigurationError("`mtls.getCertificate` must be a function (ctx) => certificate | undefined, e.g. certificateFromHeader({ header: 'client-cert', format: 'rfc9440' }); omit it to read the TLS peer certificate.");
  }
  return Object.freeze({ required, getCertificate });
}
