// Interop with a certified authorization server for opaque tokens: oidc-provider on loopback issues opaque
// client-credentials access tokens for a resource indicator (RFC 8707) and introspects them (RFC 7662, RFC 9701 signed
// answers) for the API, a confidential client of its own; revocation is RFC 7009. The app is configured with the
// issuer URL, its audience and `introspection` alone: the endpoint comes from the provider's discovery document.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';
import { authenticate, requireScopes, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { bearer, request } from '../support/http.js';
import { MemoryAdapter } from '../support/oidc-adapter.js';

const API = 'https://api.example.com/messages';
const CLIENT = { client_id: 'reporting-service', client_secret: 'a-long-enough-client-secret-for-the-introspection-spec' };
const API_CLIENT = { client_id: 'messages-api', client_secret: 'the-messages-api-secret-at-the-authorization-server' };
const KEYED_API_CLIENT = 'messages-api-keyed';

// The provider signs with one ES256 key; its clients default to RS256 for these.
const ES256_ONLY = { id_token_signed_response_alg: 'ES256', introspection_signed_response_alg: 'ES256' } as const;

type IntrospectionOption = NonNullable<AuthenticateOptions['introspection']>;

function createProvider(issuer: string, keys: JWK[], apiPublicKey: JWK): Provider {
  const provider = new Provider(issuer, {
    adapter: MemoryAdapter,
    clients: [
      { ...CLIENT, ...ES256_ONLY, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post' },
      // The API itself: a confidential client that only introspects (RFC 9701 answers when its Accept asks for them).
      { ...API_CLIENT, ...ES256_ONLY, grant_types: [], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic' },
      {
        client_id: KEYED_API_CLIENT, ...ES256_ONLY, grant_types: [], redirect_uris: [], response_types: [],
        token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [apiPublicKey] },
      },
    ],
    jwks: { keys },
    cookies: { keys: ['a-cookie-signing-key-for-the-introspection-spec'] },
    ttl: { ClientCredentials: 300, Grant: 3600, RefreshToken: 3600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // Only the API's own clients may introspect; the reporting service may not read others' tokens.
      introspection: { enabled: true, allowedPolicy: (_ctx, client) => client.clientId !== CLIENT.client_id },
      jwtIntrospection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => ({ scope: 'read:messages write:messages', audience: resource, accessTokenTTL: 300, accessTokenFormat: 'opaque' as const }),
      },
    },
  });
  return provider;
}

describe('e2e/oidc-provider introspection interop', function () {
  this.timeout(20_000);
  let server: http.Server;
  let issuer: string;
  let provider: Provider;
  let apiKey: CryptoKey;
  let handler: ReturnType<Provider['callback']>;
  // What reached the introspection endpoint: one entry per call, with the content type it answered.
  let introspections: Array<string | undefined>;

  function appFor(introspection: Partial<IntrospectionOption> = {}): Koa<AuthState> {
    const koa = new Koa<AuthState>();
    koa.silent = true;
    const router = new Router<AuthState>();
    router.get('/messages', requireScopes('read:messages'), (ctx) => {
      ctx.body = { sub: ctx.state.user!.sub, client: ctx.state.user!.client_id, source: ctx.state.auth!.source };
    });
    router.post('/messages', requireScopes('write:messages'), (ctx) => {
      ctx.status = 201;
    });
    koa.use(authenticate({ issuer, audience: API, introspection: { clientId: API_CLIENT.client_id, clientSecret: API_CLIENT.client_secret, ...introspection } }));
    koa.use(router.routes());
    return koa;
  }

  async function accessToken(scope: string): Promise<string> {
    const reply = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...CLIENT, scope, resource: API }),
    });
    const body = (await reply.json()) as { access_token?: string; error?: string };
    if (reply.status !== 200 || body.access_token === undefined) throw new Error(`token endpoint answered ${reply.status} ${body.error}`);
    return body.access_token;
  }

  before(async () => {
    introspections = [];
    server = http.createServer((req, res) => {
      if (req.url?.startsWith('/token/introspection')) res.on('finish', () => introspections.push(res.getHeader('content-type') as string | undefined));
      void handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { privateKey: signing } = await generateKeyPair('ES256', { extractable: true });
    const api = await generateKeyPair('ES256', { extractable: true });
    apiKey = api.privateKey;
    provider = createProvider(issuer, [{ ...(await exportJWK(signing)), kid: 'es-1', alg: 'ES256', use: 'sig' }], { ...(await exportJWK(api.publicKey)), alg: 'ES256' });
    handler = provider.callback();
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    introspections.length = 0;
  });

  it('accepts an opaque client-credentials token with the granted scope: one introspection call, then cached', async () => {
    const app = appFor();
    const token = await accessToken('read:messages');
    expect(token).to.match(/^[A-Za-z0-9_-]+$/);
    const first = await request(app, '/messages', { headers: bearer(token) });
    // A client-credentials token has no user: the provider's answer carries client_id and no sub.
    expect([first.status, first.json()]).to.deep.equal([200, { client: CLIENT.client_id, source: 'introspection' }]);
    expect((await request(app, '/messages', { headers: bearer(token) })).status).to.equal(200);
    expect(introspections).to.deep.equal(['application/json; charset=utf-8']);
  });

  it('answers 403 insufficient_scope when the introspected scope lacks the route scope', async () => {
    const reply = await request(appFor(), '/messages', { method: 'POST', headers: bearer(await accessToken('read:messages')) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([
      403, 'Bearer realm="api", error="insufficient_scope", error_description="requires scope write:messages", scope="write:messages"',
    ]);
  });

  it('refuses a token revoked at the provider (RFC 7009) once the cache ttl has passed, not before', async () => {
    const app = appFor({ cache: { ttl: 1 } });
    const token = await accessToken('read:messages');
    expect((await request(app, '/messages', { headers: bearer(token) })).status).to.equal(200);
    const revoked = await fetch(`${issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token', ...CLIENT }),
    });
    expect(revoked.status).to.equal(200);
    // Within the ttl the cached answer still stands: the README's "cache.ttl is how long a revoked token may still pass".
    expect((await request(app, '/messages', { headers: bearer(token) })).status).to.equal(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const after = await request(app, '/messages', { headers: bearer(token) });
    expect([after.status, after.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api", error="invalid_token", error_description="token is not active"']);
    expect(introspections).to.have.length(2);
  });

  it('refuses a refresh token, which the provider introspects as active (no token_type, no aud)', async () => {
    const client = (await provider.Client.find(CLIENT.client_id))!;
    const grant = new provider.Grant({ accountId: 'alice', clientId: CLIENT.client_id });
    grant.addOIDCScope('openid offline_access');
    grant.addResourceScope(API, 'read:messages');
    const grantId = await grant.save();
    const refresh = new provider.RefreshToken({ client, accountId: 'alice', grantId, scope: 'openid offline_access read:messages', gty: 'authorization_code' });
    const token = await refresh.save();
    // The provider's own view: active, so only the resource server's checks keep it out.
    const answer = await fetch(`${issuer}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${API_CLIENT.client_id}:${API_CLIENT.client_secret}`).toString('base64')}` },
      body: new URLSearchParams({ token }),
    });
    const body = await answer.json() as Record<string, unknown>;
    expect(body).to.include({ active: true, client_id: CLIENT.client_id, sub: 'alice' });
    expect(body).not.to.have.property('token_type');
    // Nothing in the answer names it a refresh token: what keeps it out is the audience its answer lacks (so
    // `requireAudience: false` must not be used with this provider).
    const reply = await request(appFor(), '/messages', { headers: bearer(token) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api", error="invalid_token", error_description="missing required claim"']);
  });

  it('verifies RFC 9701 signed answers with the provider\'s key set (jwtResponse: true)', async () => {
    const reply = await request(appFor({ jwtResponse: true }), '/messages', { headers: bearer(await accessToken('read:messages')) });
    expect([reply.status, (reply.json() as { source: string }).source]).to.deep.equal([200, 'introspection']);
    expect(introspections).to.deep.equal(['application/token-introspection+jwt; charset=utf-8']);
  });

  it('authenticates to the introspection endpoint with private_key_jwt', async () => {
    const app = appFor({ clientId: KEYED_API_CLIENT, clientSecret: undefined, clientAuth: 'private_key_jwt', privateKey: apiKey });
    const reply = await request(app, '/messages', { headers: bearer(await accessToken('read:messages')) });
    expect(reply.status).to.equal(200);
    expect(introspections).to.have.length(1);
  });

  it('answers 503 with Retry-After once the provider is stopped, while tokens in the cache keep passing', async () => {
    const app = appFor();
    const cached = await accessToken('read:messages');
    const uncached = await accessToken('read:messages');
    expect((await request(app, '/messages', { headers: bearer(cached) })).status).to.equal(200);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect((await request(app, '/messages', { headers: bearer(cached) })).status).to.equal(200);
    const down = await request(app, '/messages', { headers: bearer(uncached) });
    expect(down.status).to.equal(503);
    expect(down.headers['retry-after']).to.match(/^\d+$/);
    expect(down.headers['www-authenticate']).to.equal(undefined);
    // Started again on the same port for after(): closing twice would throw.
    await new Promise<void>((resolve) => server.listen(Number(new URL(issuer).port), '127.0.0.1', resolve));
  });
});
