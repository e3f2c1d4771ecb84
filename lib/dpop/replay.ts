import { hash } from 'node:crypto';
import { DpopReplayUnavailableError } from '../errors.js';
import { emit, type EventHook } from '../events.js';
import type { KeyStore } from '../keys/store.js';
import type { KeyQuota } from './quota.js';

/** Remembers proofs for their window: `add()` says false for a proof seen before, throws or rejects when it cannot tell. */
export interface ReplayCache {
  /**
   * Records the proof `jti` of key `jkt` for the window; false when it was already recorded (a replay).
   * This process's memory answers at once; a shared store with a promise.
   */
  add(jkt: string, jti: string): boolean | Promise<boolean>;
}

/** The store key of one proof: hashed, so neither a client's `jti` nor its length reaches the store; length-prefixed, so no two pairs collide. */
export function replayKey(jkt: string, jti: string): string {
  return `dpop:jti:${hash('sha256', `${jkt.length}:${jkt}${jti}`, 'base64url')}`;
}

/**
 * This process's key of one proof: the pair itself when its `jti` is short (a UUID, the usual one, is 36
 * characters), else `replayKey()`. A SHA-256 per proof made a DPoP request cost 1.04–1.08 × the CPU over
 * HTTP (issue 23); the shorter form still bounds an entry to about 120 characters. Length-prefixed, so no
 * two pairs collide, and never of `replayKey()`'s form.
 */
export function memoryReplayKey(jkt: string, jti: string): string {
  return jti.length <= 64 ? `${jkt.length}:${jkt}${jti}` : replayKey(jkt, jti);
}

// Expired proofs are dropped in batches at most this often (ms), so a proof costs one comparison, not
// an iterator: the memory holds the proofs of the last window plus at most this long.
const SWEEP_EVERY = 1000;

/**
 * This process's memory, bounded to `max` entries. Entries are kept in insertion order, which is their
 * expiry order (one TTL for all), so expired ones are dropped from the front, as they expire (batched),
 * not only once full: a server holds the proofs of its last window, not `max` of them forever. When every
 * entry is still inside its window, a new proof is refused with a 503 (fail closed): forgetting one would
 * allow its replay.
 */
export class MemoryReplayStore {
  readonly #entries = new Map<string, number>();
  readonly #max: number;
  readonly #now: () => number;
  /** When the oldest entry will have expired for a while (ms); Infinity when empty. */
  #sweepAt = Infinity;

  constructor(max: number, now: () => number = Date.now) {
    this.#max = max;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** True when `key` was new and is now recorded for `ttl` seconds; false for a replay; throws when full. */
  add(key: string, ttl: number): boolean {
    const now = this.#now();
    if (now >= this.#sweepAt) this.#sweep(now);
    const expires = this.#entries.get(key);
    if (expires !== undefined && expires > now) return false;
    if (expires !== undefined) this.#entries.delete(key);
    if (this.#entries.size >= this.#max) this.#sweep(now);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.values().next().value as number;
      throw new DpopReplayUnavailableError((oldest - now) / 1000);
    }
    const until = now + ttl * 1000;
    this.#entries.set(key, until);
    if (this.#sweepAt === Infinity) this.#sweepAt = until + SWEEP_EVERY;
    return true;
  }

  #sweep(now: number): void {
    for (const [key, expires] of this.#entries) {
      if (expires > now) {
        this.#sweepAt = expires + SWEEP_EVERY;
        return;
      }
      this.#entries.delete(key);
    }
    this.#sweepAt = Infinity;
  }
}

/** How the replay cache behaves: the window (s), each key's share, the shared store if any, and what to do when it fails. */
export interface ReplayCacheOptions {
  readonly ttl: number;
  readonly memory: MemoryReplayStore;
  /** Each key's share of the window, checked before the store is asked and counted once it accepted. */
  readonly quota: KeyQuota;
  readonly shared: KeyStore | undefined;
  readonly onFailure: 'memory' | 'unavailable';
  readonly onEvent: EventHook | undefined;
}

/**
 * The replay cache: one atomic set-if-absent (`lock`, i.e. Redis `SET NX PX`) in the shared store, so
 * exactly one process accepts a proof. When the store fails, this process's memory decides instead (it
 * still refuses its own replays) and `dpop_replay_store_failed` is reported; or 503 with `'unavailable'`.
 * A key over its share gets 429 before any store is asked; when memory is full, a key holding at least
 * an even share of it gets 429 too (it is the flood), any other key 503 (fail closed).
 */
export function createReplayCache({ ttl, memory, quota, shared, onFailure, onEvent }: ReplayCacheOptions): ReplayCache {
  const remember = (jkt: string, key: string): boolean => {
    try {
      return memory.add(key, ttl);
    } catch (error) {
      if (error instanceof DpopReplayUnavailableError && quota.count(jkt) * quota.keys >= memory.size) quota.refuse(jkt);
      throw error;
    }
  };
  const counted = (jkt: string, accepted: boolean): boolean => {
    if (accepted) quota.record(jkt);
    return accepted;
  };
  if (shared === undefined) {
    return {
      add(jkt, jti) {
        quota.admit(jkt);
        return counted(jkt, remember(jkt, memoryReplayKey(jkt, jti)));
      },
    };
  }
  const lock = shared.lock!.bind(shared);
  return {
    async add(jkt, jti) {
      quota.admit(jkt);
      const key = replayKey(jkt, jti);
      let accepted: boolean;
      try {
        accepted = await lock(key, ttl);
      } catch (error) {
        emit(onEvent, { type: 'dpop_replay_store_failed' });
        if (onFailure === 'unavailable') throw new DpopReplayUnavailableError(1, { cause: error });
        accepted = remember(jkt, key);
      }
      return counted(jkt, accepted);
    },
  };
}
