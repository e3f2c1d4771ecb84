import { ConfigurationError, InsufficientUserAuthenticationError } from '../errors.js';
import { isNumericDate } from '../core/numeric-date.js';
import { DEFAULTS } from '../core/options.js';
import { authContextOf } from '../koa/state.js';
import { createGuard, type Guard } from './guard.js';
import type { AuthLevelRequirement } from './requirement.js';

/** Options of `requireAuthLevel()`: at least one of them. */
export interface RequireAuthLevelOptions {
  /** The token's `acr` must be one of these authentication context class references, e.g. `['urn:example:mfa']`. */
  acr?: string | readonly string[] | undefined;
  /**
   * The user must have authenticated at most this many seconds ago (the token's `auth_time`, plus the
   * `clockTolerance` of `authenticate()`); a token without `auth_time` is refused.
   */
  maxAge?: number | undefined;
}

// RFC 9470 4 carries acr values space-separated in a quoted string: no spaces, quotes or backslashes inside one.
const ACR_VALUE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Step-up authentication (RFC 9470): refuses with 401 `insufficient_user_authentication` unless the
 * token's `acr` is one of `acr` and its `auth_time` is no older than `maxAge`. The challenge carries
 * `acr_values` and `max_age`, which the client passes to the authorization server to get a token
 * from a stronger or fresher login.
 */
export function requireAuthLevel(options: RequireAuthLevelOptions): Guard {
  if (options === null || typeof options !== 'object' || (options.acr === undefined && options.maxAge === undefined)) {
    throw new ConfigurationError("requireAuthLevel() needs `acr`, `maxAge` or both, e.g. requireAuthLevel({ acr: ['urn:example:mfa'], maxAge: 300 }).");
  }
  const acrList: unknown[] | undefined = options.acr === undefined ? undefined
    : typeof options.acr === 'string' ? [options.acr] : Array.isArray(options.acr) ? [...options.acr as unknown[]] : [];
  if (acrList !== undefined && (acrList.length === 0 || !acrList.every((v) => typeof v === 'string' && ACR_VALUE.test(v)))) {
    throw new ConfigurationError("requireAuthLevel() `acr` must be one or more acr values without spaces, quotes or backslashes, e.g. ['urn:example:mfa'].");
  }
  const maxAge = options.maxAge;
  if (maxAge !== undefined && (!Number.isSafeInteger(maxAge) || maxAge < 0)) {
    throw new ConfigurationError(`requireAuthLevel() \`maxAge\` must be a whole number of seconds; got ${String(maxAge)}.`);
  }
  const acr = acrList === undefined ? undefined : Object.freeze([...new Set(acrList as string[])]);
  const accepted = new Set(acr);
  const requirement: AuthLevelRequirement = { kind: 'authLevel', ...(acr !== undefined ? { acr } : {}), ...(maxAge !== undefined ? { maxAge } : {}) };
  const fail = (description: string): InsufficientUserAuthenticationError => new InsufficientUserAuthenticationError(acr ?? [], maxAge, description);

  return createGuard('requireAuthLevel', requirement, ({ claims }, ctx) => {
    const all = claims as Record<string, unknown>;
    if (acr !== undefined) {
      const value = Object.hasOwn(all, 'acr') ? all.acr : undefined;
      if (typeof value !== 'string' || !accepted.has(value)) return fail('authentication level not sufficient');
    }
    if (maxAge !== undefined) {
      const authTime = Object.hasOwn(all, 'auth_time') ? all.auth_time : undefined;
      if (!isNumericDate(authTime)) return fail('time of authentication unknown');
      const tolerance = authContextOf(ctx)?.clockTolerance ?? DEFAULTS.clockTolerance;
      const now = Date.now() / 1000;
      // A login "in the future" would pass every maxAge for as long as the token lives.
      if (authTime > now + tolerance) return fail('time of authentication in the future');
      if (now - authTime > maxAge + tolerance) return fail('authentication too old');
    }
    return undefined;
  });
}
