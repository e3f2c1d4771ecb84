import { LRUCache } from 'lru-cache';
import { Doorkeeper } from './doorkeeper.js';
import type { VerifiedJwt } from './verify.js';

/** What the cache needs of a key set: a counter that moves whenever a key leaves the set. */
export interface KeyGeneration {
  readonly keyGeneration: number;
}

/** Bounds of the verified-token cache. Durations in seconds. */
export interface TokenCacheOptions {
  /** Most entries kept; the least recently used is evicted first. */
  readonly max: number;
  /** Longest an entry is served, whatever the token's `exp`. */
  readonly maxTtl: number;
  /** The verifier's leeway for `exp`, so a cached token lives exactly as long as a verified one would. */
  readonly clockTolerance: number;
  /** The verifier's `maxTokenAge`, when set: an entry never outlives the token's age limit either. */
  readonly maxTokenAge: number | undefined;
}

/**
 * Where a token is kept in the verified-token cache: its last 64 characters. A Map hashes every new
 * string it is given, and each request's header is a new string: hashing a whole 700-character token
 * cost about 1.4 µs per look-up, its tail 0.3 µs with the full comparison of a hit included. The tail of
 * a JWS is its signature, which no two valid tokens share, and an entry is served only to the very token
 * it holds (`===`), so a made-up token with a cached token's tail is a miss, verified in full, never stored.
 */
function cacheKeyOf(token: string): string {
  return token.length <= 64 ? token : token.slice(-64);
}

interface Entry {
  readonly verified: VerifiedJwt<object>;
  /** Milliseconds since the epoch from which the entry must not be served. */
  readonly expiresAt: number;
  readonly source: KeyGeneration | undefined;
  readonly generation: number;
}

/**
 * Successful verifications of one verifier, keyed by the exact token. A hit hands back the same frozen
 * `VerifiedJwt` (claims, header, scopes), so nothing is parsed or checked twice; an entry is dropped
 * once the token would no longer verify by time (`exp`, `maxTokenAge`), after `maxTtl`, or as soon as
 * a key left the key set it was verified against. Failures are never stored, so a flood of forged
 * tokens can neither enter the cache nor evict what is in it.
 *
 * Admission: while there is room, a verified token enters at once. Once the cache is full, a new token
 * enters (evicting the least recently used) only at its second verification, so a stream of one-time
 * tokens (valid ones included) neither evicts the tokens in use nor churns memory; a token used again
 * pays one extra signature check in its life.
 */
export class VerifiedTokenCache {
  readonly #lru: LRUCache<string, Entry>;
  readonly #options: TokenCacheOptions;
  readonly #doorkeeper: Doorkeeper;

  constructor(options: TokenCacheOptions) {
    this.#options = options;
    this.#lru = new LRUCache<string, Entry>({ max: options.max });
    this.#doorkeeper = new Doorkeeper(options.max);
  }

  /** Entries held now (at most `max`). */
  get size(): number {
    return this.#lru.size;
  }

  get<T extends object>(token: string): VerifiedJwt<T> | undefined {
    const key = cacheKeyOf(token);
    const entry = this.#lru.get(key);
    if (entry === undefined || entry.verified.token !== token) return undefined;
    if (Date.now() >= entry.expiresAt || (entry.source !== undefined && entry.source.keyGeneration !== entry.generation)) {
      this.#lru.delete(key);
      return undefined;
    }
    return entry.verified as VerifiedJwt<T>;
  }

  /**
   * Stores a verification. `generation` is the key set's `keyGeneration` read before verifying, so a
   * key removed while the signature was being checked still invalidates the entry.
   */
  set(token: string, verified: VerifiedJwt<object>, source: KeyGeneration | undefined, generation: number): void {
    const now = Date.now();
    const { exp, nbf, iat } = verified.claims;
    // Accepted within the clock tolerance but not valid yet: verify again until it is.
    if (typeof nbf === 'number' && nbf * 1000 > now) return;
    const { clockTolerance, maxTokenAge, maxTtl } = this.#options;
    // jose refuses once floor(now) >= exp + tolerance, and once floor(now) - iat > maxTokenAge + tolerance.
    let expiresAt = Math.min(now + maxTtl * 1000, Math.ceil(exp + clockTolerance) * 1000);
    if (maxTokenAge !== undefined && typeof iat === 'number') {
      expiresAt = Math.min(expiresAt, (Math.floor(iat + maxTokenAge + clockTolerance) + 1) * 1000);
    }
    if (expiresAt <= now) return;
    // Full: the newcomer would evict a token in use; only one seen before is worth that. Asked of the
    // doorkeeper alone, not first whether the token is held: a fresh token is not, and that look-up (a key
    // cut and hashed) cost it about 1 % over HTTP. One held already (a second verification of it that was not
    // shared) and not seen within the doorkeeper's window keeps its entry as it is, which is as valid.
    if (this.#lru.size >= this.#options.max && !this.#doorkeeper.seenBefore(token)) return;
    this.#lru.set(cacheKeyOf(token), { verified, expiresAt, source, generation });
  }
}

/** Freezes a verification result so a cached one, shared by every request that carries the token, cannot be altered by one of them. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    // Most claim values are primitives: no call for them.
    for (const inner of Object.values(value)) if (inner !== null && typeof inner === 'object') deepFreeze(inner);
  }
  return value;
}
