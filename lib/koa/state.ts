import type { ParameterizedContext } from 'koa';
import type { AuthError } from '../errors.js';
import type { AccessTokenClaims, VerifiedToken } from '../core/verify.js';
import type { UserInfoClient } from '../users/userinfo.js';

/** `ctx.state.auth` after a successful `authenticate()`. */
export type AuthInfo<TClaims extends object = AccessTokenClaims> = VerifiedToken<TClaims> & {
  /** Present when the request proved possession of the token's DPoP key (RFC 9449): that key's thumbprint. */
  readonly dpop?: { readonly jkt: string } | undefined;
  /** For a certificate-bound token (RFC 8705): the thumbprint (`x5t#S256`) of the client certificate it was checked against. */
  readonly mtls?: { readonly thumbprint: string };
  /**
   * Aborts (with a `TimeoutError`) when the token expires: its `exp` plus `clockTolerance`, an introspected
   * token's `exp` likewise; never for a token without `exp`. For streams and sockets that outlive the request
   * that opened them (`serveMcp()` ends its SSE responses with it). Made when first read; one per token.
   */
  readonly signal: AbortSignal;
};

/** The state `authenticate()` sets: use as Koa's state type, e.g. `new Koa<AuthState>()`. */
export interface AuthState<TClaims extends object = AccessTokenClaims, TUser = TClaims & AccessTokenClaims> {
  /** The verified claims, or what `resolveUser` returned; undefined only with `optional: true` and no credentials. */
  user?: TUser;
  /** Token, source (`'jwt'` or `'introspection'`), header (JWTs only), claims and parsed scopes; undefined only with `optional: true` and no credentials. */
  auth?: AuthInfo<TClaims>;
}

/** What guards need from the `authenticate()` that ran before them. */
export interface AuthContext {
  readonly realm: string | undefined;
  /** The RFC 9728 metadata URL every challenge names (`resourceMetadata` option), if any. */
  readonly resourceMetadata?: string | undefined;
  /** The leeway of time checks, in seconds; guards comparing times (`requireAuthLevel`) use it too. */
  readonly clockTolerance?: number | undefined;
  /** The accepted audiences, in the order configured. */
  readonly audiences?: readonly string[] | undefined;
  /** `challengeScope`: the `scope` attribute of a 401 without credentials or with an invalid token. */
  readonly challengeScope?: readonly string[] | undefined;
  /** The userinfo lookup `fetchUserInfo(ctx)` uses. */
  readonly userinfo?: UserInfoClient | undefined;
}

/** Marks a request as seen by `authenticate()`, whether or not it carried a token. */
export const AUTH_CONTEXT: unique symbol = Symbol.for('koa-token-guard.context');

type StateCarrier = Pick<ParameterizedContext, 'state'>;

/** The marker `authenticate()` left, or undefined when it did not run on this request. */
export function authContextOf(ctx: StateCarrier): AuthContext | undefined {
  return (ctx.state as Record<symbol, AuthContext | undefined>)[AUTH_CONTEXT];
}

/**
 * Gives a refusal the challenge attributes of the `authenticate()` that ran: its realm, `resource_metadata`
 * and, on a 401 for missing credentials or an invalid token, the `challengeScope` a client's token should ask for.
 */
export function withChallenge<E extends AuthError>(error: E, context: AuthContext): E {
  error.realm = context.realm;
  error.resourceMetadata = context.resourceMetadata;
  if (context.challengeScope !== undefined && (error.code === 'credentials_missing' || error.error === 'invalid_token')) error.challengeScope = context.challengeScope;
  return error;
}
