import { createHash, timingSafeEqual } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK } from 'jose';
import { oauthError, type EndpointAnswer, type EndpointRequest } from './endpoints.js';

/** A client the test issuer knows: a secret (client_secret_basic / _post), public keys (private_key_jwt), or both. */
export interface TestClientCredentials {
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
  /** The client's public JWKs: its `private_key_jwt` assertions (RFC 7523) are verified with them. */
  readonly jwks?: readonly JWK[] | undefined;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The outcome of client authentication: the client, or the error answer to send. */
export type ClientAuthentication = { readonly clientId: string; readonly refusal?: undefined } | { readonly clientId?: undefined; readonly refusal: EndpointAnswer };

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
const sameSecret = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

// RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined for Basic.
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | 'malformed' | undefined {
  if (header === undefined) return undefined;
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (match === null) return /^basic\b/i.test(header) ? 'malformed' : undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  const id = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  return id === undefined || secret === undefined ? 'malformed' : { id, secret };
}

/**
 * Authenticates the calling client as RFC 6749 §2.3 and RFC 7523 §2.2 say: exactly one method, `client_secret_basic`,
 * `client_secret_post` or `private_key_jwt` (a signed assertion whose `aud` is one of `audiences`, never replayed);
 * a client registered without credentials (public) by its `client_id` alone.
 */
export async function authenticateClient(
  request: EndpointRequest,
  form: URLSearchParams,
  clientFor: (clientId: string) => TestClientCredentials | undefined,
  audiences: readonly string[],
  seenAssertions: Set<string>,
): Promise<ClientAuthentication> {
  const basic = basicCredentials(request.headers.authorization);
  // RFC 6749 §5.2: a client that tried the Authorization header gets 401 with a challenge of that scheme.
  const challenge: Record<string, string> = basic === undefined ? {} : { 'www-authenticate': 'Basic realm="test-issuer"' };
  const refuse = (description: string): ClientAuthentication => ({ refusal: oauthError(401, 'invalid_client', description, challenge) });
  const post = form.has('client_secret');
  const assertion = form.has('client_assertion') || form.has('client_assertion_type');
  const methods = Number(basic !== undefined) + Number(post) + Number(assertion);
  if (methods === 0) {
    // RFC 6749 §2.3 / OAuth 2.1 §2.4: a public client (registered without credentials) identifies itself by client_id.
    const client = clientFor(form.get('client_id') ?? '');
    if (client !== undefined && client.clientSecret === undefined && client.jwks === undefined) return { clientId: client.clientId };
    return refuse('client authentication required');
  }
  if (methods > 1) return { refusal: oauthError(400, 'invalid_request', 'more than one client authentication method used') };
  if (basic === 'malformed') return refuse('malformed Basic credentials');

  if (basic !== undefined || post) {
    const id = basic !== undefined ? basic.id : form.get('client_id') ?? '';
    const secret = basic !== undefined ? basic.secret : form.get('client_secret')!;
    if (basic !== undefined && form.has('client_id') && form.get('client_id') !== id) return refuse('client_id does not match the credentials');
    const client = clientFor(id);
    if (client?.clientSecret === undefined || !sameSecret(secret, client.clientSecret)) return refuse('client authentication failed');
    return { clientId: client.clientId };
  }

  if (form.get('client_assertion_type') !== JWT_BEARER) return { refusal: oauthError(400, 'invalid_request', `client_assertion_type must be ${JWT_BEARER}`) };
  const jwt = form.get('client_assertion') ?? '';
  let claimed: unknown;
  try {
    claimed = decodeJwt(jwt).sub;
  } catch {
    return refuse('malformed client assertion');
  }
  const client = typeof claimed === 'string' ? clientFor(claimed) : undefined;
  if (client?.jwks === undefined) return refuse('client authentication failed');
  if (form.has('client_id') && form.get('client_id') !== client.clientId) return refuse('client_id does not match the assertion');
  try {
    const { payload } = await jwtVerify(jwt, createLocalJWKSet({ keys: [...client.jwks] }), {
      issuer: client.clientId,
      subject: client.clientId,
      audience: [...audiences],
      requiredClaims: ['exp', 'jti'],
    });
    if (seenAssertions.has(payload.jti!)) return refuse('client assertion replayed');
    seenAssertions.add(payload.jti!);
  } catch {
    return refuse('client authentication failed');
  }
  return { clientId: client.clientId };
}

/**
 * The form parameters of a POST, or the RFC 6749 §3.2 / §5.2 error answer: the body must be
 * `application/x-www-form-urlencoded` and name no parameter twice.
 */
export function readForm(request: EndpointRequest): URLSearchParams | EndpointAnswer {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return oauthError(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
  const form = new URLSearchParams(request.body);
  const names = [...form.keys()];
  // RFC 8707 resource is the one parameter that may repeat.
  const repeated = names.find((name, i) => name !== 'resource' && names.indexOf(name) !== i);
  if (repeated !== undefined) return oauthError(400, 'invalid_request', `parameter ${repeated} repeated`);
  return form;
}
