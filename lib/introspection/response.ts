import { deepFreeze } from '../core/cache.js';
import { invalidTimeClaim } from '../core/numeric-date.js';
import { parseScopes } from '../core/scopes.js';
import type { AccessTokenClaims, VerifiedToken } from '../core/verify.js';
import { InvalidTokenError } from '../errors.js';

/** What an introspection answer is checked against: the same settings a JWT is verified with. */
export interface AnswerChecks {
  /** Whether an `iss` is the configured issuer or one `resolveIssuer` accepts. */
  readonly issuerAccepted: (iss: string) => boolean | Promise<boolean>;
  /** The `iss` given to an answer that has none: the endpoint's owner (the one configured issuer, or `introspection.issuer`); undefined refuses such answers. */
  readonly defaultIssuer: string | undefined;
  readonly audiences: readonly string[];
  readonly audienceClaim: string;
  readonly requireAudience: boolean;
  readonly clockTolerance: number;
  readonly maxTokenAge: number | undefined;
  /** Claims the options require besides what RFC 7662 makes optional (`exp` only when listed explicitly). */
  readonly requiredClaims: readonly string[];
  readonly scopeClaims: readonly string[];
}

// RFC 7662 2.2 `token_type` names the kind of token (RFC 6749 7.1 types, or RFC 8693 3 identifiers): only
// access tokens pass. A refresh token introspects as active on several servers (RFC 7662 4).
const ACCESS_TOKEN_TYPES = new Set(['bearer', 'dpop', 'access_token', 'urn:ietf:params:oauth:token-type:access_token']);
// Ory Hydra names the kind in `token_use` (`access_token` or `refresh_token`) and sends no `token_type` for
// refresh tokens: anything but an access token is refused there too.
const ACCESS_TOKEN_USE = 'access_token';
// Registered members that are strings when present (RFC 7662 2.2, RFC 7519 4.1); anything else is refused.
const STRING_CLAIMS = ['sub', 'jti', 'client_id', 'azp', 'username', 'token_type', 'token_use'] as const;

function hasJkt(cnf: unknown): boolean {
  return cnf !== null && typeof cnf === 'object' && (cnf as { jkt?: unknown }).jkt !== undefined;
}

function audienceMatches(value: unknown, audiences: readonly string[]): boolean {
  if (typeof value === 'string') return audiences.includes(value);
  return Array.isArray(value) && value.some((v) => typeof v === 'string' && audiences.includes(v));
}

/** Why an answer's refusal may be remembered for `inactiveTtl`: it will not change with time, unlike `nbf` or a future `iat`. */
export const LASTING_REFUSALS: ReadonlySet<string> = new Set([
  'token_inactive', 'typ_invalid', 'issuer_invalid', 'audience_invalid', 'claim_missing', 'token_expired', 'token_too_old', 'scope_claim_invalid',
]);

/**
 * Turns an authorization server's answer into a `VerifiedToken`, checked as a JWT would be: `active`
 * must be the boolean true; then `token_type` (and Hydra's `token_use`; a DPoP one needs `cnf.jkt`), `iss`,
 * the audience, the time members (one NumericDate rule; `exp`/`nbf`/`iat` with the clock tolerance),
 * the string members and the scopes. Refusals are `InvalidTokenError`s (401).
 */
export async function establishAnswer<TClaims extends object>(
  token: string,
  answer: Readonly<Record<string, unknown>>,
  checks: AnswerChecks,
): Promise<VerifiedToken<TClaims>> {
  if (answer.active !== true) throw new InvalidTokenError('token_inactive', 'token is not active');
  const type = answer.token_type;
  for (const name of STRING_CLAIMS) {
    if (answer[name] !== undefined && typeof answer[name] !== 'string') throw new InvalidTokenError('claim_invalid', 'invalid claim');
  }
  const use = answer.token_use;
  const typeName = (type as string | undefined)?.toLowerCase();
  if ((typeName !== undefined && !ACCESS_TOKEN_TYPES.has(typeName)) || (use !== undefined && (use as string).toLowerCase() !== ACCESS_TOKEN_USE)) {
    throw new InvalidTokenError('typ_invalid', 'token type not accepted');
  }
  // RFC 9449 6.2: a DPoP token's answer carries its key's thumbprint. Without it the token would pass as
  // a plain bearer token, undoing the binding (the binding itself is checked per request, after the cache).
  if (typeName === 'dpop' && !hasJkt(answer.cnf)) throw new InvalidTokenError('claim_missing', 'missing required claim');
  // An answer without iss is the endpoint owner's, when there is one; that issuer too must be accepted (resolveIssuer).
  const iss = answer.iss === undefined ? checks.defaultIssuer : answer.iss;
  if (typeof iss !== 'string' || !(await checks.issuerAccepted(iss))) throw new InvalidTokenError('issuer_invalid', 'token issuer not accepted');
  const audience = answer[checks.audienceClaim];
  if (audience === undefined) {
    if (checks.requireAudience || checks.audienceClaim !== 'aud') throw new InvalidTokenError('claim_missing', 'missing required claim');
  } else if (!audienceMatches(audience, checks.audiences)) {
    throw new InvalidTokenError('audience_invalid', 'token audience not accepted');
  }
  for (const name of checks.requiredClaims) {
    if (answer[name] === undefined) throw new InvalidTokenError('claim_missing', 'missing required claim');
  }
  if (invalidTimeClaim(answer) !== undefined) throw new InvalidTokenError('claim_invalid', 'invalid claim');
  const { exp, nbf, iat } = answer as { exp?: number; nbf?: number; iat?: number };
  const now = Date.now() / 1000;
  const tolerance = checks.clockTolerance;
  if (exp !== undefined && Math.floor(now) >= exp + tolerance) throw new InvalidTokenError('token_expired', 'token expired');
  if (nbf !== undefined && nbf > now + tolerance) throw new InvalidTokenError('token_not_yet_valid', 'token not yet valid');
  if (iat !== undefined && iat > now + tolerance) throw new InvalidTokenError('claim_invalid', 'token issued in the future');
  if (checks.maxTokenAge !== undefined) {
    if (iat === undefined) throw new InvalidTokenError('claim_missing', 'missing required claim');
    if (Math.floor(now) - iat > checks.maxTokenAge + tolerance) throw new InvalidTokenError('token_too_old', 'token too old');
  }
  const scopes = parseScopes(answer, checks.scopeClaims);
  // The answer's members, with `iss` filled in: resolveUser keys users by issuer + sub, fetchUserInfo finds the endpoint by it.
  const claims = { ...answer, iss } as TClaims & AccessTokenClaims;
  return deepFreeze({ token, source: 'introspection', claims, scopes });
}
