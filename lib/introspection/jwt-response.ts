import { decodeJwt, jwtVerify, type JWSHeaderParameters } from 'jose';
import { KeySourceError } from '../keys/fetch.js';
import type { RemoteKeySet } from '../keys/key-set.js';

/** What verifying an RFC 9701 answer needs. */
export interface JwtAnswerOptions {
  /** The key set of an accepted issuer (the same object that verifies its JWTs), or undefined for any other `iss`. */
  readonly keySetFor: (iss: string) => RemoteKeySet | undefined | Promise<RemoteKeySet | undefined>;
  /** Our client id: the answer's `aud` (RFC 9701 5). */
  readonly clientId: string;
  readonly algorithms: readonly string[];
  readonly clockTolerance: number;
}

/** RFC 9701 5: the answer is made for this one request, so an old one is a replay. Seconds. */
const MAX_ANSWER_AGE = 60;

function invalid(message: string, cause?: unknown): KeySourceError {
  return new KeySourceError('jwt_invalid', `signed introspection answer refused: ${message}`, { cause });
}

/**
 * Verifies an RFC 9701 signed introspection answer and returns its `token_introspection` member: signed
 * by a key of the issuer's key set, `typ` `token-introspection+jwt`, `iss` that issuer, `aud` our client
 * id, `iat` recent. Any failure is a `KeySourceError` (`jwt_invalid`): the server's fault, never the
 * token's, so a 503 and not a 401.
 */
export async function verifyJwtAnswer(jwt: string, options: JwtAnswerOptions): Promise<Record<string, unknown>> {
  let iss: unknown;
  try {
    ({ iss } = decodeJwt(jwt));
  } catch (cause) {
    throw invalid('not a JWT', cause);
  }
  const keySet = typeof iss === 'string' ? await options.keySetFor(iss) : undefined;
  if (keySet === undefined) throw invalid('issuer not accepted');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(jwt, (header: JWSHeaderParameters) => keySet.getKey(header), {
      issuer: iss as string,
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
  const answer = payload.token_introspection;
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) throw invalid('no token_introspection object');
  return answer as Record<string, unknown>;
}
