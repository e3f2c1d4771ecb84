// A Koa app with authenticate() and one guarded route, and a counter of handler runs.
import Koa, { type Middleware } from 'koa';
import Router from '@koa/router';
import { authenticate, AUTH_CONTEXT, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { bearer, request, type Reply } from '../support/http.js';
import type { FakeProvider } from '../support/provider.js';

export interface GuardedApp {
  app: Koa<AuthState>;
  /** How many times the route handler ran. */
  runs(): number;
  /** GET /route with the token, if any. */
  get(token?: string): Promise<Reply>;
}

export function guardedApp(provider: FakeProvider, guards: Middleware[], options: Partial<AuthenticateOptions> = {}): GuardedApp {
  const app = new Koa<AuthState>();
  app.silent = true;
  let runs = 0;
  const router = new Router<AuthState>();
  router.get('/route', ...(guards as Middleware<AuthState>[]), (ctx) => {
    runs++;
    ctx.body = { ok: true };
  });
  app.use(authenticate({ issuer: provider.issuer, audience: provider.audience, ...options }));
  app.use(router.routes());
  return { app, runs: () => runs, get: (token) => request(app, '/route', { headers: token ? bearer(token) : {} }) };
}

/** A context as authenticate() leaves it, for calling `guard.check()` directly. */
export function authenticatedContext(claims: Record<string, unknown>, scopes: string[] = [], realm = 'api'): { state: Record<string | symbol, unknown> } {
  return { state: { [AUTH_CONTEXT]: { realm }, user: claims, auth: { token: 't', source: 'jwt', header: { alg: 'ES256' }, claims, scopes: new Set(scopes) } } };
}

export const insufficient = (description: string, scope?: string, realm = 'api'): string =>
  `Bearer realm="${realm}", error="insufficient_scope", error_description="${description}"${scope === undefined ? '' : `, scope="${scope}"`}`;
