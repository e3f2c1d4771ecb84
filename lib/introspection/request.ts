import { jsonDefect } from '../core/token-shape.js';
import { fetchText, KeySourceError, parseJsonObject, type FetchJsonOptions } from '../keys/fetch.js';
import type { ClientCredentials } from './client-auth.js';

/** RFC 9701 4: the media type of a signed introspection answer. */
export const JWT_RESPONSE_TYPE = 'application/token-introspection+jwt';

/** Deepest nesting of objects and arrays accepted in an answer, plain or signed (ours are 2 or 3 deep). */
export const MAX_ANSWER_DEPTH = 32;

/** The authorization server's answer, before any of our checks: a JSON object, or an RFC 9701 JWT still to verify. */
export type RawAnswer = { readonly json: Record<string, unknown> } | { readonly jwt: string };

/** One introspection call's settings. */
export interface IntrospectionRequestOptions extends FetchJsonOptions {
  /** Ask for (and only accept) an RFC 9701 signed answer. */
  readonly jwtResponse: boolean;
}

function mediaType(response: Response): string {
  return (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * RFC 7662 2.1: POSTs `token=…&token_type_hint=access_token` with our client authentication, within
 * `fetchTimeout` and `maxResponseBytes`. Redirects are not followed: the token and our credentials
 * go to the configured endpoint only. Every failure is a `KeySourceError`.
 */
export async function requestIntrospection(
  endpoint: string,
  token: string,
  credentials: ClientCredentials,
  options: IntrospectionRequestOptions,
): Promise<RawAnswer> {
  const body = new URLSearchParams({ token, token_type_hint: 'access_token', ...credentials.params });
  const { response, text } = await fetchText(endpoint, {
    method: 'POST',
    headers: {
      ...credentials.headers,
      'content-type': 'application/x-www-form-urlencoded',
      accept: options.jwtResponse ? JWT_RESPONSE_TYPE : 'application/json',
    },
    body: body.toString(),
    redirect: 'manual',
  }, options);
  if (!options.jwtResponse) {
    const json = parseJsonObject(text, endpoint);
    // As for JWTs (RFC 7519 4): of two members of one name, a proxy and we could read different ones.
    if (jsonDefect(text, MAX_ANSWER_DEPTH, json) !== undefined) throw new KeySourceError('shape', `${endpoint} answered with duplicate members or deep nesting`);
    return { json };
  }
  // RFC 9701 5: a plain JSON answer to a request for a signed one is refused, or it could be forged on the way.
  if (mediaType(response) !== JWT_RESPONSE_TYPE) {
    throw new KeySourceError('jwt_invalid', `${endpoint} did not answer with ${JWT_RESPONSE_TYPE}`);
  }
  return { jwt: text.trim() };
}
