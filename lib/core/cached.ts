import type { Caller } from './caller.js';
import type { VerifiedToken } from './verify.js';

/**
 * The synchronous half of an establisher: a token's cached, still valid verdict, or undefined. What it
 * returns passed every check the establisher makes (shape, signature, claims, or the authorization
 * server's answer) and has not expired since; a miss says nothing, and the token goes the full way.
 * It lets `authenticate()` serve a cached token without a promise or an `await` (issue 23).
 */
export type CachedVerdict = (token: string) => VerifiedToken<object> | undefined;

/**
 * The full way of an establisher for a token its `CachedVerdict` has just missed: everything the
 * establisher does (sharing a verification in progress, events included) but that look-up, which
 * `authenticate()` has made already. Looking a fresh token up twice cost it about 1 % of its CPU over HTTP.
 */
export type AfterMiss = (token: string, caller?: Caller) => Promise<VerifiedToken<object>>;

const lookups = new WeakMap<object, CachedVerdict>();
const afterMisses = new WeakMap<object, AfterMiss>();

/**
 * Links a verifier, introspector or establisher to its cache; not linked: it has none (`cache: false`).
 * `afterMiss`, when given, is the target's way for a token `lookup` missed; without it, the target itself.
 */
export function registerCachedVerdict(target: object, lookup: CachedVerdict, afterMiss?: AfterMiss): void {
  lookups.set(target, lookup);
  if (afterMiss !== undefined) afterMisses.set(target, afterMiss);
}

/** The cache look-up of what `createVerifier()`, `createIntrospector()` or `createEstablisher()` returned, if it caches. */
export function cachedVerdictOf(target: object): CachedVerdict | undefined {
  return lookups.get(target);
}

/** What establishes a token that `cachedVerdictOf(target)` has just missed: the registered way, or `target` itself. */
export function afterMissOf<T extends (token: string, caller?: Caller) => Promise<VerifiedToken<object>>>(target: T): AfterMiss | T {
  return afterMisses.get(target) ?? target;
}
