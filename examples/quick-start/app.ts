// The README's quick start as a runnable app: one protected route, the issuer and audience from the environment.
//   ISSUER=https://YOUR_TENANT.auth0.com/ AUDIENCE=https://api.example.com npx tsx examples/quick-start/app.ts
import Koa from 'koa';
import Router from '@koa/router';
import { authenticate, type AuthState } from '../../lib/index.js';

export function createApp(options: { issuer: string; audience: string }): Koa<AuthState> {
  const app = new Koa<AuthState>();
  const router = new Router<AuthState>();
  app.use(authenticate(options));
  router.get('/messages', (ctx) => {
    ctx.body = { for: ctx.state.user?.sub, scopes: [...ctx.state.auth!.scopes] };
  });
  app.use(router.routes());
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { ISSUER, AUDIENCE, PORT = '3000' } = process.env;
  if (!ISSUER || !AUDIENCE) throw new Error('set ISSUER and AUDIENCE, e.g. ISSUER=https://YOUR_TENANT.auth0.com/ AUDIENCE=https://api.example.com');
  createApp({ issuer: ISSUER, audience: AUDIENCE }).listen(Number(PORT), () => console.log(`listening on http://localhost:${PORT}/messages`));
}
