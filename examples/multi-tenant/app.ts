// A multi-tenant API: each tenant has its own identity provider (its own issuer and keys). The tenant
// table is the allow-list: a token from any other issuer is refused before any network call.
import Koa from 'koa';
import Router from '@koa/router';
import { authenticate, keySets, type AuthState, type TokenGuardEvent } from 'koa-token-guard';

export interface Tenant {
  name: string;
  /** The tenant's issuer, exactly as in its tokens' `iss`. */
  issuer: string;
  /** Optional: the tenant's JWKS URL, to skip discovery. */
  jwksUri?: string;
}

export interface MultiTenantApp {
  app: Koa<AuthState>;
  /** Loads every known tenant's keys (call before listening) and refreshes them on demand. */
  keys: ReturnType<typeof keySets>;
  /** Counts by event type (and refusal code), as a metrics exporter would keep them. */
  counters: Map<string, number>;
}

export function createMultiTenantApp(tenants: readonly Tenant[], audience: string): MultiTenantApp {
  const byIssuer = new Map(tenants.map((t) => [t.issuer, t]));
  const counters = new Map<string, number>();
  const count = (event: TokenGuardEvent): void => {
    const name = event.type === 'token_rejected' ? `token_rejected:${event.code}` : event.type;
    counters.set(name, (counters.get(name) ?? 0) + 1);
  };

  const auth = authenticate({
    audience,
    // Called once per tenant issuer; undefined refuses the token (401 issuer_invalid).
    resolveIssuer: (iss) => {
      const tenant = byIssuer.get(iss);
      return tenant && { jwksUri: tenant.jwksUri };
    },
    onEvent: count,
  });

  const app = new Koa<AuthState>();
  const router = new Router<AuthState>();
  router.use(auth);
  router.get('/whoami', (ctx) => {
    const tenant = byIssuer.get(ctx.state.user!.iss)!;
    ctx.body = { tenant: tenant.name, sub: ctx.state.user!.sub };
  });
  app.use(router.routes()).use(router.allowedMethods());
  return { app, keys: keySets(auth), counters };
}
