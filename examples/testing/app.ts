// "Your app": an orders API protected by koa-token-guard, configured from the outside so tests can
// point it at a test issuer.
import Koa from 'koa';
import Router from '@koa/router';
import { authenticate, requireScopes, type AuthState } from 'koa-token-guard';

export interface OrdersConfig {
  issuer: string;
  audience: string;
  /** Only for tests that simulate a provider outage. */
  fetchTimeout?: number;
}

export function createOrdersApp(config: OrdersConfig): Koa<AuthState> {
  const app = new Koa<AuthState>();
  const router = new Router<AuthState>();
  router.get('/orders', requireScopes('read:orders'), (ctx) => {
    ctx.body = [{ id: 1, owner: ctx.state.user!.sub }];
  });
  app.use(authenticate({ issuer: config.issuer, audience: config.audience, ...(config.fetchTimeout ? { fetchTimeout: config.fetchTimeout } : {}) }));
  app.use(router.routes());
  return app;
}
