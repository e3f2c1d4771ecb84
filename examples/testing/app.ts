// "Your app": an orders API protected by koa-token-guard, configured from the outside so tests can
// point it at a test issuer.
import Koa from 'koa';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { authenticate, authContextOf, InsufficientScopeError, type AuthState } from 'koa-token-guard';

export interface OrdersConfig {
  issuer: string;
  audience: string;
  /** Only for tests that simulate a provider outage. */
  fetchTimeout?: number;
}

// A scope check; with the guards of koa-token-guard this is `requireScopes(['read:orders'])`.
function needScope(scope: string): Middleware<AuthState> {
  return async (ctx, next) => {
    if (!ctx.state.auth?.scopes.has(scope)) {
      const error = new InsufficientScopeError([scope], 'insufficient scope');
      error.realm = authContextOf(ctx)?.realm;
      throw error;
    }
    await next();
  };
}

export function createOrdersApp(config: OrdersConfig): Koa<AuthState> {
  const app = new Koa<AuthState>();
  const router = new Router<AuthState>();
  router.get('/orders', needScope('read:orders'), (ctx) => {
    ctx.body = [{ id: 1, owner: ctx.state.user!.sub }];
  });
  app.use(authenticate({ issuer: config.issuer, audience: config.audience, ...(config.fetchTimeout ? { fetchTimeout: config.fetchTimeout } : {}) }));
  app.use(router.routes());
  return app;
}
