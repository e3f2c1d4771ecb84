import type { JWK } from 'jose';
import { PKCE_VALUE, s256, validResource, type AuthorizationCodes, type AuthorizationGrant } from './authorization-endpoint.js';
import { authenticateClient, readForm } from './client-auth.js';
import { json, oauthError, type EndpointAnswer, type EndpointHandler } from './endpoints.js';
import type { TestClaims } from './sign.js';

/**
 * A client of the test issuer: the `client_credentials` grant (RFC 6749 §4.4) for a confidential client, and with
 * `redirectUris` the authorization code grant with PKCE (§4.1, RFC 7636).
 */
export interface TestClient {
  /** The client's id: `client_id` of its tokens, and `sub` of its client-credentials tokens. */
  clientId: string;
  /** Its secret, for `client_secret_basic` and `client_secret_post`. */
  clientSecret?: string | undefined;
  /**
   * Its public JWKs, for `private_key_jwt` (RFC 7523). Give this and/or `clientSecret`; with neither, the client is
   * public (`token_endpoint_auth_method: none`, `redirectUris` required) and may use the authorization code grant only.
   */
  jwks?: readonly JWK[] | undefined;
  /** Its redirect URIs (absolute, no fragment), compared whole: with them the client may use the authorization endpoint. */
  redirectUris?: readonly string[] | undefined;
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
  /** The codes the authorization endpoint handed out. */
  readonly codes: AuthorizationCodes;
}

/** Whether a client has no credentials: it authenticates with its `client_id` alone (`none`). */
export const isPublic = (client: TestClient): boolean => client.clientSecret === undefined && client.jwks === undefined;

/** The issued token's answer (RFC 6749 §5.1), never cached. */
async function issue(options: TokenEndpointOptions, client: TestClient, claims: TestClaims): Promise<EndpointAnswer> {
  const token = await options.mint(client, claims);
  return json(200, {
    access_token: token,
    token_type: 'Bearer',
    expires_in: options.expiresIn,
    ...(claims.scope === undefined ? {} : { scope: claims.scope }),
  }, { 'cache-control': 'no-store', pragma: 'no-cache' });
}

/**
 * RFC 6749 §4.1.3 and RFC 7636 §4.6: a code redeemed once, by the client it was issued to, with the same redirect
 * URI and the verifier of its challenge; RFC 8707 resources within those authorized.
 */
function redeem(options: TokenEndpointOptions, client: TestClient, form: URLSearchParams): Promise<EndpointAnswer> | EndpointAnswer {
  const code = form.get('code');
  if (code === null) return oauthError(400, 'invalid_request', 'the code parameter is required');
  const granted: AuthorizationGrant | undefined = options.codes.redeem(code);
  if (granted === undefined || granted.clientId !== client.clientId) return oauthError(400, 'invalid_grant', 'the code is unknown, expired, used or not this client\'s');
  const redirectUri = form.get('redirect_uri');
  if ((granted.redirectUriGiven || redirectUri !== null) && redirectUri !== granted.redirectUri) {
    return oauthError(400, 'invalid_grant', 'redirect_uri differs from the authorization request');
  }
  const verifier = form.get('code_verifier');
  if (verifier === null || !PKCE_VALUE.test(verifier) || s256(verifier) !== granted.codeChallenge) {
    return oauthError(400, 'invalid_grant', 'the code_verifier does not match the code_challenge');
  }
  const resources = form.getAll('resource');
  if (resources.some((r) => !validResource(r)) || (granted.resources.length > 0 && resources.some((r) => !granted.resources.includes(r)))) {
    return oauthError(400, 'invalid_target', 'resource must be one the authorization request named');
  }
  const audiences = resources.length > 0 ? resources : granted.resources;
  const aud = audiences.length === 0 ? client.audience : audiences.length === 1 ? audiences[0] : audiences;
  const scope = (granted.scope ?? client.scope?.split(' ').filter(Boolean))?.join(' ');
  return issue(options, client, {
    ...(granted.subject === undefined ? {} : { sub: granted.subject }),
    client_id: client.clientId,
    scope: scope === undefined || scope === '' ? undefined : scope,
    ...(aud === undefined ? {} : { aud }),
    ...client.claims,
  });
}

/**
 * A token endpoint for the client-credentials and authorization code grants: client authentication as the
 * introspection endpoint takes it (or `client_id` alone for a public client), optional `scope` (a subset of the
 * client's) and RFC 8707 `resource` (becomes `aud`).
 */
export function tokenEndpoint(options: TokenEndpointOptions): EndpointHandler {
  const seen = new Set<string>();
  return async (request): Promise<EndpointAnswer> => {
    const form = readForm(request);
    if (!(form instanceof URLSearchParams)) return form;
    const client = await authenticateClient(request, form, (id) => options.clients.get(id), [options.issuer, options.endpoint], seen);
    if (client.refusal !== undefined) return client.refusal;
    const grant = form.get('grant_type');
    if (grant === null) return oauthError(400, 'invalid_request', 'the grant_type parameter is required');
    const registered = options.clients.get(client.clientId)!;
    if (grant === 'authorization_code') return redeem(options, registered, form);
    if (grant !== 'client_credentials') return oauthError(400, 'unsupported_grant_type', 'only authorization_code and client_credentials are supported');
    if (isPublic(registered)) return oauthError(400, 'unauthorized_client', 'a public client cannot use client_credentials');
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
    return issue(options, registered, claims);
  };
}
