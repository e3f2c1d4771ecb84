import { ConfigurationError, InvalidTokenError } from '../errors.js';
import { createGuard, type Guard } from './guard.js';
import type { AudienceRequirement } from './requirement.js';

/**
 * For APIs that accept several audiences and need one of them on a route: refuses with 401
 * `invalid_token` unless the token's `aud` (string or array) contains one of `audiences`. A 401, not a
 * 403: the client needs a token issued for this resource, not more scopes.
 */
export function requireAudience(audiences: string | readonly string[]): Guard {
  const list: unknown[] = typeof audiences === 'string' ? [audiences] : Array.isArray(audiences) ? [...audiences as unknown[]] : [];
  if (list.length === 0 || list.some((a) => typeof a !== 'string' || a === '')) {
    throw new ConfigurationError("requireAudience() needs one or more non-empty audiences, e.g. requireAudience('https://admin.example.com').");
  }
  const accepted = new Set(list as string[]);
  const requirement: AudienceRequirement = { kind: 'audience', audiences: Object.freeze([...accepted]) };
  return createGuard('requireAudience', requirement, ({ claims: { aud } }) => {
    const granted = typeof aud === 'string' ? aud === '' ? [] : [aud] : Array.isArray(aud) ? aud : [];
    return granted.some((a) => accepted.has(a)) ? undefined : new InvalidTokenError('audience_invalid', 'token audience not accepted for this resource');
  });
}
