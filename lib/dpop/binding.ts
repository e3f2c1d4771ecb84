import { InvalidDpopProofError, InvalidTokenError } from '../errors.js';

/**
 * The DPoP key a token is bound to: `cnf.jkt` (RFC 9449 6), whatever established the token (a JWT's
 * claims or an introspection answer). Undefined for an unbound token; a `cnf.jkt` that is not a
 * non-empty string makes the token invalid, never unbound.
 */
export function boundJkt(claims: object): string | undefined {
  const cnf = (claims as { cnf?: unknown }).cnf;
  if (cnf === undefined) return undefined;
  if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) throw new InvalidTokenError('claim_invalid', 'invalid claim');
  const jkt = (cnf as { jkt?: unknown }).jkt;
  if (jkt === undefined) return undefined;
  if (typeof jkt !== 'string' || jkt === '') throw new InvalidTokenError('claim_invalid', 'invalid claim');
  return jkt;
}

/** How `authenticate()` sees DPoP: off, accepted beside Bearer, or required. */
export type DpopMode = 'off' | 'allowed' | 'required';

/**
 * The binding rules before any proof is looked at (RFC 9449 7.1, 7.2): a bound token presented as
 * `Bearer` is refused (a downgrade), as is a bound token when DPoP is off (its binding cannot be
 * checked); with DPoP required, `Bearer` is refused outright; a DPoP request needs a bound token.
 * Returns the thumbprint the proof's key must have, or undefined when no proof is involved.
 */
export function checkBinding(scheme: 'Bearer' | 'DPoP', jkt: string | undefined, mode: DpopMode): string | undefined {
  if (scheme === 'Bearer') {
    if (jkt !== undefined && mode === 'off') throw new InvalidTokenError('token_dpop_bound', 'token bound to a DPoP key not accepted here');
    if (jkt !== undefined) throw new InvalidTokenError('token_dpop_bound', 'token bound to a DPoP key needs a DPoP proof');
    if (mode === 'required') throw new InvalidTokenError('dpop_required', 'DPoP proof required');
    return undefined;
  }
  if (jkt === undefined) throw new InvalidTokenError('token_not_dpop_bound', 'token not bound to a DPoP key');
  return jkt;
}

/** RFC 9449 4.3 step 12: the proof's key must be the one the token is bound to. */
export function checkProofKey(expected: string, actual: string): void {
  if (expected !== actual) throw new InvalidDpopProofError('dpop_key_mismatch', 'DPoP proof key does not match the token');
}
