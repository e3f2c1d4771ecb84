/**
 * `koa-token-guard/redis`: a key store shared by every process of a service through Redis. Written are
 * the JWKS and discovery metadata (public anyway) and, with `introspection`, the authorization server's
 * answers (a token's claims, keyed by a SHA-256: never the token). Import it from this subpath only:
 * the root export never loads a Redis client.
 */
import { within, type KeyStore } from './keys/store.js';

/**
 * The part of a node-redis client (`createClient()` from the `redis` package, v4 to v6, or a cluster)
 * this store uses. Raw commands keep it independent of the client's option-object API, which changed
 * between major versions.
 */
export interface RedisClientLike {
  /** False while disconnected: the store then answers at once instead of queueing commands. */
  readonly isReady?: boolean;
  sendCommand(args: string[]): Promise<unknown>;
}

/** Options of `redisStore()`. */
export interface RedisStoreOptions {
  /** Prepended to every key, e.g. to separate environments sharing one Redis. Default `''`. */
  prefix?: string | undefined;
  /**
   * Seconds a Redis command may take before the key set gives up on it and uses its own memory and
   * fetch instead. Default 0.5: a slow Redis must never slow down requests much.
   */
  timeout?: number | undefined;
}

class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

/**
 * A `KeyStore` on a connected node-redis client: `authenticate({ ..., store: redisStore(client) })`.
 * Every failure (disconnected, timed out, command error) rejects quickly; the key set then carries on
 * with its own fetch and memory, so no request ever fails because Redis did. Attach an `error` listener
 * to the client as node-redis requires, or its reconnection errors crash the process.
 */
export function redisStore(client: RedisClientLike, options: RedisStoreOptions = {}): KeyStore {
  if (client === null || typeof client !== 'object' || typeof client.sendCommand !== 'function') {
    throw new TypeError('koa-token-guard: redisStore() takes a connected client from the `redis` package (createClient()).');
  }
  const prefix = options.prefix ?? '';
  const timeout = options.timeout ?? 0.5;
  if (typeof prefix !== 'string') throw new TypeError('koa-token-guard: redisStore `prefix` must be a string.');
  if (typeof timeout !== 'number' || !(timeout > 0)) throw new TypeError('koa-token-guard: redisStore `timeout` must be a positive number of seconds.');

  const command = (args: string[]): Promise<unknown> => {
    if (client.isReady === false) return Promise.reject(new RedisUnavailableError('redis client is not ready'));
    return within(client.sendCommand(args), timeout, `redis did not answer within ${timeout} s`);
  };
  const ttlMs = (ttl: number): string => String(Math.max(1, Math.ceil(ttl * 1000)));

  return {
    async get(key) {
      const value = await command(['GET', prefix + key]);
      if (value === null || value === undefined) return undefined;
      return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
    },
    async set(key, value, ttl) {
      await command(['SET', prefix + key, value, 'PX', ttlMs(ttl)]);
    },
    async lock(key, ttl) {
      return (await command(['SET', prefix + key, String(process.pid), 'NX', 'PX', ttlMs(ttl)])) === 'OK';
    },
    async unlock(key) {
      await command(['DEL', prefix + key]);
    },
  };
}

export type { KeyStore } from './keys/store.js';
