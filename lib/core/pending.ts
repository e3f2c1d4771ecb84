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
 * that they cost with these slots (issue 23, docs/performance.md). These slots are never rebuilt, and a settled verification leaves its slot at once.
 */
export class PendingVerifications<T> {
  readonly #tokens: (string | undefined)[] = Array.from({ length: SLOTS }, () => undefined);
  readonly #results: (Promise<T> | undefined)[] = Array.from({ length: SLOTS }, () => undefined);

  /** The verification in progress of this very token, if one is held. */
  get(token: string): Promise<T> | undefined {
    const slot = tailHashes(token)[0] & (SLOTS - 1);
    return this.#tokens[slot] === token ? this.#results[slot] : undefined;
  }

  /** Holds `result` as the token's verification until it settles, when its slot is free. */
  hold(token: string, result: Promise<T>): void {
    const slot = tailHashes(token)[0] & (SLOTS - 1);
    if (this.#results[slot] !== undefined) return;
    this.#tokens[slot] = token;
    this.#results[slot] = result;
    const release = (): void => {
      this.#tokens[slot] = undefined;
      this.#results[slot] = undefined;
    };
    result.then(release, release);
  }
}
