import type { VerifiedToken } from './verify.js';

/**
 * The synchronous half of an establisher: a token's cached, still valid verdict, or undefined. What it
 * returns passed every check the establisher makes (shape, signature, claims, or the authorization
 * server's answer) and has not expired since; a miss says nothing, and the token goes the full way.
 * It lets `authenticate()` serve a cached token without a promise or an `await` (issue 23).
 */
export type CachedVerdict = (token: string) => VerifiedToken<object> | undefined;

const lookups = new WeakMap<object, CachedVerdict>();

/** Links a verifier, introspector or establisher to its cache; not linked: it has none (`cache: false`). */
export function registerCachedVerdict(target: object, lookup: CachedVerdict): void {
  lookups.set(target, lookup);
}

/** The cache look-up of what `createVerifier()`, `createIntrospector()` or `createEstablisher()` returned, if it caches. */
export function cachedVerdictOf(target: object): CachedVerdict | undefined {
  return lookups.get(target);
}
