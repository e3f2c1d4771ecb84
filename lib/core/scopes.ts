import { InvalidTokenError } from '../errors.js';

const readOnly = (): never => {
  throw new TypeError('koa-token-guard: the granted scopes of a token are read-only; they are shared by every request carrying it');
};

/**
 * A token's granted scopes, immutable at run time: `add`, `delete` and `clear` throw. `Object.freeze`
 * does not freeze a `Set`, and a verified token (scopes included) is cached and shared by every request
 * that carries it, so a middleware adding a scope to one request's set would grant it to the next.
 * Still a `Set` (every read-only method, `instanceof`, spreading) so applications read it as before.
 */
export class GrantedScopes extends Set<string> {
  constructor(scopes?: Iterable<string>) {
    super();
    if (scopes !== undefined) for (const scope of scopes) super.add(scope);
    Object.freeze(this);
  }

  override add(): this {
    return readOnly();
  }

  override delete(): boolean {
    return readOnly();
  }

  override clear(): void {
    readOnly();
  }
}

/**
 * The granted scopes of a verified token, parsed once per token.
 *
 * Reads `scope` (space-delimited string, RFC 8693 / RFC 9068), `scp` (string or array: Okta, Entra ID)
 * and every claim named in `extraClaims` (e.g. Auth0's `permissions` array). A claim of the wrong type
 * fails closed: the token is refused rather than read as "no scopes" or half-read. The result is a
 * `GrantedScopes` of this token's own.
 */
export function parseScopes(claims: Readonly<Record<string, unknown>>, extraClaims: readonly string[]): ReadonlySet<string> {
  // Collected in an array (cheaper than a Set), then one Set: the token's own GrantedScopes, which drops repeats.
  let scopes = addScopes(undefined, claims.scope, false);
  scopes = addScopes(scopes, claims.scp, true);
  for (const name of extraClaims) scopes = addScopes(scopes, claims[name], true);
  // Each token its own set, even an empty one: nothing a request could reach is shared between tokens.
  return grantedScopes(scopes);
}

/**
 * A `GrantedScopes` as its constructor makes it, at a tenth of the cost: constructing a subclass of a
 * built-in `Set` takes V8's slow path (about 1 µs), a plain `Set` given the prototype does not.
 */
function grantedScopes(scopes: readonly string[] | undefined): GrantedScopes {
  const set = new Set<string>(scopes);
  Object.setPrototypeOf(set, GrantedScopes.prototype);
  return Object.freeze(set) as GrantedScopes;
}

// A plain function rather than a closure inside parseScopes: nothing allocated per token but the array and the set.
function addScopes(scopes: string[] | undefined, value: unknown, allowArray: boolean): string[] | undefined {
  if (value === undefined) return scopes;
  if (typeof value === 'string') {
    for (const s of value.split(' ')) if (s !== '') (scopes ??= []).push(s);
    return scopes;
  }
  if (allowArray && Array.isArray(value)) {
    for (const s of value as unknown[]) {
      if (typeof s !== 'string') throw invalidScopeClaim();
      // An array element is one scope token; a space inside it would smuggle in a second one.
      if (s !== '' && !s.includes(' ')) (scopes ??= []).push(s);
    }
    return scopes;
  }
  throw invalidScopeClaim();
}

function invalidScopeClaim(): InvalidTokenError {
  return new InvalidTokenError('scope_claim_invalid', 'invalid scope claim');
}
