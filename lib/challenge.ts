/**
 * `WWW-Authenticate` challenges (RFC 6750 3, RFC 9449 7.1, RFC 9470 3, RFC 9728 5.1): the attributes,
 * made header-safe, in one fixed order. `AuthError.challenges()` decides which schemes a refusal gets.
 */
import type { BearerErrorCode, DpopErrorCode } from './errors.js';

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
  /** RFC 9470 `acr_values`: the authentication context classes that would satisfy the resource. */
  acrValues?: readonly string[] | undefined;
  /** RFC 9470 `max_age`: the largest acceptable age of the user's authentication, in seconds. */
  maxAge?: number | undefined;
  /** RFC 9728 5.1 `resource_metadata`: the URL of the protected resource's metadata. */
  resourceMetadata?: string | undefined;
}

/** One challenge of `scheme`, every value made header-safe; attributes in one fixed order. */
function challengeOf(scheme: 'Bearer' | 'DPoP', { realm, error, description, scope, acrValues, maxAge, algs, resourceMetadata }: DpopChallengeParams & { realm?: string | undefined }): string {
  const attrs: string[] = [];
  if (realm !== undefined) attrs.push(`realm="${headerSafe(realm)}"`);
  if (error !== undefined) attrs.push(`error="${error}"`);
  if (description !== undefined) attrs.push(`error_description="${headerSafe(description)}"`);
  if (scope !== undefined && scope.length > 0) attrs.push(`scope="${headerSafe(scope.join(' '))}"`);
  if (acrValues !== undefined && acrValues.length > 0) attrs.push(`acr_values="${headerSafe(acrValues.join(' '))}"`);
  if (maxAge !== undefined) attrs.push(`max_age="${maxAge}"`);
  if (algs !== undefined) attrs.push(`algs="${headerSafe(algs)}"`);
  if (resourceMetadata !== undefined) attrs.push(`resource_metadata="${headerSafe(resourceMetadata)}"`);
  return attrs.length === 0 ? scheme : `${scheme} ${attrs.join(', ')}`;
}

/** Builds a `Bearer` challenge (RFC 6750 section 3) with every value made header-safe. */
export function bearerChallenge(params: ChallengeParams): string {
  return challengeOf('Bearer', params);
}

/** What `authenticate()` tells an error about DPoP, so its challenges follow RFC 9449 7.1. */
export interface DpopChallengeContext {
  /** The proof algorithms accepted, space-separated: the `algs` attribute. */
  readonly algs: string;
  /** The request used `Authorization: DPoP`: the error goes in a `DPoP` challenge instead of a `Bearer` one. */
  readonly scheme: 'Bearer' | 'DPoP' | undefined;
  /** `dpop.required`: no `Bearer` challenge is offered. */
  readonly required: boolean;
}

/** Parameters of one `WWW-Authenticate: DPoP …` challenge (RFC 9449 7.1): those of `Bearer` but `realm`, plus `algs`. */
export interface DpopChallengeParams extends Omit<ChallengeParams, 'realm' | 'error'> {
  error?: BearerErrorCode | DpopErrorCode | undefined;
  /** The proof algorithms accepted, space-separated. */
  algs?: string | undefined;
}

/** Builds a `DPoP` challenge (RFC 9449 7.1) with every value made header-safe. */
export function dpopChallenge(params: DpopChallengeParams): string {
  return challengeOf('DPoP', { ...params, realm: undefined });
}
