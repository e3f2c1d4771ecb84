import type { ResolvedVerifyOptions } from '../core/options.js';
import type { EventHook, TokenGuardEvent } from '../events.js';
import { RemoteKeySet } from './key-set.js';
import type { KeyStore } from './store.js';

/** `hooks` and `holders` count the verifiers that bound the key set (and with which hook), so releasing one leaves the others'. */
interface Entry { keySet: RemoteKeySet; hooks: Map<EventHook, number>; holders: number }

type KeySource = { jwksUri: string } | { issuer: string };

// One key set per key source for the whole process: two authenticate() instances for one issuer
// (two routers, say) share keys and fetches. Keyed by fetch and store too, so neither is ever bypassed.
const registry = new Map<typeof fetch, Map<KeyStore | undefined, Map<string, Entry>>>();

// When a source's keys last changed, by its URL, as the test kit announces (`sourceChanged`); read by key sets
// created later too, so a store's older copy never answers them. Only the kit writes here, one entry per live issuer.
const changes = new Map<string, number>();

const urlOf = (source: KeySource): string => ('jwksUri' in source ? source.jwksUri : source.issuer);

// A verifier with `allowInsecureHttp` follows redirects a strict one refuses: they never share a key set.
const INSECURE = ' (allowInsecureHttp)';
const idOf = (source: KeySource, options: ResolvedVerifyOptions): string =>
  ('jwksUri' in source ? `jwks ${source.jwksUri}` : `issuer ${source.issuer}`) + (options.allowInsecureHttp ? INSECURE : '');

function fanOut(hooks: Map<EventHook, number>): EventHook {
  return (event: TokenGuardEvent) => {
    if (hooks.size === 0) {
      if (event.type === 'key_set_served_stale') {
        process.emitWarning(`koa-token-guard: refreshing ${event.source} failed; serving its last good keys, ${event.age} s old`, { code: 'KOA_TOKEN_GUARD_STALE_KEYS' });
      }
      return;
    }
    for (const hook of hooks.keys()) hook(event);
  };
}

/**
 * The process-wide key set of an issuer (or of a JWKS URL), created on first use. Each call is one
 * holder more, to be given back with `releaseKeySet`; `hold: false` only looks it up (a userinfo call
 * for an issuer some verifier already holds).
 */
export function keySetFor(source: KeySource, options: ResolvedVerifyOptions, hold = true): RemoteKeySet {
  let byFetch = registry.get(options.fetch);
  if (byFetch === undefined) registry.set(options.fetch, (byFetch = new Map<KeyStore | undefined, Map<string, Entry>>()));
  let byStore = byFetch.get(options.store);
  if (byStore === undefined) byFetch.set(options.store, (byStore = new Map<string, Entry>()));
  const id = idOf(source, options);
  let entry = byStore.get(id);
  if (entry === undefined) {
    const hooks = new Map<EventHook, number>();
    const keySet = new RemoteKeySet({
      source,
      fetch: options.fetch,
      timeout: options.fetchTimeout,
      maxBytes: options.maxResponseBytes,
      allowInsecureHttp: options.allowInsecureHttp,
      cooldown: options.cooldown,
      maxAge: options.maxAge,
      maxStale: options.maxStale,
      store: options.store,
      onEvent: fanOut(hooks),
    });
    const changedAt = changes.get(urlOf(source));
    if (changedAt !== undefined) keySet.sourceChanged(changedAt);
    byStore.set(id, (entry = { keySet, hooks, holders: 0 }));
  }
  if (!hold) return entry.keySet;
  entry.holders++;
  if (options.onEvent !== undefined) entry.hooks.set(options.onEvent, (entry.hooks.get(options.onEvent) ?? 0) + 1);
  return entry.keySet;
}

/**
 * Gives back what `keySetFor` handed out (a verifier dropped a tenant's key set): the last holder's
 * release forgets it, so its keys and memory go; the next `keySetFor` fetches afresh.
 */
export function releaseKeySet(source: KeySource, options: ResolvedVerifyOptions, keySet: RemoteKeySet): void {
  const byStore = registry.get(options.fetch)?.get(options.store);
  const id = idOf(source, options);
  const entry = byStore?.get(id);
  if (entry === undefined || entry.keySet !== keySet) return; // cleared meanwhile (clearKeySets)
  const hook = options.onEvent;
  if (hook !== undefined) {
    const count = (entry.hooks.get(hook) ?? 0) - 1;
    if (count > 0) entry.hooks.set(hook, count);
    else entry.hooks.delete(hook);
  }
  if (--entry.holders <= 0) byStore!.delete(id);
}

/**
 * Forgets key sets (for specs that reuse one issuer URL across cases): all of them, or only those of
 * one issuer or JWKS URL. Verifiers already built keep theirs; the next `authenticate()` starts fresh.
 */
export function clearKeySets(url?: string): void {
  if (url === undefined) {
    registry.clear();
    return;
  }
  for (const byFetch of registry.values()) {
    for (const byStore of byFetch.values()) {
      for (const id of [`issuer ${url}`, `jwks ${url}`]) {
        byStore.delete(id);
        byStore.delete(id + INSECURE);
      }
    }
  }
}

/**
 * The keys at this issuer or JWKS URL changed now: every key set of it, whatever its fetch and store, refetches at
 * the next unknown `kid` despite its cooldown, and takes no stored copy fetched before now. Internal: the test kit
 * calls it when it publishes a key, in process; a real provider's rotation is found by max age and unknown kids.
 */
export function sourceChanged(url: string): void {
  const at = Date.now();
  changes.set(url, at);
  for (const byFetch of registry.values()) {
    for (const byStore of byFetch.values()) {
      for (const id of [`issuer ${url}`, `jwks ${url}`]) {
        byStore.get(id)?.keySet.sourceChanged(at);
        byStore.get(id + INSECURE)?.keySet.sourceChanged(at);
      }
    }
  }
}

/** Forgets what `sourceChanged` recorded for this URL (the test issuer closed; a later one announces itself). */
export function forgetSourceChanges(url: string): void {
  changes.delete(url);
}
