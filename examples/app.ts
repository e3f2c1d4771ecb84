// A small messages API protected by koa-token-guard.
import Koa from 'koa';
import Router from '@koa/router';
import { authenticate, InsufficientScopeError, type AuthState } from '../lib/index.js';
import type { Middleware } from 'koa';
import { meRoutes } from './me.js';

export interface AppOptions {
  issuer: string;
  audience: string;
}

// Minimal scope check for the example; the guards issue replaces it with requireScopes().
function needScope(scope: string): Middleware<AuthState> {
  return async (ctx, next) => {
    if (!ctx.state.auth?.scopes.has(scope)) {
      const error = new InsufficientScopeError([scope], 'insufficient scope');
      error.realm = 'api';
      throw error;
    }
    await next();
  };
}

export function createApp({ issuer, audience }: AppOptions): Koa<AuthState> {
  const messages: Array<{ id: number; text: string; author: string }> = [{ id: 1, text: 'hello', author: 'dev-user' }];
  const app = new Koa<AuthState>();

  const publicRoutes = new Router<AuthState>();
  publicRoutes.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  const api = new Router<AuthState>();
  api.use(authenticate({ issuer, audience }));
  api.get('/messages', needScope('read:messages'), (ctx) => {
    ctx.body = messages;
  });
  api.post('/messages', needScope('write:messages'), (ctx) => {
    const message = { id: messages.length + 1, text: `message ${messages.length + 1}`, author: ctx.state.user!.sub ?? 'unknown' };
    messages.push(message);
    ctx.status = 201;
    ctx.body = message;
  });

  app.use(publicRoutes.routes()).use(publicRoutes.allowedMethods());
  app.use(api.routes()).use(api.allowedMethods());
  app.use(meRoutes({ issuer, audience }).routes());
  return app;
}
