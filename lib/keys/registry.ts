import type { ResolvedVerifyOptions } from '../core/options.js';
import { RemoteKeySet } from './key-set.js';

// One key set per key source for the whole process: two authenticate() instances for one issuer
// (two routers, say) share keys and fetches. Keyed by fetch too, so a custom fetch is never bypassed.
const registry = new Map<typeof fetch, Map<string, RemoteKeySet>>();

/** The process-wide key set of an issuer (or of a JWKS URL), created on first use. */
export function keySetFor(source: { jwksUri: string } | { issuer: string }, options: ResolvedVerifyOptions): RemoteKeySet {
  let byFetch = registry.get(options.fetch);
  if (byFetch === undefined) registry.set(options.fetch, (byFetch = new Map<string, RemoteKeySet>()));
  const id = 'jwksUri' in source ? `jwks ${source.jwksUri}` : `issuer ${source.issuer}`;
  let keySet = byFetch.get(id);
  if (keySet === undefined) {
    keySet = new RemoteKeySet({
      source,
      fetch: options.fetch,
      timeout: options.fetchTimeout,
      maxBytes: options.maxResponseBytes,
      cooldown: options.cooldown,
      maxAge: options.maxAge,
      maxStale: options.maxStale,
    });
    byFetch.set(id, keySet);
  }
  return keySet;
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
    byFetch.delete(`issuer ${url}`);
    byFetch.delete(`jwks ${url}`);
  }
}
