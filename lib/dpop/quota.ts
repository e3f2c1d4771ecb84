import { LRUCache } from 'lru-cache';
import { DpopKeyQuotaError } from '../errors.js';

// The window is counted in slices: memory per key, not per proof, whichever store holds the proofs.
const SLICES = 16;
// One slice more than the window, so a proof is counted at least as long as the store remembers it.
const RING = SLICES + 1;

interface Counter {
  readonly counts: Uint32Array;
  /** The absolute slice index `counts` was last brought up to. */
  slice: number;
  total: number;
}

/**
 * Each key's share of the replay window (RFC 9449 11.1): how many proofs of one `jkt` this process
 * accepted within the window, so no key can take more than `perKey` of what the replay store holds.
 * Kept per process beside whichever store remembers the proofs (memory or shared), so with Redis the
 * quota holds per process. Replays are never counted (only accepted proofs are), so replaying a
 * captured proof costs its key nothing.
 */
export class KeyQuota {
  readonly #keys: LRUCache<string, Counter>;
  readonly #perKey: number;
  readonly #sliceMs: number;
  readonly #now: () => number;

  /** `window` in seconds; `maxKeys` bounds the keys tracked (the least recently used is forgotten). */
  constructor(perKey: number, window: number, maxKeys: number, now: () => number = Date.now) {
    this.#perKey = perKey;
    this.#sliceMs = Math.ceil((window * 1000) / SLICES);
    this.#keys = new LRUCache({ max: maxKeys });
    this.#now = now;
  }

  /** Keys with proofs counted (some of them maybe with none left in the window). */
  get keys(): number {
    return this.#keys.size;
  }

  /** Proofs of `jkt` accepted within the window. */
  count(jkt: string): number {
    const counter = this.#keys.get(jkt);
    return counter === undefined ? 0 : this.#advance(counter, this.#sliceAt(this.#now())).total;
  }

  /** Throws `DpopKeyQuotaError` (429) when `jkt` has used its share, with the time until a slice of it frees. */
  admit(jkt: string): void {
    const counter = this.#keys.get(jkt);
    if (counter === undefined) return;
    const now = this.#now();
    if (this.#advance(counter, this.#sliceAt(now)).total >= this.#perKey) this.refuse(jkt);
  }

  /** Throws `DpopKeyQuotaError` for `jkt`, with `Retry-After` until its oldest counted proof leaves the window. */
  refuse(jkt: string): never {
    const now = this.#now();
    const counter = this.#keys.get(jkt);
    let oldest = this.#sliceAt(now);
    if (counter !== undefined) {
      for (let s = counter.slice - SLICES; s <= counter.slice; s++) {
        if (counter.counts[s % RING]! > 0) {
          oldest = s;
          break;
        }
      }
    }
    throw new DpopKeyQuotaError(((oldest + RING) * this.#sliceMs - now) / 1000);
  }

  /** Counts one accepted proof of `jkt`. */
  record(jkt: string): void {
    const slice = this.#sliceAt(this.#now());
    let counter = this.#keys.get(jkt);
    if (counter === undefined) {
      counter = { counts: new Uint32Array(RING), slice, total: 0 };
      this.#keys.set(jkt, counter);
    }
    this.#advance(counter, slice);
    counter.counts[slice % RING]!++;
    counter.total++;
  }

  #sliceAt(now: number): number {
    return Math.floor(now / this.#sliceMs);
  }

  /** Drops the slices that left the window since the counter was last used. */
  #advance(counter: Counter, slice: number): Counter {
    if (slice - counter.slice >= RING) {
      counter.counts.fill(0);
      counter.total = 0;
    } else {
      for (let s = counter.slice + 1; s <= slice; s++) {
        counter.total -= counter.counts[s % RING]!;
        counter.counts[s % RING] = 0;
      }
    }
    if (slice > counter.slice) counter.slice = slice;
    return counter;
  }
}
