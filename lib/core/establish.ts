import type { Caller } from './caller.js';
import { createIntrospector } from '../introspection/introspect.js';
import { INTROSPECTION_DEFAULTS, type IntrospectionOptions } from '../introspection/options.js';
import { shareKeySets } from '../keys/control.js';
import { afterMissOf, cachedVerdictOf, registerCachedVerdict } from './cached.js';
import type { VerifyOptions } from './options.js';
import { createVerifier, type AccessTokenClaims, type VerifiedToken } from './verify.js';

/**
 * Establishes one access token: resolves to a `VerifiedToken` (whose `source` says how it was
 * established) or rejects with an `AuthError`. Koa-free, like a `Verifier`.
 */
export type Establisher<TClaims extends object = AccessTokenClaims> = (token: string, caller?: Caller) => Promise<VerifiedToken<TClaims>>;

/** Options of the establishing stage: those of the JWT verifier, and the optional `introspection` group. */
export interface EstablishOptions extends VerifyOptions {
  /** Opaque access tokens, checked at the authorization server (RFC 7662, RFC 9701). Default: JWTs only. */
  introspection?: IntrospectionOptions | undefined;
}

/** Whether a token has the shape of a compact JWS (three dot-separated segments): verified locally, never sent anywhere. */
function jwtShaped(token: string): boolean {
  const first = token.indexOf('.');
  if (first < 0) return false;
  const second = token.indexOf('.', first + 1);
  return second > 0 && token.indexOf('.', second + 1) < 0;
}

/**
 * Builds, at startup, the stage that turns a presented token into a `VerifiedToken`. Every credential
 * goes through here: a JWT is verified locally against its issuer's key set; with `introspection`, an
 * opaque token (or, with `tokens: 'all'`, every token) is introspected at its authorization server.
 * `keySets()` works on what this returns.
 */
export function createEstablisher<TClaims extends object = AccessTokenClaims>(options: EstablishOptions): Establisher<TClaims> {
  const verify = createVerifier<TClaims>(options);
  if (options?.introspection === undefined) return verify;
  const introspect = createIntrospector<TClaims>({ ...options, introspection: options.introspection });
  const all = (options.introspection.tokens ?? INTROSPECTION_DEFAULTS.tokens) === 'all';
  const establish: Establisher<TClaims> = all
    ? (token, caller) => introspect(token, caller)
    : (token, caller) => (jwtShaped(token) ? verify(token, caller) : introspect(token, caller));
  shareKeySets(verify, establish);
  // The same routing for cached verdicts: a token is only ever found where it would have been established.
  const verified = cachedVerdictOf(verify);
  const introspected = cachedVerdictOf(introspect);
  if (all ? introspected !== undefined : verified !== undefined || introspected !== undefined) {
    const verifyAfterMiss = afterMissOf(verify);
    const introspectAfterMiss = afterMissOf(introspect);
    registerCachedVerdict(
      establish,
      all ? introspected! : (token) => (jwtShaped(token) ? verified?.(token) : introspected?.(token)),
      all ? introspectAfterMiss : (token, caller) => (jwtShaped(token) ? verifyAfterMiss(token, caller) : introspectAfterMiss(token, caller)),
    );
  }
  return establish;
}
