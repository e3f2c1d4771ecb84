/**
 * Where key sets (the JWKS and discovery metadata) and introspection answers are kept, so that several
 * processes can share one fetch and one last-good copy. Keys never hold a token; values are opaque strings.
 *
 * A store must never make a request fail: the key set treats a rejection as a miss, and a store that
 * talks to a server should time out quickly (the Redis store does) because the key set waits for it.
 */
export interface KeyStore {
  /** The value stored under `key`, or undefined. */
  get(key: string): Promise<string | undefined>;
  /** Stores `value` under `key` for `ttl` seconds. */
  set(key: string, value: string, ttl: number): Promise<void>;
  /**
   * Optional: takes a lock for `ttl` seconds, resolving true for the one caller that got it. With it,
   * processes starting together let one of them fetch while the others wait for its result.
   */
  lock?(key: string, ttl: number): Promise<boolean>;
  /** Optional, with `lock`: releases it once the fetched key set is stored. */
  unlock?(key: string): Promise<void>;
}

/** Settles like `promise`, or rejects after `seconds`: a store that hangs must never hold a request. */
export async function within<T>(promise: Promise<T>, seconds: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), seconds * 1000).unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface MemoryEntry { value: string; expires: number }

/** The default store: this process's memory. Entries expire after their TTL. */
export function memoryStore(now: () => number = Date.now): KeyStore {
  const entries = new Map<string, MemoryEntry>();
  const read = (key: string): string | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.value;
  };
  return {
    get: (key) => Promise.resolve(read(key)),
    set(key, value, ttl) {
      entries.set(key, { value, expires: now() + ttl * 1000 });
      return Promise.resolve();
    },
    lock(key, ttl) {
      if (read(key) !== undefined) return Promise.resolve(false);
      entries.set(key, { value: '1', expires: now() + ttl * 1000 });
      return Promise.resolve(true);
    },
    unlock(key) {
      entries.delete(key);
      return Promise.resolve();
    },
  };
}

/** What goes into the store for one key set: the JWKS as fetched, its fetch time and max age, and the discovery metadata. */
export interface SharedKeySet {
  /** Epoch milliseconds of the provider fetch, so every process applies the same max age and staleness. */
  readonly fetchedAt: number;
  /** Seconds the key set stays fresh. */
  readonly maxAge: number;
  readonly jwksUri: string;
  readonly metadata?: Record<string, unknown> | undefined;
  readonly keys: readonly unknown[];
}

export function encodeSharedKeySet(entry: SharedKeySet): string {
  return JSON.stringify({ v: 1, ...entry });
}

/** Parses a stored entry; anything malformed is a miss, never an error. */
export function decodeSharedKeySet(value: string | undefined): SharedKeySet | undefined {
  if (typeof value !== 'string') return undefined;
  let entry: unknown;
  try {
    entry = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (entry === null || typeof entry !== 'object') return undefined;
  const e = entry as Record<string, unknown>;
  if (e.v !== 1 || typeof e.fetchedAt !== 'number' || typeof e.maxAge !== 'number' || typeof e.jwksUri !== 'string' || !Array.isArray(e.keys)) return undefined;
  const metadata = e.metadata !== null && typeof e.metadata === 'object' ? e.metadata as Record<string, unknown> : undefined;
  return { fetchedAt: e.fetchedAt, maxAge: e.maxAge, jwksUri: e.jwksUri, metadata, keys: e.keys };
}
