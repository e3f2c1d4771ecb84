import { createHash, randomBytes } from 'node:crypto';
import { json, type EndpointAnswer, type EndpointHandler } from './endpoints.js';
import type { TestClient } from './token-endpoint.js';

/** What the authorization endpoint granted, kept until its code is redeemed (once) or expires. */
export interface AuthorizationGrant {
  readonly clientId: string;
  readonly redirectUri: string;
  /** Whether the request named `redirect_uri`: the token request must then repeat it (RFC 6749 §4.1.3). */
  readonly redirectUriGiven: boolean;
  /** The S256 `code_challenge` (RFC 7636). */
  readonly codeChallenge: string;
  /** The granted scopes, or undefined when the request named none (the client's own then). */
  readonly scope: readonly string[] | undefined;
  /** RFC 8707 resources the request named. */
  readonly resources: readonly string[];
  /** The resource owner: `login_hint`, else the issuer's default `sub`. */
  readonly subject: string | undefined;
}

/** A code lives this long (RFC 6749 §4.1.2 recommends at most 10 minutes; tests redeem at once). */
const CODE_LIFETIME_MS = 60_000;

/** The codes an issuer handed out and not yet redeemed. */
export class AuthorizationCodes {
  readonly #codes = new Map<string, { grant: AuthorizationGrant; expires: number }>();

  issue(grant: AuthorizationGrant): string {
    const now = Date.now();
    for (const [code, entry] of this.#codes) if (entry.expires <= now) this.#codes.delete(code);
    const code = randomBytes(32).toString('base64url');
    this.#codes.set(code, { grant, expires: now + CODE_LIFETIME_MS });
    return code;
  }

  /** The grant of a known, unexpired code; a code is redeemed once, whatever the outcome of the request. */
  redeem(code: string): AuthorizationGrant | undefined {
    const entry = this.#codes.get(code);
    this.#codes.delete(code);
    return entry !== undefined && entry.expires > Date.now() ? entry.grant : undefined;
  }
}

/** RFC 7636 §4.1: 43 to 128 unreserved characters (a verifier, and the S256 challenge's alphabet too). */
export const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.2: the S256 challenge of a verifier. */
export const s256 = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url');

/** RFC 8707 §2: an absolute URI without a fragment. */
export const validResource = (value: string): boolean => URL.canParse(value) && !value.includes('#');

export interface AuthorizationEndpointOptions {
  readonly issuer: string;
  readonly clients: ReadonlyMap<string, TestClient>;
  readonly codes: AuthorizationCodes;
}

// RFC 6749 §4.1.2.1: with no trustworthy redirect URI the error goes to the user agent, never to a redirect.
const refuse = (description: string): EndpointAnswer => json(400, { error: 'invalid_request', error_description: description }, { 'cache-control': 'no-store' });

function redirect(target: string, params: Record<string, string | undefined>): EndpointAnswer {
  const url = new URL(target);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.append(name, value);
  return { kind: 'reply', status: 302, headers: { location: url.href, 'cache-control': 'no-store' }, body: '' };
}

/**
 * A minimal authorization endpoint (RFC 6749 §4.1) for the authorization code grant with PKCE S256 (RFC 7636,
 * required, as OAuth 2.1 and MCP do): no login page, every request of a registered client is approved at once for
 * its resource owner (`login_hint`, else the issuer's `sub`). The code comes back with `state` and `iss` (RFC 9207).
 */
export function authorizationEndpoint(options: AuthorizationEndpointOptions): EndpointHandler {
  return (request) => {
    const query = new URLSearchParams(request.search);
    const names = [...query.keys()];
    const repeated = names.find((name, i) => name !== 'resource' && names.indexOf(name) !== i);
    const clientId = query.get('client_id');
    const client = clientId === null ? undefined : options.clients.get(clientId);
    if (client === undefined) return Promise.resolve(refuse('unknown client_id'));
    if (client.redirectUris === undefined || client.redirectUris.length === 0) return Promise.resolve(refuse('the client has no redirectUris'));
    if (repeated === 'client_id' || repeated === 'redirect_uri') return Promise.resolve(refuse(`parameter ${repeated} repeated`));
    const given = query.get('redirect_uri');
    // RFC 6749 §3.1.2.3: compared whole; may be left out only by a client with one registered URI.
    if (given === null ? client.redirectUris.length > 1 : !client.redirectUris.includes(given)) {
      return Promise.resolve(refuse('redirect_uri is not registered for this client'));
    }
    const redirectUri = given ?? client.redirectUris[0]!;
    const state = query.get('state') ?? undefined;
    const fail = (error: string, description: string): Promise<EndpointAnswer> =>
      Promise.resolve(redirect(redirectUri, { error, error_description: description, state, iss: options.issuer }));

    if (repeated !== undefined) return fail('invalid_request', `parameter ${repeated} repeated`);
    const responseType = query.get('response_type');
    if (responseType === null) return fail('invalid_request', 'the response_type parameter is required');
    if (responseType !== 'code') return fail('unsupported_response_type', 'only the code response type is supported');
    const challenge = query.get('code_challenge');
    if (challenge === null || !PKCE_VALUE.test(challenge)) return fail('invalid_request', 'a code_challenge (PKCE) is required');
    if (query.get('code_challenge_method') !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
    const requested = query.get('scope')?.split(' ').filter(Boolean);
    const allowed = client.scope?.split(' ').filter(Boolean);
    if (requested !== undefined && allowed !== undefined && requested.some((s) => !allowed.includes(s))) {
      return fail('invalid_scope', 'a requested scope is not allowed for this client');
    }
    const resources = query.getAll('resource');
    if (resources.some((r) => !validResource(r))) return fail('invalid_target', 'resource must be an absolute URI without a fragment');
    const code = options.codes.issue({
      clientId: client.clientId,
      redirectUri,
      redirectUriGiven: given !== null,
      codeChallenge: challenge,
      scope: requested,
      resources,
      subject: query.get('login_hint') ?? undefined,
    });
    return Promise.resolve(redirect(redirectUri, { code, state, iss: options.issuer }));
  };
}
