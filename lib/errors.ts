/**
 * One error family for every refusal, mapped to RFC 6750 section 3.
 *
 * Each error carries what Koa's default error handler reads (`status`, `expose`, `headers`) plus a
 * stable machine-readable `code`. Messages are fixed phrases: nothing a client sent (the token, its
 * claims) and nothing about keys ever ends up in them.
 */

/** The RFC 6750 section 3.1 error codes. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

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
  | 'userinfo_unavailable';

// RFC 6750 3: quoted-string values use %x20-21 / %x23-5B / %x5D-7E only.
const UNSAFE_HEADER_CHARS = /[^\x20\x21\x23-\x5B\x5D-\x7E]/g;

/** Strips what RFC 6750 forbids inside a challenge attribute value (`"`, `\`, controls, non-ASCII). */
export function headerSafe(value: string): string {
  return value.replace(UNSAFE_HEADER_CHARS, '');
}

/** Parameters of one `WWW-Authenticate: Bearer …` challenge. */
export interface ChallengeParams {
  realm?: string | undefined;
  error?: BearerErrorCode | undefined;
  description?: string | undefined;
  scope?: readonly string[] | undefined;
}

/** Builds a `Bearer` challenge (RFC 6750 section 3) with every value made header-safe. */
export function bearerChallenge({ realm, error, description, scope }: ChallengeParams): string {
  const attrs: string[] = [];
  if (realm !== undefined) attrs.push(`realm="${headerSafe(realm)}"`);
  if (error !== undefined) attrs.push(`error="${error}"`);
  if (description !== undefined) attrs.push(`error_description="${headerSafe(description)}"`);
  if (scope !== undefined && scope.length > 0) attrs.push(`scope="${headerSafe(scope.join(' '))}"`);
  return attrs.length === 0 ? 'Bearer' : `Bearer ${attrs.join(', ')}`;
}

/** Base class of every error this package throws at request time. */
export abstract class AuthError extends Error {
  /** HTTP status Koa answers with. */
  abstract readonly status: number;
  /** The RFC 6750 `error` attribute, when the challenge carries one. */
  readonly error: BearerErrorCode | undefined;
  /** Stable reason code. */
  readonly code: AuthErrorCode;
  /** Koa renders `message` as the body when `expose` is true; ours are fixed, safe phrases. */
  readonly expose = true;
  /** The realm of the challenge; set by `authenticate()` from its options. */
  realm: string | undefined;

  constructor(code: AuthErrorCode, error: BearerErrorCode | undefined, description: string, options?: ErrorOptions) {
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
    return { 'WWW-Authenticate': this.challenge() };
  }

  protected challenge(): string {
    return bearerChallenge({ realm: this.realm, error: this.error, description: this.error ? this.message : undefined });
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

  protected override challenge(): string {
    return bearerChallenge({ realm: this.realm, error: 'insufficient_scope', description: this.message, scope: this.scopes });
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
