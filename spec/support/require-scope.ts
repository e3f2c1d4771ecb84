// A minimal scope check for the end-to-end specs. Stand-in until lib/guards' requireScopes() (issue 4)
// is on main; the assertions (exact 403 and challenge) are what requireScopes must satisfy too.
import type { Middleware } from 'koa';
import { authContextOf, InsufficientScopeError, type AuthState } from '../../lib/index.js';

export function requireScope(...scopes: string[]): Middleware<AuthState> {
  return async (ctx, next) => {
    const granted = ctx.state.auth?.scopes;
    if (!scopes.every((s) => granted?.has(s))) {
      const error = new InsufficientScopeError(scopes, 'insufficient scope');
      error.realm = authContextOf(ctx)?.realm;
      throw error;
    }
    await next();
  };
}
