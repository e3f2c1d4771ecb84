import Koa from 'koa';
import Router from '@koa/router';
import { authenticate, requireScopes, type AuthState } from 'koa-token-guard';

export function createApp(options: { issuer: string; audience: string }): Koa<AuthState> {
  const app = new Koa<AuthState>();
  const router = new Router<AuthState>();

  app.use(authenticate(options));
  router.get('/messages', requireScopes('read:messages'), (ctx) => {
    ctx.body = { for: ctx.state.user?.sub, scopes: [...ctx.state.auth!.scopes] };
  });
  app.use(router.routes());
  return app;
}
