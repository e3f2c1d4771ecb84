// The kit issuer as OAuth clients nobody here wrote see it: its RFC 8414 metadata accepted unchanged by openid-client
// v6 and the MCP SDK client, and its minimal authorization endpoint (code grant, PKCE S256, RFC 9207 iss) usable by both.
import { expect } from 'chai';
import Koa from 'koa';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { discoverAuthorizationServerMetadata, exchangeAuthorization, startAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import { OAuthMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { authenticate, type AuthState } from '../../lib/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { bearer, request } from '../support/http.js';

const audience = 'https://api.example.com';
const REDIRECT = 'http://127.0.0.1:1/callback';
const CONFIDENTIAL = { clientId: 'reports', clientSecret: 'reports-secret', scope: 'read:messages write:messages', redirectUris: [REDIRECT] };
const PUBLIC = { clientId: 'mcp-agent', redirectUris: [REDIRECT] };
const VERIFIER = 'a-code-verifier-of-at-least-forty-three-characters-0123456789';

async function accepted(issuer: TestIssuer, token: string): Promise<unknown> {
  const app = new Koa<AuthState>();
  app.silent = true;
  app.use(authenticate({ issuer: issuer.issuer, audience }));
  app.use((ctx) => {
    ctx.body = { sub: ctx.state.user?.sub, client: ctx.state.auth?.claims.client_id };
  });
  const reply = await request(app, '/', { headers: bearer(token) });
  return [reply.status, reply.json()];
}

/** Follows the authorization endpoint's answer as a browser would not: the redirect's parameters, or the error page. */
async function authorize(issuer: TestIssuer, params: Record<string, string>): Promise<{ status: number; params: Record<string, string>; location: string | null }> {
  const reply = await fetch(`${issuer.authorizationEndpoint!}?${new URLSearchParams(params)}`, { redirect: 'manual' });
  const location = reply.headers.get('location');
  const body = location === null ? await reply.json() as Record<string, string> : Object.fromEntries(new URL(location).searchParams);
  return { status: reply.status, params: body, location };
}

async function tokenRequest(issuer: TestIssuer, form: Record<string, string>, authorization?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...(authorization === undefined ? {} : { authorization }) };
  const reply = await fetch(issuer.tokenEndpoint!, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  return { status: reply.status, body: await reply.json() as Record<string, unknown> };
}

const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('testing/createTestIssuer: authorization endpoint and complete metadata', () => {
  let issuer: TestIssuer;
  afterEach(async () => issuer?.close());

  describe('metadata (RFC 8414)', () => {
    it('lists the endpoints, response types, grants, PKCE methods, client authentication and scopes it serves', async () => {
      issuer = await createTestIssuer({ audience, clients: [CONFIDENTIAL, PUBLIC] });
      const metadata = await (await fetch(`${issuer.issuer}.well-known/oauth-authorization-server`)).json() as Record<string, unknown>;
      expect(metadata).to.deep.equal({
        issuer: issuer.issuer,
        jwks_uri: issuer.jwksUri,
        authorization_endpoint: `${issuer.issuer}authorize`,
        token_endpoint: `${issuer.issuer}token`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'client_credentials'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
        authorization_response_iss_parameter_supported: true,
        scopes_supported: ['read:messages', 'write:messages'],
      });
      expect(issuer.authorizationEndpoint).to.equal(`${issuer.issuer}authorize`);
    });

    it('says honestly that it serves no grant without clients', async () => {
      issuer = await createTestIssuer({ audience });
      const metadata = await (await fetch(`${issuer.issuer}.well-known/openid-configuration`)).json() as Record<string, unknown>;
      expect(metadata).to.deep.equal({ issuer: issuer.issuer, jwks_uri: issuer.jwksUri, response_types_supported: [], grant_types_supported: [] });
      expect(issuer.authorizationEndpoint).to.equal(undefined);
      expect((await fetch(`${issuer.issuer}authorize`)).status).to.equal(404);
    });

    for (const path of ['/', '/realms/main']) {
      it(`is accepted unchanged by the MCP SDK client's discovery and OAuthMetadataSchema (issuer path ${path})`, async () => {
        issuer = await createTestIssuer({ audience, path, clients: [CONFIDENTIAL] });
        const metadata = await discoverAuthorizationServerMetadata(issuer.issuer);
        expect(metadata).to.include({ issuer: issuer.issuer, authorization_endpoint: issuer.authorizationEndpoint, token_endpoint: issuer.tokenEndpoint });
        const origin = new URL(issuer.issuer).origin;
        const document: unknown = await (await fetch(`${origin}/.well-known/oauth-authorization-server${path === '/' ? '' : path}`)).json();
        expect(OAuthMetadataSchema.parse(document)).to.deep.equal(document);
      });
    }

    it('is accepted by openid-client discovery() at both placements (OIDC and RFC 8414)', async () => {
      issuer = await createTestIssuer({ audience, clients: [CONFIDENTIAL] });
      for (const algorithm of ['oidc', 'oauth2'] as const) {
        const config = await oidc.discovery(new URL(issuer.issuer), CONFIDENTIAL.clientId, CONFIDENTIAL.clientSecret, undefined, { algorithm, execute: [oidc.allowInsecureRequests] });
        expect(config.serverMetadata()).to.include({ issuer: issuer.issuer, authorization_endpoint: issuer.authorizationEndpoint });
        expect(config.serverMetadata().supportsPKCE()).to.equal(true);
      }
    });
  });

  describe('with openid-client v6', () => {
    it('runs the authorization code grant with PKCE (confidential client) to a token authenticate() accepts', async () => {
      issuer = await createTestIssuer({ audience, clients: [CONFIDENTIAL] });
      const config = await oidc.discovery(new URL(issuer.issuer), CONFIDENTIAL.clientId, CONFIDENTIAL.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT, scope: 'read:messages', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, login_hint: 'alice',
      });
      const reply = await fetch(url, { redirect: 'manual' });
      expect(reply.status).to.equal(302);
      const tokens = await oidc.authorizationCodeGrant(config, new URL(reply.headers.get('location')!), { pkceCodeVerifier: verifier, expectedState: state });
      expect(tokens).to.include({ token_type: 'bearer', scope: 'read:messages', expires_in: 300 });
      expect(decodeJwt(tokens.access_token)).to.include({ iss: issuer.issuer, sub: 'alice', client_id: 'reports', aud: audience, scope: 'read:messages' });
      expect(await accepted(issuer, tokens.access_token)).to.deep.equal([200, { sub: 'alice', client: 'reports' }]);
      expect(issuer.requests, 'one discovery by the client, one by the app').to.deep.equal({ discovery: 2, jwks: 1, authorization: 1, token: 1 });
    });

    it('gets a client-credentials token', async () => {
      issuer = await createTestIssuer({ audience, clients: [CONFIDENTIAL] });
      const config = await oidc.discovery(new URL(issuer.issuer), CONFIDENTIAL.clientId, CONFIDENTIAL.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'write:messages' });
      expect(await accepted(issuer, tokens.access_token)).to.deep.equal([200, { sub: 'reports', client: 'reports' }]);
    });
  });

  describe('with the MCP SDK client', () => {
    for (const [kind, client, clientInformation] of [
      ['public', PUBLIC, { client_id: PUBLIC.clientId }],
      ['confidential', CONFIDENTIAL, { client_id: CONFIDENTIAL.clientId, client_secret: CONFIDENTIAL.clientSecret }],
    ] as const) {
      it(`runs the authorization code grant with PKCE and an RFC 8707 resource (${kind} client)`, async () => {
        issuer = await createTestIssuer({ clients: [client] });
        // Without metadata the SDK would guess <issuer>/authorize and /token: insist it found and accepted the document.
        const metadata = (await discoverAuthorizationServerMetadata(issuer.issuer))!;
        expect(metadata.authorization_endpoint).to.equal(issuer.authorizationEndpoint);
        const resource = new URL('https://mcp.example.com/mcp');
        const { authorizationUrl, codeVerifier } = await startAuthorization(issuer.issuer, {
          metadata, clientInformation, redirectUrl: REDIRECT, scope: 'read:messages', state: 'xyz', resource,
        });
        const { status, params } = await authorize(issuer, Object.fromEntries(authorizationUrl.searchParams));
        expect(status).to.equal(302);
        expect(params).to.include({ state: 'xyz', iss: issuer.issuer });
        const tokens = await exchangeAuthorization(issuer.issuer, { metadata, clientInformation, authorizationCode: params.code!, codeVerifier, redirectUri: REDIRECT, resource });
        expect(decodeJwt(tokens.access_token)).to.include({ sub: 'test-user', client_id: client.clientId, aud: resource.href, scope: 'read:messages' });
      });
    }
  });

  describe('refusals', () => {
    const pkce = { response_type: 'code', client_id: CONFIDENTIAL.clientId, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
    // The RFC 7636 appendix B pair.
    const appendixB = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    beforeEach(async () => {
      issuer = await createTestIssuer({ audience, clients: [CONFIDENTIAL, PUBLIC, { clientId: 'machine', clientSecret: 'machine-secret' }] });
    });

    it('answers an unknown client, a client without redirect URIs or an unregistered redirect_uri itself, never redirecting (RFC 6749 §4.1.2.1)', async () => {
      for (const [params, description] of [
        [{ ...pkce, client_id: 'nobody' }, 'unknown client_id'],
        [{ ...pkce, client_id: 'machine' }, 'the client has no redirectUris'],
        [{ ...pkce, redirect_uri: 'https://evil.example/cb' }, 'redirect_uri is not registered for this client'],
      ] as const) {
        const reply = await authorize(issuer, params);
        expect([reply.status, reply.location, reply.params]).to.deep.equal([400, null, { error: 'invalid_request', error_description: description }]);
      }
    });

    it('redirects other errors with state and iss: response type, missing or plain PKCE, scope, resource', async () => {
      for (const [params, error] of [
        [{ ...pkce, response_type: 'token' }, 'unsupported_response_type'],
        [{ ...pkce, code_challenge: '' }, 'invalid_request'],
        [{ ...pkce, code_challenge_method: 'plain' }, 'invalid_request'],
        [{ ...pkce, scope: 'admin' }, 'invalid_scope'],
        [{ ...pkce, resource: 'https://api.example.com/#frag' }, 'invalid_target'],
      ] as const) {
        const reply = await authorize(issuer, { ...params, state: 's1' });
        expect([reply.status, reply.location?.startsWith(`${REDIRECT}?`), reply.params.error, reply.params.state, reply.params.iss], error)
          .to.deep.equal([302, true, error, 's1', issuer.issuer]);
      }
    });

    it('redeems a code once, for its client, with its redirect_uri and the verifier of its challenge', async () => {
      const code = async (extra: Record<string, string> = {}): Promise<string> => (await authorize(issuer, { ...pkce, ...extra })).params.code!;
      const auth = basic(CONFIDENTIAL.clientId, CONFIDENTIAL.clientSecret);
      const redeem = (form: Record<string, string>, authorization = auth): Promise<{ status: number; body: Record<string, unknown> }> =>
        tokenRequest(issuer, { grant_type: 'authorization_code', ...form }, authorization);
      const wrongVerifier = await redeem({ code: await code(), code_verifier: VERIFIER });
      expect([wrongVerifier.status, wrongVerifier.body.error]).to.deep.equal([400, 'invalid_grant']);
      const first = await code({ redirect_uri: REDIRECT });
      const noRedirect = await redeem({ code: first, code_verifier: appendixB });
      expect([noRedirect.status, noRedirect.body.error], 'redirect_uri was in the request, so it must be repeated').to.deep.equal([400, 'invalid_grant']);
      const good = await code();
      expect((await redeem({ code: good, code_verifier: appendixB })).status).to.equal(200);
      const again = await redeem({ code: good, code_verifier: appendixB });
      expect([again.status, again.body.error]).to.deep.equal([400, 'invalid_grant']);
      const otherClient = await redeem({ code: await code(), code_verifier: appendixB, client_id: PUBLIC.clientId }, '');
      expect([otherClient.status, otherClient.body.error]).to.deep.equal([400, 'invalid_grant']);
    });

    it('lets a public client use only the code grant, identified by client_id alone', async () => {
      const reply = await tokenRequest(issuer, { grant_type: 'client_credentials', client_id: PUBLIC.clientId });
      expect([reply.status, reply.body.error]).to.deep.equal([400, 'unauthorized_client']);
      const unknown = await tokenRequest(issuer, { grant_type: 'client_credentials', client_id: 'machine' });
      expect([unknown.status, unknown.body.error], 'a confidential client must authenticate').to.deep.equal([401, 'invalid_client']);
    });

    it('refuses a public client without redirectUris and redirect URIs with a fragment at creation', async () => {
      for (const [client, message] of [
        [{ clientId: 'p' }, 'client p of `clients` needs a clientSecret (client_secret_basic/_post) or jwks (private_key_jwt), or redirectUris for a public client.'],
        [{ clientId: 'p', redirectUris: ['https://app.example/cb#x'] }, 'client p: `redirectUris` must be absolute URLs without a fragment.'],
      ] as const) {
        let error: unknown;
        try {
          await createTestIssuer({ clients: [client] });
        } catch (e) {
          error = e;
        }
        expect((error as Error).message).to.equal(`koa-token-guard/testing: ${message}`);
      }
    });
  });

  it('serves the authorization endpoint through nock too', async () => {
    issuer = await createTestIssuer({ mode: 'nock', audience, clients: [PUBLIC] });
    const verifier = oidc.randomPKCECodeVerifier();
    const { params } = await authorize(issuer, {
      response_type: 'code', client_id: PUBLIC.clientId, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const reply = await tokenRequest(issuer, { grant_type: 'authorization_code', client_id: PUBLIC.clientId, code: params.code!, code_verifier: verifier });
    expect(await accepted(issuer, reply.body.access_token as string)).to.deep.equal([200, { sub: 'test-user', client: PUBLIC.clientId }]);
  });
});
