import type { Middleware, ParameterizedContext } from 'koa';
import { extractToken } from '../bearer/extract.js';
import type { AccessTokenClaims, VerifiedToken } from '../core/verify.js';
import { createEstablisher, type EstablishOptions } from '../core/establish.js';
import { AuthError, ConfigurationError, MissingCredentialsError } from '../errors.js';
import type { UserOptions } from '../users/options.js';
import { createUserResolver } from '../users/resolve-user.js';
import { createUserInfoClient } from '../users/userinfo.js';
import { reportRejection } from '../events.js';
import { shareKeySets } from '../keys/control.js';
import { checkCertificateBinding } from '../mtls/binding.js';
import { resolveMtlsOptions, type MtlsOptions } from '../mtls/options.js';
import { AUTH_CONTEXT, type AuthContext, type AuthState } from './state.js';

/** Options of `authenticate()`: how tokens are established, how the token is read from Koa, and who the caller is. */
export interface AuthenticateOptions<TClaims extends object = AccessTokenClaims, TUser = TClaims & AccessTokenClaims>
  extends EstablishOptions, UserOptions<TClaims, TUser, ParameterizedContext> {
  /** With `true`, a request without credentials passes with `ctx.state.user` undefined; bad credentials still fail. Default false. */
  optional?: boolean | undefined;
  /** The `realm` of every `WWW-Authenticate` challenge. Default `'api'`. */
  realm?: string | undefined;
  /** Accept the RFC 6750 2.3 `access_token` query parameter. Default false: URLs end up in logs. */
  allowQueryToken?: boolean | undefined;
  /** Accept the RFC 6750 2.2 form-body `access_token` parameter (a body parser must run first). Default false. */
  allowBodyToken?: boolean | undefined;
  /** Read the token yourself (a cookie, a custom header); replaces the RFC 6750 methods. Return undefined for none. */
  getToken?: ((ctx: ParameterizedContext) => string | undefined | Promise<string | undefined>) | undefined;
  /**
   * Certificate-bound access tokens (RFC 8705): a token with `cnf["x5t#S256"]` passes only with the client
   * certificate it is bound to. Default: not configured, so bound tokens are refused (their binding cannot be checked).
   */
  mtls?: MtlsOptions<ParameterizedContext> | undefined;
}

const REALM_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

/**
 * Koa middleware that establishes the request's bearer token and sets `ctx.state.user` (the claims) and
 * `ctx.state.auth` (token, source, header, claims, scopes). Refusals are thrown as `AuthError`s, which Koa's
 * default handler renders with the right status and `WWW-Authenticate` challenge.
 *
 * Options are checked here, at startup: bad configuration throws a `ConfigurationError`.
 */
export function authenticate<TClaims extends object = AccessTokenClaims, TUser = TClaims & AccessTokenClaims>(
  options: AuthenticateOptions<TClaims, TUser>,
): Middleware<AuthState<TClaims, TUser>> {
  const establish = createEstablisher<TClaims>(options);
  const realm = options.realm ?? 'api';
  if (typeof realm !== 'string' || !REALM_CHARS.test(realm)) {
    throw new ConfigurationError('`realm` must be a string without `"`, `\\` or control characters (RFC 6750 3).');
  }
  if (options.getToken !== undefined && typeof options.getToken !== 'function') {
    throw new ConfigurationError('`getToken` must be a function (ctx) => string | undefined.');
  }
  const locations = { query: options.allowQueryToken === true, body: options.allowBodyToken === true };
  const getToken = options.getToken;
  const optional = options.optional === true;
  const marker: AuthContext = Object.freeze({ realm, userinfo: createUserInfoClient(options, realm) });
  const mtls = resolveMtlsOptions(options.mtls);
  const resolveUser = options.resolveUser === undefined ? undefined : createUserResolver({ ...options, resolveUser: options.resolveUser, realm });

  const middleware: Middleware<AuthState<TClaims, TUser>> = async function authenticateMiddleware(ctx, next) {
    (ctx.state as Record<symbol, AuthContext>)[AUTH_CONTEXT] = marker;
    let verified: VerifiedToken<TClaims>;
    let thumbprint: string | undefined;
    try {
      const token = getToken ? await getToken(ctx) : extractToken(ctx, locations);
      if (token === undefined || token === null) {
        if (optional) {
          await next();
          return;
        }
        throw new MissingCredentialsError();
      }
      if (typeof token !== 'string') throw new TypeError('koa-token-guard: getToken must return a string or undefined');
      verified = await establish(token);
      // The binding stage (RFC 8705 3), whatever established the token; skipped when nothing can be bound.
      if (mtls !== undefined || (verified.claims as { cnf?: unknown }).cnf !== undefined) {
        thumbprint = await checkCertificateBinding(verified.claims, mtls, () => mtls?.getCertificate(ctx));
      }
    } catch (error) {
      if (error instanceof AuthError) error.realm = realm;
      reportRejection(options.onEvent, error);
      throw error;
    }
    // The cached token stays as it is: the thumbprint belongs to this request.
    ctx.state.auth = thumbprint === undefined ? verified : { ...verified, mtls: Object.freeze({ thumbprint }) }; // before resolveUser, which may call fetchUserInfo(ctx)
    ctx.state.user = resolveUser === undefined ? verified.claims as TUser : await resolveUser(verified.claims, ctx);
    await next();
  };
  shareKeySets(establish, middleware);
  return middleware;
}
