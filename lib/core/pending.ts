import { tailHashes } from './doorkeeper.js';

const SLOTS = 1024;

/**
 * Verifications in progress, so that concurrent first requests carrying one new token (a client's burst)
 * share one. A fixed table of slots, a token's slot chosen by a hash of its tail (its signature); a slot
 * held by another token is left to it, and the newcomer is verified by itself, as are tokens beyond the
 * slots' number in flight at once. Only the very token held (`===`) shares its slot's verification.
 *
 * Not a Map, for the garbage collector's sake: a Map in constant use (one entry added and removed per
 * miss) is rebuilt every few dozen misses, and a discarded table that had reached V8's old generation
 * still points at the requests of its time, which every young collection then keeps and promotes until a
 * full one. With a Map here, fresh tokens with a full cache cost 1.03 × the CPU per request over HTTP
 * that they cost with these slots (issue 23, docs/performance.md). These slots are never rebuilt.
 *
 * The verification lets go of its slot itself as it settles (`release()` in its `finally`), rather than
 * through a reaction to its promise: a `then(release, release)` per miss (a promise, a closure and a
 * microtask) cost a fresh token 1.01–1.03 × the CPU per request over HTTP (issue 23).
 */
export class PendingVerifications<T> {
  readonly #tokens: (string | undefined)[] = Array.from({ length: SLOTS }, () => undefined);
  readonly #results: (Promise<T> | undefined)[] = Array.from({ length: SLOTS }, () => undefined);

  /** The verification in progress of this very token, if one is shared. */
  get(token: string): Promise<T> | undefined {
    const slot = tailHashes(token)[0] & (SLOTS - 1);
    return this.#tokens[slot] === token ? this.#results[slot] : undefined;
  }

  /**
   * Takes the token's slot for a verification about to start: the slot, to `share()` and `release()`, or
   * -1 when another verification holds it (this one is then not shared, and releases nothing).
   */
  claim(token: string): number {
    const slot = tailHashes(token)[0] & (SLOTS - 1);
    if (this.#tokens[slot] !== undefined) return -1;
    this.#tokens[slot] = token;
    return slot;
  }

  /**
   * Shares `result`, the verification that claimed `slot` for `token`, until it releases the slot. A
   * verification that settled at once (refused before its first `await`) has released it already: then nothing.
   */
  share(slot: number, token: string, result: Promise<T>): void {
    if (slot >= 0 && this.#tokens[slot] === token) this.#results[slot] = result;
  }

  /** Frees a slot `claim()` gave; called by its verification as it settles, whatever the outcome. -1: nothing. */
  release(slot: number): void {
    if (slot < 0) return;
    this.#tokens[slot] = undefined;
    this.#results[slot] = undefined;
  }
}
