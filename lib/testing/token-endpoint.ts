import type { JWK } from 'jose';
import { authenticateClient, readForm } from './client-auth.js';
import { json, oauthError, type EndpointAnswer, type PostHandler } from './endpoints.js';
import type { TestClaims } from './sign.js';

/** A client of the test issuer's token endpoint (`client_credentials` grant, RFC 6749 §4.4). */
export interface TestClient {
  /** The client's id: `sub` and `client_id` of its tokens. */
  clientId: string;
  /** Its secret, for `client_secret_basic` and `client_secret_post`. */
  clientSecret?: string | undefined;
  /** Its public JWKs, for `private_key_jwt` (RFC 7523); give this and/or `clientSecret`. */
  jwks?: readonly JWK[] | undefined;
  /** `'jwt'` (default): an access token signed like `sign()`; `'opaque'`: a reference token like `issueOpaque()`. */
  format?: 'jwt' | 'opaque' | undefined;
  /** The scopes the client may get, space-separated; granted when the request names none. Default: any requested scope. */
  scope?: string | undefined;
  /** The `aud` when the request names no RFC 8707 `resource`. Default: the issuer's `audience`. */
  audience?: string | readonly string[] | undefined;
  /** Extra claims of its tokens (over the issuer's defaults); an `undefined` value removes one. */
  claims?: TestClaims | undefined;
}

/** What the token endpoint needs from its issuer. */
export interface TokenEndpointOptions {
  readonly issuer: string;
  readonly endpoint: string;
  readonly clients: ReadonlyMap<string, TestClient>;
  readonly expiresIn: number;
  readonly mint: (client: TestClient, claims: TestClaims) => Promise<string>;
}

// RFC 8707 §2: an absolute URI without a fragment.
function validResource(value: string): boolean {
  if (!URL.canParse(value)) return false;
  return !value.includes('#');
}

/**
 * A token endpoint for the client-credentials grant: client authentication as the introspection endpoint takes it,
 * optional `scope` (a subset of the client's) and RFC 8707 `resource` (becomes `aud`).
 */
export function tokenEndpoint(options: TokenEndpointOptions): PostHandler {
  const seen = new Set<string>();
  return async (request): Promise<EndpointAnswer> => {
    const form = readForm(request);
    if (!(form instanceof URLSearchParams)) return form;
    const client = await authenticateClient(request, form, (id) => options.clients.get(id), [options.issuer, options.endpoint], seen);
    if (client.refusal !== undefined) return client.refusal;
    const grant = form.get('grant_type');
    if (grant === null) return oauthError(400, 'invalid_request', 'the grant_type parameter is required');
    if (grant !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', 'only client_credentials is supported');
    const registered = options.clients.get(client.clientId)!;
    const allowed = registered.scope?.split(' ').filter(Boolean);
    const requested = form.get('scope')?.split(' ').filter(Boolean);
    if (requested !== undefined && allowed !== undefined && requested.some((s) => !allowed.includes(s))) {
      return oauthError(400, 'invalid_scope', 'a requested scope is not allowed for this client');
    }
    const scope = (requested ?? allowed)?.join(' ');
    const resources = form.getAll('resource');
    if (resources.some((r) => !validResource(r))) return oauthError(400, 'invalid_target', 'resource must be an absolute URI without a fragment');
    const aud = resources.length === 0 ? registered.audience : resources.length === 1 ? resources[0] : resources;
    const claims: TestClaims = {
      sub: client.clientId,
      client_id: client.clientId,
      scope: scope === undefined || scope === '' ? undefined : scope,
      ...(aud === undefined ? {} : { aud }),
      ...registered.claims,
    };
    const token = await options.mint(registered, claims);
    return json(200, {
      access_token: token,
      token_type: 'Bearer',
      expires_in: options.expiresIn,
      ...(claims.scope === undefined ? {} : { scope: claims.scope }),
    }, { 'cache-control': 'no-store', pragma: 'no-cache' });
  };
}
