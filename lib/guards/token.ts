import { createGuard, type Guard } from './guard.js';

/**
 * Passes any request whose token `authenticate()` verified: the explicit choice that a valid token is
 * enough for a route (e.g. `GET /me`), which `describeRoutes()` reports as guarded. With
 * `authenticate({ optional: true })` and no token it answers 401 with the bare challenge.
 */
export function requireToken(): Guard {
  return createGuard('requireToken', { kind: 'token' }, () => undefined);
}
