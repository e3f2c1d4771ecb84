import { importJWK, type JWK, type JWSHeaderParameters } from 'jose';
import { InvalidTokenError, KeySourceUnavailableError } from '../errors.js';
import { debug, emit, type EventHook, type KeySetLoadReason } from '../events.js';
import { discover, type IssuerMetadata } from './discovery.js';
import { fetchJson, KeySourceError, type FetchJsonOptions } from './fetch.js';
import { indexByKid, selectKey, unusableFor, usableKeys } from './select.js';
import { SharedKeySetEntry } from './shared.js';
import type { KeyStore, SharedKeySet } from './store.js';
import { warnOnce } from '../warnings.js';

/** How a key set fetches and ages its keys. Durations in seconds. */
export interface KeySetOptions extends FetchJsonOptions {
  /** Where the keys are: a JWKS URL, or an issuer whose discovery document names one. */
  source: { jwksUri: string } | { issuer: string };
  /** Least time between provider calls for unknown `kid`s, and between retries after a failure. */
  cooldown: number;
  /** Default freshness; a provider's `Cache-Control: max-age` may shorten it, down to `cooldown`. */
  maxAge: number;
  /** How long past its fetch a key set may still serve when refreshing fails. */
  maxStale: number;
  /** Shared store for the JWKS and metadata (Redis, say); without one, this process's memory only. */
  store?: KeyStore | undefined;
  /** Receives key set events. */
  onEvent?: EventHook | undefined;
  /** Clock in milliseconds; replaceable for specs. */
  now?: () => number;
}

type VerifyKey = CryptoKey | Uint8Array;

interface Snapshot {
  readonly keys: readonly JWK[];
  /** Keys in the document, usable or not. */
  readonly total: number;
  readonly byKid: Map<string, number[]>;
  /** Epoch ms of the provider fetch (possibly by another process). */
  readonly fetchedAt: number;
  /** Milliseconds this snapshot stays fresh. */
  readonly maxAge: number;
  /** Imported keys by `index + alg`: each key is imported once per algorithm, not per request. */
  readonly imported: Map<string, Promise<VerifyKey>>;
}

/** A provider's `Retry-After` is honoured up to this many seconds; a typo must not lock us out for days. */
const MAX_RETRY_AFTER = 3600;
/** Whether some key of `before` is not in `after` (compared whole, so a `kid` reused for new material counts). */
function dropsKey(before: readonly JWK[], after: readonly JWK[]): boolean {
  const kept = new Set(after.map((k) => JSON.stringify(k)));
  return before.some((k) => !kept.has(JSON.stringify(k)));
}

/**
 * The keys of one issuer for the life of the process. Cold requests share one discovery and one JWKS
 * request; an unknown `kid` refetches at most once per cooldown; an old key set is refreshed in the
 * background while its keys still verify; a failed refresh keeps the last good keys for `maxStale`.
 * With a store, processes share fetches and the last good copy.
 */
export class RemoteKeySet {
  readonly #options: KeySetOptions;
  readonly #now: () => number;
  readonly #id: string;
  readonly #shared: SharedKeySetEntry | undefined;
  #snapshot: Snapshot | undefined;
  #inflight: Promise<Snapshot> | undefined;
  #jwksUri: string | undefined;
  #metadata: IssuerMetadata | undefined;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  /** After a failure: no provider call before this (cooldown, or the provider's `Retry-After`). */
  #blockedUntil = Number.NEGATIVE_INFINITY;
  #lastFailure: KeySourceError | undefined;
  #staleReported = false;
  /** Epoch ms the source said its keys changed (`sourceChanged`): stored copies fetched until then are outdated. */
  #changedAt = Number.NEGATIVE_INFINITY;
  /** The `algorithms` of the verifiers using this key set: keys fitting none of one list are a configuration mistake. */
  readonly #expected = new Set<readonly string[]>();
  /** Provider calls made (discovery and JWKS), for observability and specs. */
  fetchCount = 0;
  /** Bumped whenever a refresh drops a key, so verdicts cached with the old keys stop being served. */
  keyGeneration = 0;

  constructor(options: KeySetOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
    if ('jwksUri' in options.source) this.#jwksUri = options.source.jwksUri;
    this.#id = 'jwksUri' in options.source ? `jwks ${options.source.jwksUri}` : `issuer ${options.source.issuer}`;
    this.#shared = options.store === undefined ? undefined : new SharedKeySetEntry(options.store, this.#id, options.timeout, options.onEvent);
  }

  /** The key that verifies a token with this protected header, or a typed error. */
  async getKey(header: JWSHeaderParameters): Promise<VerifyKey> {
    const alg = header.alg as string;
    const now = this.#now();
    let snapshot = this.#snapshot;
    if (snapshot === undefined || now - snapshot.fetchedAt > this.#options.maxStale * 1000) {
      snapshot = await this.#obtain('cold');
    } else if (now - snapshot.fetchedAt > snapshot.maxAge) {
      if (this.#inflight === undefined && this.#mayFetch(now)) {
        this.#run('max_age').catch(() => undefined); // stale-while-revalidate: no request waits on it
      } else if (this.#lastFailure !== undefined) {
        this.#reportStale(snapshot, now);
      }
    }
    let index = selectKey(snapshot.keys, snapshot.byKid, header.kid, alg);
    if (index < 0) {
      // A refresh under way (often the max-age one this very request started) may bring the key: join it.
      if (this.#inflight !== undefined || this.#mayFetch(now)) {
        snapshot = await this.#obtain('unknown_kid');
        index = selectKey(snapshot.keys, snapshot.byKid, header.kid, alg);
      }
      // While the provider fails, an unknown kid may be a key we cannot fetch: not the token's fault.
      if (index < 0 && this.#lastFailure !== undefined) throw this.#unavailable();
      if (index < 0) throw new InvalidTokenError('kid_unknown', 'signing key not found');
    }
    return this.#import(snapshot, index, alg);
  }

  /**
   * Tells the key set the algorithms a verifier of it allows (once, when binding it): a loaded key set
   * whose keys fit none of them is a configuration mistake, warned once with its fix.
   */
  expectAlgorithms(algorithms: readonly string[]): void {
    if (this.#expected.has(algorithms)) return;
    this.#expected.add(algorithms);
    if (this.#snapshot !== undefined) this.#checkAlgorithms(this.#snapshot, algorithms);
  }

  /** Warns (once per allow-list) and reports when no key of `snapshot` fits any allowed algorithm. */
  #checkAlgorithms(snapshot: Snapshot, allowed: readonly string[]): void {
    const found = unusableFor(this.#id, snapshot.keys, snapshot.total, allowed);
    if (found === undefined) return;
    warnOnce(found.mistake, `${this.#id} ${allowed.join(',')}`);
    emit(this.#options.onEvent, { type: 'key_set_unusable', source: this.#id, keys: snapshot.total, offered: found.offered, allowed: [...allowed] });
  }

  /**
   * The issuer's discovery metadata, discovering (with the key set, coalesced) if not yet done; failures
   * are a `KeySourceUnavailableError` as for keys. Undefined for a key set built from a `jwksUri`.
   */
  async metadata(): Promise<IssuerMetadata | undefined> {
    if ('jwksUri' in this.#options.source) return undefined;
    if (this.#metadata !== undefined) return this.#metadata;
    try {
      await this.#obtain('cold');
    } catch (error) {
      if (this.#metadata === undefined) throw error; // discovery itself failed, not only the JWKS
    }
    return this.#metadata;
  }

  /**
   * Fetches the key set from the provider now, ignoring max age, cooldown and the shared store (an
   * operator's forced refresh after an emergency rotation). Rejects with the `KeySourceError` when it fails.
   */
  async refresh(): Promise<void> {
    await this.#inflight?.catch(() => undefined);
    await this.#run('forced');
  }

  /** Loads the key set unless a fresh one is at hand (from memory or the store): pre-warming at startup. */
  async ready(): Promise<void> {
    const snapshot = this.#snapshot;
    if (snapshot !== undefined && this.#now() - snapshot.fetchedAt <= snapshot.maxAge) return;
    await this.#run('cold');
  }

  /**
   * The source's keys changed at `at` (epoch ms), as whoever publishes them says (the test kit, in process): the next
   * unknown `kid` fetches at once, whatever the cooldown, and no stored copy fetched until then answers a load. Keys in
   * use keep verifying; a failure's back-off stays.
   */
  sourceChanged(at: number): void {
    this.#changedAt = Math.max(this.#changedAt, at);
    // An attempt started after the change has seen it; one started before may not have.
    if (this.#lastAttempt <= at) this.#lastAttempt = Number.NEGATIVE_INFINITY;
  }

  #mayFetch(now: number): boolean {
    return now - this.#lastAttempt >= this.#options.cooldown * 1000 && now >= this.#blockedUntil;
  }

  #run(reason: KeySetLoadReason): Promise<Snapshot> {
    this.#inflight ??= this.#load(reason).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** A snapshot to verify with: freshly loaded, or the last good one within `maxStale`, or a 503. */
  async #obtain(reason: KeySetLoadReason): Promise<Snapshot> {
    const blocked = this.#inflight === undefined && this.#lastFailure !== undefined && !this.#mayFetch(this.#now());
    let cause: unknown = this.#lastFailure;
    if (!blocked) {
      try {
        return await this.#run(reason);
      } catch (error) {
        cause = error;
      }
    }
    const last = this.#snapshot; // may have been adopted from the store during the failed attempt
    const now = this.#now();
    if (last !== undefined && now - last.fetchedAt <= this.#options.maxStale * 1000) {
      if (now - last.fetchedAt > last.maxAge) this.#reportStale(last, now);
      return last;
    }
    throw this.#unavailable(cause);
  }

  #reportStale(snapshot: Snapshot, now: number): void {
    if (this.#staleReported) return;
    this.#staleReported = true;
    const age = Math.round((now - snapshot.fetchedAt) / 1000);
    debug('%s: serving keys %d s old, refreshing failed: %s', this.#id, age, this.#lastFailure?.message);
    if (this.#options.onEvent === undefined) {
      process.emitWarning(`koa-token-guard: refreshing ${this.#id} failed; serving its last good keys, ${age} s old`, { code: 'KOA_TOKEN_GUARD_STALE_KEYS' });
    }
    emit(this.#options.onEvent, { type: 'key_set_served_stale', source: this.#id, age });
  }

  #unavailable(cause: unknown = this.#lastFailure): KeySourceUnavailableError {
    const retryAfter = Math.max(1, (this.#blockedUntil - this.#now()) / 1000);
    return new KeySourceUnavailableError(Number.isFinite(retryAfter) ? retryAfter : this.#options.cooldown, { cause });
  }

  async #load(reason: KeySetLoadReason): Promise<Snapshot> {
    const startedAt = this.#now();
    this.#lastAttempt = startedAt;
    const shared = this.#shared;
    if (shared === undefined || reason === 'forced') return this.#fetch(reason);
    const stored = await shared.read();
    if (stored !== undefined && this.#acceptable(stored, reason, startedAt)) return this.#install(stored, reason, true);
    // Another process is fetching: wait for its result rather than calling the provider too.
    if (await shared.lock() === false) {
      const waited = await shared.awaitOther((entry) => this.#acceptable(entry, reason, this.#now()));
      if (waited !== undefined) return this.#install(waited, reason, true);
    }
    try {
      return await this.#fetch(reason);
    } catch (error) {
      // Stale-if-error across processes: another process's last good copy beats none.
      if (stored !== undefined && (this.#snapshot === undefined || stored.fetchedAt > this.#snapshot.fetchedAt)
        && this.#now() - stored.fetchedAt <= this.#options.maxStale * 1000) {
        this.#install(stored, reason, true, false);
      }
      throw error;
    }
  }

  /** Whether a stored copy answers this load without a provider call. */
  #acceptable(shared: SharedKeySet, reason: KeySetLoadReason, now: number): boolean {
    const current = this.#snapshot;
    if (current !== undefined && shared.fetchedAt <= current.fetchedAt) return false;
    if (shared.fetchedAt <= this.#changedAt) return false;
    const age = now - shared.fetchedAt;
    // An unknown kid: someone fetched within the cooldown, so the provider would not know it either.
    if (reason === 'unknown_kid') return age < this.#options.cooldown * 1000;
    return age <= shared.maxAge * 1000;
  }

  async #fetch(reason: KeySetLoadReason): Promise<Snapshot> {
    const attempt = this.#now();
    this.#lastAttempt = attempt;
    try {
      if (this.#jwksUri === undefined || (reason === 'forced' && 'issuer' in this.#options.source)) {
        this.fetchCount++;
        this.#metadata = await discover((this.#options.source as { issuer: string }).issuer, this.#options);
        this.#jwksUri = this.#metadata.jwks_uri;
      }
      this.fetchCount++;
      const { body, maxAge } = await fetchJson(this.#jwksUri, { ...this.#options, operation: 'jwks' });
      if (!Array.isArray(body.keys)) throw new KeySourceError('shape', `${this.#jwksUri} has no "keys" array`);
      const entry: SharedKeySet = { fetchedAt: this.#now(), maxAge: this.#maxAge(maxAge), jwksUri: this.#jwksUri, metadata: this.#metadata, keys: body.keys as unknown[] };
      const snapshot = this.#install(entry, reason, false);
      // Kept as long as it may serve stale.
      this.#shared?.publish(entry, Math.ceil(this.#options.maxStale + entry.maxAge));
      return snapshot;
    } catch (error) {
      const failure = error instanceof KeySourceError ? error : new KeySourceError('network', 'key set request failed', { cause: error });
      // A vanished JWKS URL may have moved: discover it again next time.
      if (failure.status === 404 && 'issuer' in this.#options.source) this.#jwksUri = undefined;
      const wait = Math.max(this.#options.cooldown, Math.min(failure.retryAfter ?? 0, MAX_RETRY_AFTER));
      this.#lastFailure = failure;
      this.#blockedUntil = attempt + wait * 1000;
      const last = this.#snapshot;
      const stale = last !== undefined && this.#now() - last.fetchedAt <= this.#options.maxStale * 1000;
      debug('%s: %s fetch failed (%s), next attempt in %d s', this.#id, reason, failure.message, wait);
      const { mistake } = failure;
      if (mistake !== undefined) warnOnce(stale ? mistake : { code: mistake.code, fix: `${mistake.fix} Until then requests get 503.` }, this.#id);
      emit(this.#options.onEvent, { type: 'key_set_refresh_failed', source: this.#id, reason, failure: failure.reason, status: failure.status, retryIn: wait, stale, ...(mistake === undefined ? {} : { mistake: mistake.code }) });
      throw failure;
    }
  }

  /** Provider's `Cache-Control: max-age` within bounds: never longer than `maxAge`, never shorter than `cooldown`. */
  #maxAge(header: number | undefined): number {
    const { maxAge, cooldown } = this.#options;
    return header === undefined ? maxAge : Math.min(maxAge, Math.max(header, Math.min(cooldown, maxAge)));
  }

  #install(entry: SharedKeySet, reason: KeySetLoadReason, shared: boolean, healthy = true): Snapshot {
    const keys = usableKeys(entry.keys, this.#id);
    const snapshot: Snapshot = { keys, total: Array.isArray(entry.keys) ? entry.keys.length : 0, byKid: indexByKid(keys), fetchedAt: entry.fetchedAt, maxAge: entry.maxAge * 1000, imported: new Map() };
    const first = this.#snapshot === undefined;
    if (!first && dropsKey(this.#snapshot!.keys, keys)) this.keyGeneration++;
    this.#snapshot = snapshot;
    this.#jwksUri ??= entry.jwksUri;
    this.#metadata ??= entry.metadata as IssuerMetadata | undefined;
    if (healthy) {
      this.#lastFailure = undefined;
      this.#blockedUntil = Number.NEGATIVE_INFINITY;
      this.#staleReported = false;
    }
    debug('%s: %s %d keys (%s, %s)', this.#id, first ? 'loaded' : 'refreshed', keys.length, reason, shared ? 'from the store' : 'from the provider');
    emit(this.#options.onEvent, { type: first ? 'key_set_fetched' : 'key_set_refreshed', source: this.#id, reason, keys: keys.length, shared });
    for (const allowed of this.#expected) this.#checkAlgorithms(snapshot, allowed);
    return snapshot;
  }

  #import(snapshot: Snapshot, index: number, alg: string): Promise<VerifyKey> {
    const id = `${index}\u0000${alg}`;
    let key = snapshot.imported.get(id);
    if (key === undefined) {
      key = importJWK(snapshot.keys[index]!, alg).catch((cause: unknown) => {
        snapshot.imported.delete(id);
        throw new KeySourceUnavailableError(this.#options.cooldown, { cause });
      });
      snapshot.imported.set(id, key);
    }
    return key;
  }
}
