import { ConfigurationError } from '../errors.js';
import type { RemoteKeySet } from './key-set.js';

/** Operator controls over the key sets behind an `authenticate()` middleware or a verifier. */
export interface KeySetControl {
  /**
   * Pre-warms: loads every configured key set (from the shared store when a fresh copy is there) so the
   * first request makes no provider call. Rejects with the provider's failure, for a readiness probe.
   */
  ready(): Promise<void>;
  /**
   * Forces a refresh from the provider now, ignoring max age and cooldown: after an emergency key
   * rotation. Covers configured issuers and those `resolveIssuer` accepted so far; the new copy goes to
   * the shared store too. Rejects when a refresh fails (the previous keys keep serving).
   */
  refresh(): Promise<void>;
}

const controls = new WeakMap<object, () => Promise<RemoteKeySet[]>>();

/** Links a verifier or middleware to the key sets it uses. */
export function registerKeySets(target: object, keySets: () => Promise<RemoteKeySet[]>): void {
  controls.set(target, keySets);
}

/** Copies the link of `from` to `to` (the middleware wrapping a verifier). */
export function shareKeySets(from: object, to: object): void {
  const keySets = controls.get(from);
  if (keySets !== undefined) controls.set(to, keySets);
}

/**
 * The key set controls of what `authenticate()` or `createVerifier()` returned:
 * `await keySets(auth).ready()` at startup, `await keySets(auth).refresh()` after a rotation.
 */
export function keySets(target: object): KeySetControl {
  const list = controls.get(target);
  if (list === undefined) {
    throw new ConfigurationError('keySets() takes the middleware returned by authenticate() or the function returned by createVerifier().');
  }
  return {
    async ready() {
      await Promise.all((await list()).map((keySet) => keySet.ready()));
    },
    async refresh() {
      await Promise.all((await list()).map((keySet) => keySet.refresh()));
    },
  };
}
