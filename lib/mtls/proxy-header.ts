import { X509Certificate } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ConfigurationError } from '../errors.js';

/** The part of a Koa context (or any request wrapper) `certificateFromHeader()` reads. */
export interface HeaderCarrier {
  readonly req: { readonly headers: Readonly<Record<string, string | string[] | undefined>> };
}

/** Options of `certificateFromHeader()`. */
export interface CertificateHeaderOptions {
  /** The request header your proxy sets, e.g. `'client-cert'` (RFC 9440) or `'x-ssl-client-cert'`. */
  header: string;
  /**
   * `'rfc9440'`: a structured-field byte sequence of the DER, `:MIIB…:` (RFC 9440 `Client-Cert`; HAProxy:
   * `http-request set-header Client-Cert :%[ssl_c_der,base64]:`). `'nginx'`: the URL-encoded PEM of
   * `$ssl_client_escaped_cert` (PEM with only some characters escaped is read too).
   */
  format: 'rfc9440' | 'nginx';
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// RFC 8941 3.3.5 sf-binary; RFC 9440 2.2 defines no parameters, so none are accepted.
const SF_BINARY = /^:([A-Za-z0-9+/]+={0,2}):$/;
// Exactly one PEM certificate: a repeated header (joined by Node with ", ") must not yield its first value.
const ONE_PEM = /^\s*-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*$/;
const DER_SEQUENCE = 0x30;
/** Header values parsed per helper and kept: a client sends its certificate on every request, and X.509 parsing costs about a signature check. */
const PARSED_MAX = 500;

function parse(value: string | Buffer): X509Certificate | undefined {
  try {
    return new X509Certificate(value);
  } catch {
    return undefined;
  }
}

function fromRfc9440(value: string): X509Certificate | undefined {
  const match = SF_BINARY.exec(value.trim());
  if (match === null) return undefined;
  const der = Buffer.from(match[1]!, 'base64');
  // DER only, as RFC 9440 says: Node would also take PEM text here, which no proxy sends.
  return der[0] === DER_SEQUENCE ? parse(der) : undefined;
}

function fromNginx(value: string): X509Certificate | undefined {
  let pem: string;
  try {
    pem = decodeURIComponent(value.trim());
  } catch {
    return undefined; // a malformed %-escape
  }
  return ONE_PEM.test(pem) ? parse(pem) : undefined;
}

/**
 * A `mtls.getCertificate` for apps behind a TLS-terminating proxy: the client certificate the proxy put
 * in a request header. A missing, repeated or malformed header yields no certificate (a bound token is
 * then refused with 401), never an error.
 *
 * **Warning:** only safe when the proxy always overwrites or removes this header. If a client can send
 * it itself, anyone holding a stolen certificate-bound token also "presents" the matching certificate by
 * pasting the public certificate into the header, and the binding protects nothing. Make the proxy set
 * it on every request (empty when there is no client certificate) and never expose the app directly.
 */
export function certificateFromHeader(options: CertificateHeaderOptions): (ctx: HeaderCarrier) => X509Certificate | undefined {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError("certificateFromHeader() needs options, e.g. { header: 'client-cert', format: 'rfc9440' }.");
  }
  const { header, format } = options;
  if (typeof header !== 'string' || !TOKEN.test(header)) {
    throw new ConfigurationError(`certificateFromHeader(): \`header\` must be a header name, e.g. 'client-cert'; got ${JSON.stringify(header)}.`);
  }
  if (format !== 'rfc9440' && format !== 'nginx') {
    throw new ConfigurationError(`certificateFromHeader(): \`format\` must be 'rfc9440' (Client-Cert, :base64 DER:) or 'nginx' ($ssl_client_escaped_cert); got ${JSON.stringify(format)}.`);
  }
  const name = header.toLowerCase();
  const decode = format === 'rfc9440' ? fromRfc9440 : fromNginx;
  // Only certificates are kept (a certificate is public, so is its header): junk can evict, never fill it.
  const parsed = new LRUCache<string, X509Certificate>({ max: PARSED_MAX });
  return (ctx) => {
    const value = ctx.req.headers[name];
    // Node joins a repeated header with ", ", which neither format accepts: two certificates count as none.
    if (typeof value !== 'string' || value === '') return undefined;
    let certificate = parsed.get(value);
    if (certificate === undefined) {
      certificate = decode(value);
      if (certificate !== undefined) parsed.set(value, certificate);
    }
    return certificate;
  };
}
