/**
 * One error family for every refusal, mapped to RFC 6750 section 3.
 *
 * Each error carries what Koa's default error handler reads (`status`, `expose`, `headers`) plus a
 * stable machine-readable `code`. Messages are fixed phrases: nothing a client sent (the token, its
 * claims) and nothing about keys ever ends up in them.
 */

/** The RFC 6750 section 3.1 error codes. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope'
  // RFC 9470 3: the token is fine, the user's authentication is not strong or recent enough
  | 'insufficient_user_authentication';

/** The RFC 9449 section 7.1 and 12.2 error codes of a `DPoP` challenge. */
export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce';

/** Stable codes, one per reason. Safe to switch on, log and count. */
export type AuthErrorCode =
  // 401 without an error attribute (RFC 6750 3.1: the request carried no credentials)
  | 'credentials_missing'
  // 400 invalid_request
  | 'token_empty'
  | 'authorization_malformed'
  | 'multiple_tokens'
  | 'multiple_methods'
  // 401 invalid_token
  | 'token_malformed'
  | 'token_too_large'
  | 'typ_invalid'
  | 'alg_not_allowed'
  | 'kid_unknown'
  | 'signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_too_old'
  | 'issuer_invalid'
  | 'audience_invalid'
  | 'claim_missing'
  | 'claim_invalid'
  | 'scope_claim_invalid'
  | 'user_unknown'
  | 'userinfo_rejected'
  | 'userinfo_sub_mismatch'
  | 'token_inactive'
  // 401 insufficient_user_authentication (RFC 9470)
  | 'insufficient_user_authentication'
  | 'token_dpop_bound'
  | 'token_not_dpop_bound'
  | 'dpop_required'
  // 401 invalid_dpop_proof (RFC 9449 4.3)
  | 'dpop_proof_missing'
  | 'dpop_proof_multiple'
  | 'dpop_proof_too_large'
  | 'dpop_proof_malformed'
  | 'dpop_typ_invalid'
  | 'dpop_alg_not_allowed'
  | 'dpop_jwk_invalid'
  | 'dpop_signature_invalid'
  | 'dpop_htm_mismatch'
  | 'dpop_htu_mismatch'
  | 'dpop_iat_invalid'
  | 'dpop_jti_invalid'
  | 'dpop_replayed'
  | 'dpop_ath_mismatch'
  | 'dpop_key_mismatch'
  // 401 use_dpop_nonce (RFC 9449 8)
  | 'dpop_nonce_required'
  | 'certificate_missing'
  | 'certificate_mismatch'
  | 'token_not_certificate_bound'
  | 'token_certificate_bound'
  // 403 insufficient_scope
  | 'insufficient_scope'
  | 'claim_requirement_failed'
  | 'userinfo_forbidden'
  // 503
  | 'key_source_unavailable'
  | 'userinfo_unavailable'
  | 'introspection_unavailable'
  | 'dpop_replay_unavailable'
  // 429
  | 'dpop_key_quota_exceeded';

import { bearerChallenge, dpopChallenge, type ChallengeParams, type DpopChallengeContext } from './challenge.js';

export { bearerChallenge, dpopChallenge, headerSafe, type ChallengeParams, type DpopChallengeContext, type DpopChallengeParams } from './challenge.js';

/** Base class of every error this package throws at request time. */
export abstract class AuthError extends Error {
  /** HTTP status Koa answers with. */
  abstract readonly status: number;
  /** The RFC 6750 (or RFC 9449) `error` attribute, when the challenge carries one. */
  readonly error: BearerErrorCode | DpopErrorCode | undefined;
  /** Stable reason code. */
  readonly code: AuthErrorCode;
  /** Koa renders `message` as the body when `expose` is true; ours are fixed, safe phrases. */
  readonly expose = true;
  /** The realm of the challenge; set by `authenticate()` from its options. */
  realm: string | undefined;
  /** The RFC 9728 `resource_metadata` URL of the challenge; set with the realm when `authenticate({ resourceMetadata })` is on. */
  resourceMetadata: string | undefined;
  /** Set by `authenticate()` when `dpop` is configured: the challenges then follow RFC 9449 7.1. */
  dpop: DpopChallengeContext | undefined;
  /** The `scope` attribute of a 401 without credentials or with an invalid token: `authenticate({ challengeScope })`. */
  challengeScope: readonly string[] | undefined;

  constructor(code: AuthErrorCode, error: BearerErrorCode | DpopErrorCode | undefined, description: string, options?: ErrorOptions) {
    super(description, options);
    this.name = new.target.name;
    this.code = code;
    this.error = error;
  }

  /** The plain-words `error_description`. */
  get description(): string {
    return this.message;
  }

  /** Response headers: Koa's default handler and most error middleware copy these onto the response. */
  get headers(): Record<string, string> {
    return { 'WWW-Authenticate': this.challenges() };
  }

  /** The error's own challenge attributes; subclasses add theirs (`scope`, `acr_values`, ...). */
  protected challengeParams(): ChallengeParams {
    return { error: this.error as BearerErrorCode | undefined, description: this.error ? this.message : undefined, scope: this.challengeScope };
  }

  /**
   * Every challenge, built in one place. RFC 9449 7.1: a refusal of a DPoP request (or a DPoP-only
   * API, or a proof error) is a `DPoP` challenge carrying the error; any other keeps its `Bearer`
   * challenge first (clients such as MCP's read only that) and offers `DPoP algs` after it.
   */
  protected challenges(): string {
    const params: ChallengeParams = { ...this.challengeParams(), realm: this.realm, resourceMetadata: this.resourceMetadata };
    const dpop = this.dpop;
    if (this.error === 'invalid_dpop_proof' || this.error === 'use_dpop_nonce' || dpop?.scheme === 'DPoP' || dpop?.required === true) {
      return dpopChallenge({ ...params, error: this.error, algs: dpop?.algs });
    }
    const bearer = bearerChallenge(params);
    return dpop === undefined ? bearer : `${bearer}, ${dpopChallenge({ algs: dpop.algs })}`;
  }

  /** The RFC 6750 JSON body: `{ error, error_description }`. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.error ?? 'unauthorized', error_description: this.message };
  }
}

/** 401 with a bare challenge: the request carried no credentials at all (RFC 6750 3.1). */
export class MissingCredentialsError extends AuthError {
  readonly status = 401;
  constructor(description = 'authentication required') {
    super('credentials_missing', undefined, description);
  }
}

/** 401 `invalid_dpop_proof` (RFC 9449 7.1): the request's DPoP proof is missing, malformed, or does not fit the request or the token. */
export class InvalidDpopProofError extends AuthError {
  readonly status = 401;
  constructor(code: AuthErrorCode, description: string, options?: ErrorOptions) {
    super(code, 'invalid_dpop_proof', description, options);
  }
}

/** 401 `use_dpop_nonce` (RFC 9449 8): the proof must carry the server nonce sent in the `DPoP-Nonce` header. */
export class UseDpopNonceError extends AuthError {
  readonly status = 401;
  /** The nonce the client must put into its next proof. */
  readonly nonce: string;
  /** `stale`: the proof carried a nonce, but not a current one of ours. */
  constructor(nonce: string, stale = false) {
    super('dpop_nonce_required', 'use_dpop_nonce', stale ? 'DPoP nonce expired or invalid' : 'DPoP nonce required');
    this.nonce = nonce;
  }

  override get headers(): Record<string, string> {
    return { 'WWW-Authenticate': this.challenges(), 'DPoP-Nonce': this.nonce };
  }
}

/** 400 `invalid_request`: the credentials were sent in a malformed way. */
export class InvalidRequestError extends AuthError {
  readonly status = 400;
  constructor(code: AuthErrorCode, description: string) {
    super(code, 'invalid_request', description);
  }
}

/** 401 `invalid_token`: the token is malformed, expired, forged, or not meant for this API. */
export class InvalidTokenError extends AuthError {
  readonly status = 401;
  constructor(code: AuthErrorCode, description: string, options?: ErrorOptions) {
    super(code, 'invalid_token', description, options);
  }
}

/** 403 `insufficient_scope`: a valid token that lacks what the route requires. */
export class InsufficientScopeError extends AuthError {
  readonly status = 403;
  /** Every scope the route requires (the challenge's `scope` attribute). */
  readonly scopes: readonly string[];
  constructor(scopes: readonly string[], description: string, code: AuthErrorCode = 'insufficient_scope') {
    super(code, 'insufficient_scope', description);
    this.scopes = scopes;
  }

  protected override challengeParams(): ChallengeParams {
    return { error: 'insufficient_scope', description: this.message, scope: this.scopes };
  }
}

/**
 * 401 `insufficient_user_authentication` (RFC 9470 3): a valid token whose user authentication is too
 * weak (`acr`) or too old (`auth_time`). The challenge tells the client what to ask the authorization
 * server for: `acr_values` and `max_age`.
 */
export class InsufficientUserAuthenticationError extends AuthError {
  readonly status = 401;
  /** The acceptable `acr` values (the challenge's `acr_values`). */
  readonly acrValues: readonly string[];
  /** The largest acceptable authentication age in seconds (the challenge's `max_age`). */
  readonly maxAge: number | undefined;
  constructor(acrValues: readonly string[], maxAge: number | undefined, description: string) {
    super('insufficient_user_authentication', 'insufficient_user_authentication', description);
    this.acrValues = acrValues;
    this.maxAge = maxAge;
  }

  protected override challengeParams(): ChallengeParams {
    return { error: 'insufficient_user_authentication', description: this.message, acrValues: this.acrValues, maxAge: this.maxAge };
  }
}

/** 503 with `Retry-After`: something we need from the identity provider failed; the client's token is not at fault. */
export abstract class TemporarilyUnavailableError extends AuthError {
  readonly status = 503;
  /** Seconds the client should wait before retrying. */
  readonly retryAfter: number;
  constructor(code: AuthErrorCode, description: string, retryAfter: number, options?: ErrorOptions) {
    super(code, undefined, description, options);
    this.retryAfter = Math.max(1, Math.ceil(retryAfter));
  }

  override get headers(): Record<string, string> {
    return { 'Retry-After': String(this.retryAfter) };
  }

  override toJSON(): { error: string; error_description: string } {
    return { error: 'temporarily_unavailable', error_description: this.message };
  }
}

/**
 * 503 with `Retry-After`: the keys could not be obtained from the identity provider and no usable
 * cached key exists. Never `invalid_token`: the client's token is not at fault.
 */
export class KeySourceUnavailableError extends TemporarilyUnavailableError {
  constructor(retryAfter: number, options?: ErrorOptions) {
    super('key_source_unavailable', 'token verification is temporarily unavailable', retryAfter, options);
  }
}

/**
 * `resolveUser` found no user for a valid token: 401 `invalid_token` "unknown user" by default, or a
 * 403 without a challenge (`unknownUserStatus: 403`): the token is fine, the caller has no account here.
 */
export class UnknownUserError extends AuthError {
  readonly status: 401 | 403;
  constructor(status: 401 | 403 = 401) {
    super('user_unknown', status === 401 ? 'invalid_token' : undefined, 'unknown user');
    this.status = status;
  }

  override get headers(): Record<string, string> {
    return this.status === 401 ? super.headers : {};
  }

  override toJSON(): { error: string; error_description: string } {
    return this.status === 401 ? super.toJSON() : { error: 'access_denied', error_description: this.message };
  }
}

/**
 * 503 with `Retry-After`: the identity provider's userinfo endpoint failed (network, timeout, 5xx,
 * malformed answer). Never `invalid_token`: the client's token is not at fault.
 */
export class UserInfoUnavailableError extends TemporarilyUnavailableError {
  constructor(retryAfter: number, options?: ErrorOptions) {
    super('userinfo_unavailable', 'user information is temporarily unavailable', retryAfter, options);
  }
}

/**
 * 503 with `Retry-After`: the authorization server's introspection endpoint failed (network, timeout,
 * 5xx, 429, a malformed or unverifiable answer, our own client authentication refused), or too many
 * introspection calls are already waiting. Never `invalid_token`: the client's token is not at fault.
 */
export class IntrospectionUnavailableError extends TemporarilyUnavailableError {
  constructor(retryAfter: number, options?: ErrorOptions) {
    super('introspection_unavailable', 'token introspection is temporarily unavailable', retryAfter, options);
  }
}

/**
 * 503 with `Retry-After`: the in-memory DPoP replay store is full of proofs still inside their window.
 * Forgetting one would let it be replayed, so new proofs wait instead (fail closed).
 */
export class DpopReplayUnavailableError extends TemporarilyUnavailableError {
  constructor(retryAfter: number, options?: ErrorOptions) {
    super('dpop_replay_unavailable', 'DPoP proof checking is temporarily unavailable', retryAfter, options);
  }
}

/**
 * 429 with `Retry-After` (RFC 6585 4): one DPoP key sent more valid proofs within the replay window than
 * its share of the replay store (`dpop.replayCache.maxPerKey`). Only that key waits; no challenge, since
 * its credentials are fine.
 */
export class DpopKeyQuotaError extends AuthError {
  readonly status = 429;
  /** Seconds until the key may send its next proof. */
  readonly retryAfter: number;
  constructor(retryAfter: number) {
    super('dpop_key_quota_exceeded', undefined, 'too many DPoP proofs for this key');
    this.retryAfter = Math.max(1, Math.ceil(retryAfter));
  }

  override get headers(): Record<string, string> {
    return { 'Retry-After': String(this.retryAfter) };
  }

  override toJSON(): { error: string; error_description: string } {
    return { error: 'too_many_requests', error_description: this.message };
  }
}

/** Thrown at startup for bad options; the message says how to fix them. Never caused by a client (only `fetchUserInfo` without an endpoint reports at first use). */
export class ConfigurationError extends TypeError {
  readonly code = 'configuration_invalid';
  constructor(message: string) {
    super(`koa-token-guard: ${message}`);
    this.name = 'ConfigurationError';
  }
}

/**
 * 500, not exposed: a guard ran on a request that `authenticate()` never saw. A programming error in
 * the app's middleware order, never a client's fault; Koa logs it through `app.on('error')`.
 */
export class GuardOrderError extends Error {
  readonly code = 'authenticate_missing';
  readonly status = 500;
  readonly expose = false;
  constructor(guard: string) {
    super(`koa-token-guard: authenticate() must run before ${guard}(); mount authenticate() on the app or router ahead of the guard.`);
    this.name = 'GuardOrderError';
  }
}
