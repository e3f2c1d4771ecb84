import type { ParameterizedContext } from 'koa';
import { AuthError, MissingCredentialsError } from '../errors.js';
import type { UserInfo } from '../users/userinfo.js';
import { authContextOf, withChallenge, type AuthState } from './state.js';

/**
 * The OpenID Connect userinfo of the request's verified token: fetched from the issuer's
 * `userinfo_endpoint` with the caller's token, cached per token until its `exp`, concurrent lookups
 * coalesced. Refusals are `AuthError`s: 401 `invalid_token` when the provider rejects the token or
 * answers for another `sub`, 403 when it lacks the scope for userinfo, 503 when the provider fails.
 * Only ever called with a token that `authenticate()` verified.
 */
export function fetchUserInfo<TInfo extends UserInfo = UserInfo>(ctx: Pick<ParameterizedContext, 'state'>): Promise<TInfo> {
  const context = authContextOf(ctx);
  if (context?.userinfo === undefined) {
    return Promise.reject(new TypeError('koa-token-guard: fetchUserInfo(ctx) needs authenticate() to run before it on this route.'));
  }
  const auth = (ctx.state as AuthState).auth;
  if (auth === undefined) {
    // `optional: true` and no credentials: there is no token to ask about.
    return Promise.reject(withChallenge(new MissingCredentialsError(), context));
  }
  const info = context.userinfo.get(auth) as Promise<TInfo>;
  if (context.resourceMetadata === undefined) return info;
  return info.catch((error: unknown) => {
    throw error instanceof AuthError ? withChallenge(error, context) : error;
  });
}
