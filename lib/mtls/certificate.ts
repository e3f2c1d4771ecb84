import { X509Certificate } from 'node:crypto';

/** What a `getCertificate` function may return: a parsed certificate, a PEM string, DER bytes, or nothing. */
export type CertificateLike = X509Certificate | string | Uint8Array | undefined | null;

/** The part of a Koa context (or any request wrapper) the default `getCertificate` reads. */
export interface SocketCarrier {
  readonly req: { readonly socket: unknown };
}

interface PeerCertificateSocket {
  getPeerX509Certificate?: () => X509Certificate | undefined;
}

/**
 * The DER of the client's leaf certificate, or undefined when there is none or it does not parse as
 * X.509 (a PEM chain yields its first certificate, the leaf by convention). Never throws for bad input:
 * a certificate that cannot be read is a certificate not presented. Other value types are a programming
 * error in `getCertificate` and throw a `TypeError`.
 */
export function certificateDer(value: CertificateLike): Uint8Array | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof X509Certificate) return value.raw;
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw new TypeError('koa-token-guard: mtls.getCertificate must return an X509Certificate, a PEM string, DER bytes or undefined');
  }
  if (value.length === 0) return undefined;
  try {
    // Parsing proves it is a certificate and, for PEM, yields the DER the thumbprint is taken over.
    return new X509Certificate(value).raw;
  } catch {
    return undefined;
  }
}

/**
 * The default `mtls.getCertificate`: the certificate the client presented in this request's TLS handshake.
 * Whether the TLS layer trusted it does not matter here: the token's binding is the thumbprint, so
 * self-signed certificates work (RFC 8705 section 3); the server must ask for one (`requestCert: true`).
 * A resumed session sends no certificate: OpenSSL keeps the first handshake's in the session, and Node returns
 * it here (TLS 1.2 and 1.3; spec/e2e/mtls.spec.ts). Plain HTTP, or a TLS client that sent none: undefined.
 */
export function peerCertificate(ctx: SocketCarrier): X509Certificate | undefined {
  const socket = ctx.req.socket as PeerCertificateSocket | null | undefined;
  if (typeof socket?.getPeerX509Certificate !== 'function') return undefined;
  return socket.getPeerX509Certificate() ?? undefined;
}
