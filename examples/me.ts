// GET /me: the caller's own user record, found by `resolveUser` in an in-memory user store.
import Router from '@koa/router';
import { authenticate, requireToken, type AccessTokenClaims, type AuthState } from 'koa-token-guard';

export interface User {
  id: number;
  name: string;
  role: 'admin' | 'member';
}

/** Stands in for a database table keyed by the provider's `sub`. */
export const users = new Map<string, User>([['dev-user', { id: 1, name: 'Dev User', role: 'admin' }]]);

export function meRoutes({ issuer, audience, introspection }: {
  issuer: string;
  audience: string;
  introspection?: { clientId: string; clientSecret: string } | undefined;
}): Router<AuthState<AccessTokenClaims, User>> {
  const router = new Router<AuthState<AccessTokenClaims, User>>();
  router.get(
    '/me',
    authenticate({
      issuer,
      audience,
      ...(introspection === undefined ? {} : { introspection }),
      // A database lookup in a real app; null answers 401 invalid_token "unknown user".
      resolveUser: (claims) => users.get(claims.sub ?? '') ?? null,
      userCache: { ttl: 30 },
    }),
    requireToken(), // any valid token may read its own record: no scope needed
    (ctx) => {
      ctx.body = { user: ctx.state.user, sub: ctx.state.auth!.claims.sub, scopes: [...ctx.state.auth!.scopes] };
    },
  );
  return router;
}
