import { debug, emit, type EventHook } from '../events.js';
import { decodeSharedKeySet, encodeSharedKeySet, within, type KeyStore, type SharedKeySet } from './store.js';

/** Waiting for another process's fetch: poll the store this often (ms). */
const POLL = 50;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

type Operation = 'get' | 'set' | 'lock' | 'unlock';

/**
 * One key set's entry in a shared store (Redis, say): the last good JWKS and metadata that every
 * process reads before calling the provider, and a lock so that one process fetches while the others
 * wait. No call throws or hangs a request: a store that fails or times out is a miss.
 */
export class SharedKeySetEntry {
  readonly #store: KeyStore;
  readonly #id: string;
  readonly #key: string;
  /** Seconds any one store call may take. */
  readonly #timeout: number;
  readonly #onEvent: EventHook | undefined;

  constructor(store: KeyStore, id: string, timeout: number, onEvent: EventHook | undefined) {
    this.#store = store;
    this.#id = id;
    this.#key = `koa-token-guard:keys:${id}`;
    this.#timeout = timeout;
    this.#onEvent = onEvent;
  }

  /** The stored copy, or undefined when there is none, it is unreadable, or the store failed. */
  async read(): Promise<SharedKeySet | undefined> {
    return decodeSharedKeySet(await this.#call('get', () => this.#store.get(this.#key)));
  }

  /** Takes the fetch lock: false while another process holds it; undefined without locking or on failure. */
  lock(): Promise<boolean | undefined> {
    const store = this.#store;
    if (store.lock === undefined) return Promise.resolve(undefined);
    return this.#call('lock', () => store.lock!(`${this.#key}:lock`, this.#timeout + 1));
  }

  /** Waits up to one store timeout for another process to store a copy that `accept`s. */
  async awaitOther(accept: (entry: SharedKeySet) => boolean): Promise<SharedKeySet | undefined> {
    // Monotonic: a wall clock step must not stretch or cut the wait.
    const deadline = performance.now() + this.#timeout * 1000;
    while (performance.now() < deadline) {
      await sleep(POLL);
      const entry = await this.read();
      if (entry !== undefined && accept(entry)) return entry;
    }
    return undefined;
  }

  /** Stores a fresh copy for `ttl` seconds and releases the lock, in the background: no request waits on it. */
  publish(entry: SharedKeySet, ttl: number): void {
    const store = this.#store;
    void this.#call('set', () => store.set(this.#key, encodeSharedKeySet(entry), ttl))
      .then(() => (store.unlock === undefined ? undefined : this.#call('unlock', () => store.unlock!(`${this.#key}:lock`))));
  }

  async #call<T>(operation: Operation, call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await within(call(), this.#timeout, 'store timed out');
    } catch (error) {
      debug('%s: store %s failed: %s', this.#id, operation, (error as Error)?.message);
      emit(this.#onEvent, { type: 'key_store_failed', source: this.#id, operation });
      return undefined;
    }
  }
}
