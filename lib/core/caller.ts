/**
 * Who sent a request, as far as the network tells: what the core needs to bound one client's share of
 * a structure every client shares (pending issuer look-ups, the introspection queue). Koa's
 * `ctx.request` satisfies it (`ip` honours `X-Forwarded-For` only with `app.proxy` on), so the Koa layer
 * passes it as it is, and `ip` is read only on the paths that bound something, never on a cache hit.
 */
export interface Caller {
  /** The client's address; every caller with the same `ip` shares one share. */
  readonly ip: string;
}

/** The share key of a caller; calls without one (the core used directly) share one share. */
export function callerKey(caller: Caller | undefined): string {
  return caller?.ip ?? '';
}
