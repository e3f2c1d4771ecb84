import { InvalidTokenError } from '../errors.js';

const EMPTY: ReadonlySet<string> = Object.freeze(new Set<string>());

/**
 * The granted scopes of a verified token, parsed once per token.
 *
 * Reads `scope` (space-delimited string, RFC 8693 / RFC 9068), `scp` (string or array: Okta, Entra ID)
 * and every claim named in `extraClaims` (e.g. Auth0's `permissions` array). A claim of the wrong type
 * fails closed: the token is refused rather than read as "no scopes" or half-read.
 */
export function parseScopes(claims: Readonly<Record<string, unknown>>, extraClaims: readonly string[]): ReadonlySet<string> {
  let scopes: Set<string> | undefined;
  const add = (value: unknown, allowArray: boolean): void => {
    if (value === undefined) return;
    if (typeof value === 'string') {
      for (const s of value.split(' ')) if (s !== '') (scopes ??= new Set()).add(s);
      return;
    }
    if (allowArray && Array.isArray(value)) {
      for (const s of value as unknown[]) {
        if (typeof s !== 'string') throw invalidScopeClaim();
        // An array element is one scope token; a space inside it would smuggle in a second one.
        if (s !== '' && !s.includes(' ')) (scopes ??= new Set()).add(s);
      }
      return;
    }
    throw invalidScopeClaim();
  };
  add(claims.scope, false);
  add(claims.scp, true);
  for (const name of extraClaims) add(claims[name], true);
  return scopes ?? EMPTY;
}

function invalidScopeClaim(): InvalidTokenError {
  return new InvalidTokenError('scope_claim_invalid', 'invalid scope claim');
}
