import { createHash } from 'node:crypto';

/**
 * The certificate thumbprint of RFC 8705 section 3.1: base64url (no padding) of the SHA-256 of the
 * certificate's DER encoding, the value a bound token carries as `cnf["x5t#S256"]`.
 */
export function certificateThumbprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64url');
}
