import type { ResolvedVerifyOptions } from '../core/options.js';
import type { EventHook, TokenGuardEvent } from '../events.js';
import { RemoteKeySet } from './key-set.js';
import type { KeyStore } from './store.js';

interface Entry { keySet: RemoteKeySet; hooks: Set<EventHook> }

// One key set per key source for the whole process: two authenticate() instances for one issuer
// (two routers, say) share keys and fetches. Keyed by fetch and store too, so neither is ever bypassed.
const registry = new Map<typeof fetch, Map<KeyStore | undefined, Map<string, Entry>>>();

function fanOut(hooks: Set<EventHook>): EventHook {
  return (event: TokenGuardEvent) => {
    if (hooks.size === 0) {
      if (event.type === 'key_set_served_stale') {
        process.emitWarning(`koa-token-guard: refreshing ${event.source} failed; serving its last good keys, ${event.age} s old`, { code: 'KOA_TOKEN_GUARD_STALE_KEYS' });
      }
      return;
    }
    for (const hook of hooks) hook(event);
  };
}

/** The process-wide key set of an issuer (or of a JWKS URL), created on first use. */
export function keySetFor(source: { jwksUri: string } | { issuer: string }, options: ResolvedVerifyOptions): RemoteKeySet {
  let byFetch = registry.get(options.fetch);
  if (byFetch === undefined) registry.set(options.fetch, (byFetch = new Map<KeyStore | undefined, Map<string, Entry>>()));
  let byStore = byFetch.get(options.store);
  if (byStore === undefined) byFetch.set(options.store, (byStore = new Map<string, Entry>()));
  const id = 'jwksUri' in source ? `jwks ${source.jwksUri}` : `issuer ${source.issuer}`;
  let entry = byStore.get(id);
  if (entry === undefined) {
    const hooks = new Set<EventHook>();
    const keySet = new RemoteKeySet({
      source,
      fetch: options.fetch,
      timeout: options.fetchTimeout,
      maxBytes: options.maxResponseBytes,
      cooldown: options.cooldown,
      maxAge: options.maxAge,
      maxStale: options.maxStale,
      store: options.store,
      onEvent: fanOut(hooks),
    });
    byStore.set(id, (entry = { keySet, hooks }));
  }
  if (options.onEvent !== undefined) entry.hooks.add(options.onEvent);
  return entry.keySet;
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
      byStore.delete(`issuer ${url}`);
      byStore.delete(`jwks ${url}`);
    }
  }
}
