export { authenticate, type AuthenticateOptions } from './koa/authenticate.js';
export { renderAuthErrors } from './koa/render-errors.js';
export { AUTH_CONTEXT, authContextOf, type AuthContext, type AuthInfo, type AuthState } from './koa/state.js';
export { createVerifier, type AccessTokenClaims, type VerifiedToken, type Verifier } from './core/verify.js';
export { ASYMMETRIC_ALGORITHMS, DEFAULTS, HMAC_ALGORITHMS, type VerifyOptions } from './core/options.js';
export { parseScopes } from './core/scopes.js';
export { extractToken, type TokenLocations } from './bearer/extract.js';
export { clearKeySets } from './keys/registry.js';
export { RemoteKeySet } from './keys/key-set.js';
export {
  AuthError,
  ConfigurationError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  KeySourceUnavailableError,
  MissingCredentialsError,
  bearerChallenge,
  type AuthErrorCode,
  type BearerErrorCode,
  type ChallengeParams,
} from './errors.js';
