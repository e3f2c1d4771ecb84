import { debug, emit, type EventHook } from '../events.js';
import { within, type KeyStore } from '../keys/store.js';

/** Waiting for another process's call: poll the store this often (ms). */
const POLL = 25;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

type Operation = 'get' | 'set' | 'lock' | 'unlock';

/** A stored answer and when the server gave it (ms since the epoch): each reader bounds its age by its own `cache.ttl`. */
export interface StoredAnswer {
  readonly answer: Record<string, unknown>;
  readonly at: number;
}

// v2 added `at`: a v1 entry (no age) is a miss, so a reader never keeps an answer longer than its own ttl allows.
const VERSION = 2;

/**
 * Introspection answers in a shared store (Redis, say), so that every process of a service asks the
 * authorization server once per token: keyed by the hashed answer key, stored with the TTL the cache
 * would give them, with a lock so that processes meeting one new token together make one call. What is
 * stored is the server's answer (the token's claims), never the token. No call throws or hangs a
 * request: a store that fails or times out is a miss, and the process asks the server itself.
 */
export class SharedAnswers {
  readonly #store: KeyStore;
  /** Names the endpoint in events; known once discovery found it. */
  readonly #source: () => string;
  /** Seconds one store call may take, and the longest wait for another process's answer. */
  readonly #timeout: number;
  readonly #onEvent: EventHook | undefined;

  constructor(store: KeyStore, source: () => string, timeout: number, onEvent: EventHook | undefined) {
    this.#store = store;
    this.#source = source;
    this.#timeout = timeout;
    this.#onEvent = onEvent;
  }

  /** The stored answer for a key, or undefined (none, unreadable, or the store failed). */
  async read(key: string): Promise<StoredAnswer | undefined> {
    const value = await this.#call('get', () => this.#store.get(this.#name(key)));
    if (typeof value !== 'string') return undefined;
    try {
      const entry = JSON.parse(value) as { v?: unknown; answer?: unknown; at?: unknown };
      const { answer, at } = entry.v === VERSION ? entry : {};
      if (answer === null || typeof answer !== 'object' || Array.isArray(answer) || typeof at !== 'number' || !Number.isFinite(at)) return undefined;
      // A writer whose clock runs ahead must not make an answer look younger than it is here.
      return { answer: answer as Record<string, unknown>, at: Math.min(at, Date.now()) };
    } catch {
      return undefined;
    }
  }

  /** Takes the call lock of a key: false while another process holds it; undefined without locking or on failure. */
  lock(key: string): Promise<boolean | undefined> {
    const store = this.#store;
    if (store.lock === undefined) return Promise.resolve(undefined);
    return this.#call('lock', () => store.lock!(`${this.#name(key)}:lock`, this.#timeout + 1));
  }

  /** Waits up to `timeout` for another process to store the answer of a key. */
  async awaitOther(key: string): Promise<StoredAnswer | undefined> {
    const deadline = performance.now() + this.#timeout * 1000;
    while (performance.now() < deadline) {
      await sleep(POLL);
      const answer = await this.read(key);
      if (answer !== undefined) return answer;
    }
    return undefined;
  }

  /** Stores an answer given at `at` for `ttl` seconds (none when 0) and releases the lock, in the background. */
  publish(key: string, answer: Record<string, unknown> | undefined, ttl: number, at: number): void {
    const store = this.#store;
    const name = this.#name(key);
    const stored = answer === undefined || ttl <= 0 ? Promise.resolve(undefined)
      : this.#call('set', () => store.set(name, JSON.stringify({ v: VERSION, at, answer }), ttl));
    void stored.then(() => (store.unlock === undefined ? undefined : this.#call('unlock', () => store.unlock!(`${name}:lock`))));
  }

  #name(key: string): string {
    return `koa-token-guard:introspection:${key}`;
  }

  async #call<T>(operation: Operation, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await within(call(), this.#timeout, 'store timed out');
    } catch (error) {
      debug('%s: store %s failed: %s', this.#source(), operation, (error as Error)?.message);
      emit(this.#onEvent, { type: 'key_store_failed', source: this.#source(), operation });
      return undefined;
    }
  }
}
