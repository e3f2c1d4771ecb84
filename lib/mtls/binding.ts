import { timingSafeEqual } from 'node:crypto';
import { InvalidTokenError } from '../errors.js';
import { certificateDer, type CertificateLike } from './certificate.js';
import { certificateThumbprint } from './thumbprint.js';

/** The RFC 8705 confirmation member: the SHA-256 thumbprint of the certificate the token is bound to. */
export const X5T_S256 = 'x5t#S256';

/**
 * The `cnf["x5t#S256"]` of verified claims, or undefined for a token that is not certificate-bound.
 * A `cnf` or thumbprint of the wrong type is refused: it states a binding no certificate can satisfy.
 */
export function boundThumbprint(claims: object): string | undefined {
  const cnf = (claims as { cnf?: unknown }).cnf;
  if (cnf === undefined) return undefined;
  if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) throw new InvalidTokenError('claim_invalid', 'invalid claim');
  if (!Object.hasOwn(cnf, X5T_S256)) return undefined;
  const thumbprint = (cnf as Record<string, unknown>)[X5T_S256];
  if (typeof thumbprint !== 'string' || thumbprint === '') throw new InvalidTokenError('claim_invalid', 'invalid claim');
  return thumbprint;
}

function sameThumbprint(expected: string, presented: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  // Lengths are public (a SHA-256 thumbprint is always 43 characters); the contents are compared in constant time.
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The RFC 8705 section 3 check of one established token against the client certificate. Resolves to the
 * verified thumbprint for a certificate-bound token, undefined for an unbound one that may pass. Refuses
 * (401 `invalid_token`) a bound token when mTLS is not configured (the binding cannot be checked), without
 * a certificate or with another one, and an unbound token when `required`. `readCertificate` is called
 * only when a binding is to be checked, so unbound tokens cost nothing.
 */
export async function checkCertificateBinding(
  claims: object,
  mtls: { readonly required: boolean } | undefined,
  readCertificate: () => CertificateLike | Promise<CertificateLike>,
): Promise<string | undefined> {
  const expected = boundThumbprint(claims);
  if (expected === undefined) {
    if (mtls?.required === true) throw new InvalidTokenError('token_not_certificate_bound', 'token not bound to a client certificate');
    return undefined;
  }
  if (mtls === undefined) throw new InvalidTokenError('token_certificate_bound', 'token bound to a client certificate not accepted here');
  const der = certificateDer(await readCertificate());
  if (der === undefined) throw new InvalidTokenError('certificate_missing', 'client certificate required');
  const presented = certificateThumbprint(der);
  if (!sameThumbprint(expected, presented)) throw new InvalidTokenError('certificate_mismatch', 'client certificate does not match the token');
  return presented;
}
