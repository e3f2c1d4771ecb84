// A small messages API protected by koa-token-guard.
import Koa from 'koa';
import Router from '@koa/router';
import { anyOf, authenticate, defineScopes, publicRoute, requireClaim, type AuthenticateOptions, type AuthState } from 'koa-token-guard';
import { meRoutes } from './me.js';

export interface AppOptions {
  issuer: string;
  audience: string;
  /** The API's client at the issuer's introspection endpoint: opaque tokens are checked there (RFC 7662). */
  introspection?: { clientId: string; clientSecret: string } | undefined;
  /** More options for the router-wide authenticate(): a shared key store, say (the soak uses Redis). */
  authenticate?: Omit<AuthenticateOptions<MessageClaims>, 'issuer' | 'audience' | 'introspection'> | undefined;
}

/** The claims this API reads besides the registered ones. */
export interface MessageClaims {
  role?: 'owner' | 'member';
}

type State = AuthState<MessageClaims>;

/** Every scope of the API, declared once: a misspelt scope below is a compile error. */
export const scopes = defineScopes(['read:messages', 'write:messages', 'admin'] as const);

/** All routes on one router, so `describeRoutes(createRouter(…))` lists them with their guards. */
export function createRouter({ issuer, audience, introspection, authenticate: more }: AppOptions): Router<State> {
  const messages: Array<{ id: number; text: string; author: string }> = [{ id: 1, text: 'hello', author: 'dev-user' }];
  const router = new Router<State>();

  router.get('/health', publicRoute(), (ctx) => {
    ctx.body = { status: 'ok' };
  });

  // GET /me authenticates on its own (with resolveUser): mounted ahead of the router-wide authenticate().
  router.use(meRoutes({ issuer, audience, introspection }).routes());

  // JWTs are verified locally; any other token is introspected (answers cached for up to a minute).
  router.use(authenticate<MessageClaims>({ ...more, issuer, audience, ...(introspection === undefined ? {} : { introspection }) }));
  router.get('/messages', scopes.requireScopes('read:messages'), (ctx) => {
    ctx.body = messages;
  });
  router.post('/messages', scopes.requireScopes('write:messages'), (ctx) => {
    const message = { id: messages.length + 1, text: `message ${messages.length + 1}`, author: ctx.state.user!.sub ?? 'unknown' };
    messages.push(message);
    ctx.status = 201;
    ctx.body = message;
  });
  // Admins by scope, or the owner by role claim.
  router.delete('/messages/:id', anyOf(scopes.requireScopes('admin'), requireClaim<MessageClaims>('role', 'owner')), (ctx) => {
    const index = messages.findIndex((m) => String(m.id) === ctx.params.id);
    if (index >= 0) messages.splice(index, 1);
    ctx.status = 204;
  });

  // A nested router whose router-level guard covers every route in it.
  const admin = new Router<State>();
  admin.use(scopes.requireScopes('admin'));
  admin.get('/stats', (ctx) => {
    ctx.body = { messages: messages.length };
  });
  router.use('/admin', admin.routes());
  return router;
}

export function createApp(options: AppOptions): Koa<State> {
  const app = new Koa<State>();
  const router = createRouter(options);
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}
