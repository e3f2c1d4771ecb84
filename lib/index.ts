export { authenticate, type AuthenticateOptions } from './koa/authenticate.js';
export { renderAuthErrors } from './koa/render-errors.js';
export { AUTH_CONTEXT, authContextOf, type AuthContext, type AuthInfo, type AuthState } from './koa/state.js';
export { createVerifier, type AccessTokenClaims, type TokenSource, type VerifiedJwt, type VerifiedToken, type Verifier } from './core/verify.js';
export { createEstablisher, type EstablishOptions, type Establisher } from './core/establish.js';
export { createIntrospector, type Introspector, type IntrospectorOptions } from './introspection/introspect.js';
export { INTROSPECTION_DEFAULTS, type ClientAuthMethod, type IntrospectionOptions } from './introspection/options.js';
export { ASYMMETRIC_ALGORITHMS, DEFAULTS, HMAC_ALGORITHMS, type KeySetsOptions, type VerifyOptions } from './core/options.js';
export type { Caller } from './core/caller.js';
export { GrantedScopes, parseScopes } from './core/scopes.js';
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
  IntrospectionUnavailableError,
  TemporarilyUnavailableError,
  MissingCredentialsError,
  InsufficientUserAuthenticationError,
  bearerChallenge,
  dpopChallenge,
  DpopKeyQuotaError,
  DpopReplayUnavailableError,
  InvalidDpopProofError,
  UseDpopNonceError,
  type DpopChallengeContext,
  type DpopChallengeParams,
  type DpopErrorCode,
  type AuthErrorCode,
  type BearerErrorCode,
  type ChallengeParams,
} from './errors.js';
export { fetchUserInfo } from './koa/userinfo.js';
export { createUserResolver, type UserResolver, type UserResolverOptions } from './users/resolve-user.js';
export { UserInfoClient, createUserInfoClient, type UserInfo, type UserInfoClientOptions, type TokenForUserInfo } from './users/userinfo.js';
export { USER_DEFAULTS, type CacheOptions, type ResolveUser, type UserOptions } from './users/options.js';
export { UnknownUserError, UserInfoUnavailableError } from './errors.js';
export { GuardOrderError } from './errors.js';
export { publicRoute, type Guard, type GuardContext, type GuardResult, type PublicRoute } from './guards/guard.js';
export { scopesOf, type AudienceRequirement, type AuthLevelRequirement, type ClaimRequirement, type CompositeRequirement, type Requirement, type ScopesRequirement, type TokenRequirement } from './guards/requirement.js';
export { requireToken } from './guards/token.js';
export { requireScopes, type RequireScopesOptions } from './guards/scopes.js';
export { requireAudience } from './guards/audience.js';
export { requireClaim, type ClaimContext, type ClaimPredicate, type ClaimValue, type RequireClaimOptions } from './guards/claim.js';
export { requireAuthLevel, type RequireAuthLevelOptions } from './guards/auth-level.js';
export { allOf, anyOf } from './guards/compose.js';
export { describeRoutes, type RouteDescription, type RouteLayerLike, type RouterLike } from './guards/describe-routes.js';
export { defineScopes, type ScopeCatalog, type ScopeDeclaration } from './guards/define-scopes.js';
export { keySets, type KeySetControl } from './keys/control.js';
export { memoryStore, type KeyStore } from './keys/store.js';
export { KeySourceError, type FetchFailureReason } from './keys/fetch.js';
export type { EventHook, KeySetLoadReason, TokenGuardEvent } from './events.js';
export type { IssuerSettings } from './core/options.js';
export {
  OPENAPI_DEFAULTS,
  openApiSecurity,
  type OpenApiOAuthFlow,
  type OpenApiOAuthFlows,
  type OpenApiOperationSecurity,
  type OpenApiScheme,
  type OpenApiSecurityFragment,
  type OpenApiSecurityOptions,
  type OpenApiSecurityRequirement,
} from './openapi/security.js';
export { protectedResourceMetadata } from './koa/resource-metadata.js';
export {
  METADATA_DEFAULTS,
  protectedResourceMetadataDocument,
  type ProtectedResourceMetadata,
  type ProtectedResourceMetadataOptions,
} from './metadata/document.js';
export { mcpAuthInfo, type McpAuthInfo } from './koa/mcp.js';
export { DPOP_DEFAULTS, type DpopNonceOptions, type DpopOptions, type DpopReplayCacheOptions } from './dpop/options.js';
export { normaliseHtu, requestHtu, type HtuRequest } from './dpop/htu.js';
export { certificateThumbprint } from './mtls/thumbprint.js';
export { checkCertificateBinding } from './mtls/binding.js';
export { certificateFromHeader, type CertificateHeaderOptions, type HeaderCarrier } from './mtls/proxy-header.js';
export { MTLS_DEFAULTS, type GetCertificate, type MtlsOptions } from './mtls/options.js';
export type { CertificateLike, SocketCarrier } from './mtls/certificate.js';
export {
  CACHE_CHANNEL,
  TRACING_CHANNELS,
  type AuthenticateChannelContext,
  type CacheChannelMessage,
  type DpopChannelContext,
  type FetchChannelContext,
  type IntrospectChannelContext,
  type ProviderFailure,
  type ProviderOperation,
  type ProviderOutcome,
  type TraceOutcome,
  type VerifyChannelContext,
} from './telemetry/channels.js';
