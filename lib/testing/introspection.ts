import { SignJWT } from 'jose';
import { authenticateClient, readForm, type TestClientCredentials } from './client-auth.js';
import { json, oauthError, type EndpointAnswer, type EndpointHandler } from './endpoints.js';
import type { TestKey } from './keys.js';
import type { TestClaims } from './sign.js';

/** RFC 9701 §5: the media type of a signed introspection answer, and the `typ` of its JWT. */
export const INTROSPECTION_JWT = 'application/token-introspection+jwt';

/** What the introspection endpoint needs from its issuer. */
export interface IntrospectionEndpointOptions {
  readonly issuer: string;
  readonly endpoint: string;
  readonly client: TestClientCredentials;
  /** The claims of an active token, or undefined for an unknown, expired or revoked one. */
  readonly lookup: (token: string) => Promise<TestClaims | undefined>;
  readonly signingKey: () => TestKey;
}

/** Whether an Accept header asks for RFC 9701's signed answer. */
function wantsJwt(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    return type === INTROSPECTION_JWT && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}

/**
 * An RFC 7662 introspection endpoint: the configured client only (§2.1), `token` required; an active token's claims
 * with `active: true`, anything else `{ active: false }` alone (§2.2). RFC 9701 signed answers when the caller's
 * Accept asks for them.
 */
export function introspectionEndpoint(options: IntrospectionEndpointOptions): EndpointHandler {
  const seen = new Set<string>();
  const clientFor = (id: string): TestClientCredentials | undefined => (id === options.client.clientId ? options.client : undefined);
  return async (request): Promise<EndpointAnswer> => {
    const form = readForm(request);
    if (!(form instanceof URLSearchParams)) return form;
    const client = await authenticateClient(request, form, clientFor, [options.issuer, options.endpoint], seen);
    if (client.refusal !== undefined) return client.refusal;
    const token = form.get('token');
    if (token === null || token === '') return oauthError(400, 'invalid_request', 'the token parameter is required');
    const claims = await options.lookup(token);
    // Claims may override `active` on purpose (`active: 'true'` tests a sloppy server).
    const answer = claims === undefined ? { active: false } : { active: true, ...claims };
    if (!wantsJwt(request.headers.accept)) return json(200, answer, { 'cache-control': 'no-store' });
    const key = options.signingKey();
    const jwt = await new SignJWT({ token_introspection: answer })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'token-introspection+jwt' })
      .setIssuer(options.issuer)
      .setAudience(client.clientId)
      .setIssuedAt()
      .sign(key.privateKey);
    return { kind: 'reply', status: 200, headers: { 'content-type': INTROSPECTION_JWT, 'cache-control': 'no-store' }, body: jwt };
  };
}
