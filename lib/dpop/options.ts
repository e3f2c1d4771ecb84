import { ASYMMETRIC_ALGORITHMS } from '../core/options.js';
import { ConfigurationError } from '../errors.js';
import type { KeyStore } from '../keys/store.js';

/** Server nonces (RFC 9449 8). Stateless: every process sharing `secret` issues and accepts the same nonces. */
export interface DpopNonceOptions {
  /**
   * HMAC key of the nonces, at least 32 bytes. A list rotates: the first issues nonces, every one is
   * accepted (`[newer, older]`), so processes can be updated one by one.
   */
  secret: string | Uint8Array | readonly (string | Uint8Array)[];
  /** Seconds one nonce is issued for; it is accepted for up to twice that. Default 300. */
  lifetime?: number | undefined;
}

/** How many proofs are remembered against replay (RFC 9449 11.1), and how many of them one key may have. */
export interface DpopReplayCacheOptions {
  /**
   * Most proofs remembered in this process's memory (about 150 bytes each). When all are inside their
   * window, a new proof gets 503 with `Retry-After` (429 for a key holding an even share or more) rather
   * than one being forgotten. Default 100,000.
   */
  max?: number | undefined;
  /**
   * Most proofs one key (`jkt`) may have within the replay window; its next proof gets 429
   * `dpop_key_quota_exceeded` with `Retry-After`, every other key is unaffected. Counted per process,
   * also with a shared `replayStore`. The window is `iatWindow` plus twice the clock tolerance (310 s by
   * default; twice the nonce lifetime with nonces), so the default 25,000 lets one key sustain about 80
   * requests a second. Default 25,000, or a quarter of `max` when that is smaller.
   */
  maxPerKey?: number | undefined;
}

/** Options of DPoP sender-constrained tokens (RFC 9449), under `authenticate({ dpop: { … } })`. */
export interface DpopOptions {
  /** `true`: DPoP only, every token must come with a proof. Default false: unbound tokens still work with `Bearer`. */
  required?: boolean | undefined;
  /** Proof algorithms accepted (the `algs` of the challenge). Default: every asymmetric one we verify, EdDSA included. */
  algorithms?: readonly string[] | undefined;
  /** Seconds a proof's `iat` may lie in the past (and its `jti` is remembered). Default 300. */
  iatWindow?: number | undefined;
  /** Server nonces: once configured, every proof must carry a valid one (`use_dpop_nonce` otherwise). Default: none. */
  nonce?: DpopNonceOptions | undefined;
  /**
   * Where proof `jti`s are remembered, shared by every process: a store with an atomic `lock(key, ttl)`
   * such as `redisStore(client)` from `koa-token-guard/redis`. Default: the `store` option when it has
   * `lock`, else this process's memory.
   */
  replayStore?: KeyStore | undefined;
  /**
   * When the shared replay store fails: `'memory'` (default) checks the proof against this process's
   * memory instead and reports `dpop_replay_store_failed` through `onEvent`; `'unavailable'` answers 503.
   */
  replayStoreFailure?: 'memory' | 'unavailable' | undefined;
  /**
   * The public origin(s) of this API, e.g. `'https://api.example.com'` (a list when it is reached under
   * several): a proof's `htu` must then be one of them plus the request's path, whatever the request's
   * `Host` (or, with `app.proxy`, `X-Forwarded-Host`/`-Proto`) says. Set it whenever the app is reached
   * through a proxy or load balancer, or is not behind one that checks `Host`. Default: the URL is built
   * from Koa's `protocol` and `host`.
   */
  origin?: string | readonly string[] | undefined;
  /** Bounds of the replay cache: its size in memory and each key's share. Default `{ max: 100_000, maxPerKey: 25_000 }`. */
  replayCache?: DpopReplayCacheOptions | undefined;
}

/** The DPoP defaults, in one place. */
export const DPOP_DEFAULTS = Object.freeze({
  required: false,
  iatWindow: 300,
  nonceLifetime: 300,
  /** Longest proof accepted, in characters: an RSA-4096 proof is about 2,000. */
  maxProofLength: 4096,
  /** Proofs remembered in memory, and the most one key may have within the window. */
  replayCache: Object.freeze({ max: 100_000, maxPerKey: 25_000 }),
  replayStoreFailure: 'memory' as const,
});

export interface ResolvedDpopOptions {
  readonly required: boolean;
  readonly algorithms: readonly string[];
  /** `algs` of the challenges: the algorithms, space-separated. */
  readonly algs: string;
  readonly iatWindow: number;
  readonly clockTolerance: number;
  readonly nonce: { readonly secrets: readonly Uint8Array[]; readonly lifetime: number } | undefined;
  readonly replayStore: KeyStore | undefined;
  readonly replayStoreFailure: 'memory' | 'unavailable';
  readonly replayCache: { readonly max: number; readonly maxPerKey: number };
  /** `dpop.origin`, normalised (`https://host[:port]`); undefined: from the request. */
  readonly origins: readonly string[] | undefined;
}

function seconds(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(`\`dpop.${name}\` must be a positive number of seconds (default ${fallback}); got ${String(value)}.`);
  }
  return value;
}

function resolveNonce(nonce: DpopNonceOptions | undefined): ResolvedDpopOptions['nonce'] {
  if (nonce === undefined) return undefined;
  if (nonce === null || typeof nonce !== 'object') throw new ConfigurationError('`dpop.nonce` must be an object like { secret, lifetime: 300 }.');
  const list = Array.isArray(nonce.secret) ? nonce.secret as readonly (string | Uint8Array)[] : [nonce.secret as string | Uint8Array];
  const secrets = list.map((s) => (typeof s === 'string' ? new TextEncoder().encode(s) : s));
  if (secrets.length === 0 || secrets.some((s) => !(s instanceof Uint8Array) || s.byteLength < 32)) {
    throw new ConfigurationError('`dpop.nonce.secret` must be at least 32 bytes (or a list of such, newest first); generate one with `openssl rand -base64 48`.');
  }
  return Object.freeze({ secrets: Object.freeze(secrets), lifetime: seconds('nonce.lifetime', nonce.lifetime, DPOP_DEFAULTS.nonceLifetime) });
}

function resolveOrigins(origin: DpopOptions['origin']): ResolvedDpopOptions['origins'] {
  if (origin === undefined) return undefined;
  const list = typeof origin === 'string' ? [origin] : origin;
  const fix = "e.g. 'https://api.example.com' (scheme, host and port only), or a list of such";
  if (!Array.isArray(list) || list.length === 0) throw new ConfigurationError(`\`dpop.origin\` must be the API's public origin, ${fix}.`);
  return Object.freeze(list.map((value: unknown) => {
    let url: URL | undefined;
    try {
      url = typeof value === 'string' ? new URL(value) : undefined;
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== ''
      || !/^https:\/\/[^/?#]+\/?$/i.test(value as string)) {
      throw new ConfigurationError(`\`dpop.origin\` contains ${JSON.stringify(value)}; it must be an https origin without a path, ${fix}.`);
    }
    return url.origin;
  }));
}

function count(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigurationError(`\`dpop.replayCache.${name}\` must be a positive whole number of proofs (default ${fallback}); got ${String(value)}.`);
  }
  return value;
}

function resolveReplayCache(options: DpopReplayCacheOptions | undefined): ResolvedDpopOptions['replayCache'] {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new ConfigurationError('`dpop.replayCache` must be an object like { max: 100_000, maxPerKey: 25_000 }.');
  }
  const defaults = DPOP_DEFAULTS.replayCache;
  const max = count('max', options?.max, defaults.max);
  const maxPerKey = count('maxPerKey', options?.maxPerKey, Math.max(1, Math.min(defaults.maxPerKey, Math.floor(max / 4))));
  if (maxPerKey > max) {
    throw new ConfigurationError(`\`dpop.replayCache.maxPerKey\` (${maxPerKey}) must not exceed \`max\` (${max}): one key may use a share of the replay cache, not more than all of it.`);
  }
  return Object.freeze({ max, maxPerKey });
}

/**
 * Validates and freezes the `dpop` options once, at startup; undefined when DPoP is off. `store` is
 * the top-level key store (serves as replay store when it has `lock`), `clockTolerance` the leeway.
 */
export function resolveDpopOptions(dpop: DpopOptions | undefined, store: KeyStore | undefined, clockTolerance: number): ResolvedDpopOptions | undefined {
  if (dpop === undefined) return undefined;
  if (dpop === null || typeof dpop !== 'object') throw new ConfigurationError('`dpop` must be an object, e.g. { required: false }; omit it to turn DPoP off.');
  if (dpop.required !== undefined && typeof dpop.required !== 'boolean') throw new ConfigurationError('`dpop.required` must be true or false.');
  const algorithms = dpop.algorithms === undefined ? [...ASYMMETRIC_ALGORITHMS] : [...dpop.algorithms];
  if (algorithms.length === 0) throw new ConfigurationError('`dpop.algorithms` must not be empty; omit it to allow every asymmetric algorithm.');
  for (const alg of algorithms) {
    if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new ConfigurationError(`\`dpop.algorithms\` contains ${JSON.stringify(alg)}; proofs are signed with a private key (RFC 9449 4.2), choose from ${ASYMMETRIC_ALGORITHMS.join(', ')}.`);
    }
  }
  const replayStore = dpop.replayStore ?? (typeof store?.lock === 'function' ? store : undefined);
  if (replayStore !== undefined && (replayStore === null || typeof replayStore.lock !== 'function')) {
    throw new ConfigurationError('`dpop.replayStore` must have an atomic lock(key, ttl), e.g. redisStore(client) from koa-token-guard/redis.');
  }
  const replayStoreFailure = dpop.replayStoreFailure ?? DPOP_DEFAULTS.replayStoreFailure;
  if (replayStoreFailure !== 'memory' && replayStoreFailure !== 'unavailable') {
    throw new ConfigurationError("`dpop.replayStoreFailure` must be 'memory' or 'unavailable'.");
  }
  return Object.freeze({
    required: dpop.required ?? DPOP_DEFAULTS.required,
    algorithms: Object.freeze(algorithms),
    algs: algorithms.join(' '),
    iatWindow: seconds('iatWindow', dpop.iatWindow, DPOP_DEFAULTS.iatWindow),
    clockTolerance,
    nonce: resolveNonce(dpop.nonce),
    replayStore,
    replayStoreFailure,
    replayCache: resolveReplayCache(dpop.replayCache),
    origins: resolveOrigins(dpop.origin),
  });
}
