import type { VerifyOptions } from './options.js';
import { createVerifier, type AccessTokenClaims, type VerifiedToken } from './verify.js';

/**
 * Establishes one access token: resolves to a `VerifiedToken` (whose `source` says how it was
 * established) or rejects with an `AuthError`. Koa-free, like a `Verifier`.
 */
export type Establisher<TClaims extends object = AccessTokenClaims> = (token: string) => Promise<VerifiedToken<TClaims>>;

/** Options of the establishing stage: today those of the JWT verifier. */
export type EstablishOptions = VerifyOptions;

/**
 * Builds, at startup, the stage that turns a presented token into a `VerifiedToken`. Every
 * credential goes through here: a JWT is verified locally against its issuer's key set; opaque
 * tokens (RFC 7662 introspection) will be handed to their authorization server at this same place.
 * `keySets()` works on what this returns.
 */
export function createEstablisher<TClaims extends object = AccessTokenClaims>(options: EstablishOptions): Establisher<TClaims> {
  // The verifier is the whole stage for now; it already carries the key set controls.
  return createVerifier<TClaims>(options);
}
