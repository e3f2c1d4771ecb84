import { jwtVerify, type JWSHeaderParameters } from 'jose';
import { isCanonicalCompactJws, tokenJsonDefect } from '../core/token-shape.js';
import { KeySourceError } from '../keys/fetch.js';
import type { RemoteKeySet } from '../keys/key-set.js';

/** What verifying an RFC 9701 answer needs. */
export interface JwtAnswerOptions {
  /** The issuer that owns the endpoint asked: the only one whose key may sign its answers (RFC 9701 5). */
  readonly issuer: string;
  /** That issuer's key set (the same object that verifies its JWTs), or undefined when it is not accepted. */
  readonly keySet: () => RemoteKeySet | undefined | Promise<RemoteKeySet | undefined>;
  /** Our client id: the answer's `aud` (RFC 9701 5). */
  readonly clientId: string;
  readonly algorithms: readonly string[];
  readonly clockTolerance: number;
  /** Deepest nesting of objects and arrays accepted in the answer's header and payload. */
  readonly maxJsonDepth: number;
}

/** RFC 9701 5: the answer is made for this one request, so an old one is a replay. Seconds. */
const MAX_ANSWER_AGE = 60;

function invalid(message: string, cause?: unknown): KeySourceError {
  return new KeySourceError('jwt_invalid', `signed introspection answer refused: ${message}`, { cause });
}

/**
 * Verifies an RFC 9701 signed introspection answer and returns its `token_introspection` member: signed
 * by a key of the endpoint owner's key set, `typ` `token-introspection+jwt`, `iss` that owner, `aud`
 * our client id, `iat` recent, no duplicate member names. The owner vouches for its own tokens only:
 * an inner `iss` must be its own, and an answer without one is given it. Any failure is a
 * `KeySourceError` (`jwt_invalid`): the server's fault, never the token's, so a 503 and not a 401.
 */
export async function verifyJwtAnswer(jwt: string, options: JwtAnswerOptions): Promise<Record<string, unknown>> {
  // The canonical form, so the duplicate scan below reads exactly the bytes jose verified.
  if (!isCanonicalCompactJws(jwt)) throw invalid('not a compact JWS');
  const keySet = await options.keySet();
  if (keySet === undefined) throw invalid('issuer not accepted');
  let payload: Record<string, unknown>;
  let protectedHeader: object;
  try {
    ({ payload, protectedHeader } = await jwtVerify(jwt, (header: JWSHeaderParameters) => keySet.getKey(header), {
      issuer: options.issuer,
      audience: options.clientId,
      typ: 'token-introspection+jwt',
      algorithms: options.algorithms as string[],
      clockTolerance: options.clockTolerance,
      maxTokenAge: MAX_ANSWER_AGE,
      requiredClaims: ['iat'],
    }));
  } catch (cause) {
    throw invalid((cause as Error)?.message ?? 'verification failed', cause);
  }
  // RFC 7515 4, RFC 7519 4: a signer keeping the first of two members and us the last would disagree on the answer.
  if (tokenJsonDefect(jwt, options.maxJsonDepth, [protectedHeader, payload]) !== undefined) throw invalid('malformed JSON');
  const answer = payload.token_introspection;
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) throw invalid('no token_introspection object');
  const { iss } = answer as { iss?: unknown };
  if (iss === undefined) return { ...answer, iss: options.issuer };
  if (iss !== options.issuer) throw invalid('token_introspection.iss is not the signer');
  return answer as Record<string, unknown>;
}
