// Interop with a DPoP client nobody here wrote: openid-client v6 (which implements RFC 9449 for clients,
// nonce retries included) gets a DPoP-bound access token from oidc-provider on loopback with client
// credentials, and calls the API through its protected-resource request helper.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import Provider from 'oidc-provider';
import { authenticate, requireScopes, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { dpop as dpopHeaders, serve, type Served } from '../dpop/support.js';
import { MemoryAdapter } from '../support/oidc-adapter.js';

const API = 'https://api.example.com/dpop';
/** A resource for which the provider issues opaque tokens, so the API learns the binding by introspection. */
const OPAQUE_API = 'https://api.example.com/dpop-opaque';
const CLIENT = { client_id: 'dpop-service', client_secret: 'a-long-enough-client-secret-for-the-dpop-spec' };
/** The API itself, a confidential client of the provider that only introspects. */
const API_CLIENT = { client_id: 'messages-api', client_secret: 'the-messages-api-secret-at-the-authorization-server' };
const ALGS = 'RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519';

describe('e2e/openid-client DPoP interop (RFC 9449)', function () {
  this.timeout(20_000);
  let providerServer: http.Server;
  let issuer: string;
  let config: client.Configuration;
  let dpopHandle: client.DPoPHandle;
  let token: string;
  let opaqueToken: string;
  /** Calls the provider's introspection endpoint answered. */
  let introspections = 0;
  /** Every request the client sent to the API: method, URL, headers. */
  const sent: Array<{ url: string; method: string; headers: Headers }> = [];
  const served: Served[] = [];

  async function api(dpop: AuthenticateOptions['dpop'], extra: Partial<AuthenticateOptions> = {}): Promise<Served> {
    const app = new Koa<AuthState>();
    app.silent = true;
    const router = new Router<AuthState>();
    router.get('/messages', requireScopes('read:messages'), (ctx) => {
      ctx.body = { sub: ctx.state.user!.sub, jkt: ctx.state.auth!.dpop?.jkt };
    });
    router.post('/messages', requireScopes('read:messages'), (ctx) => {
      ctx.status = 201;
    });
    app.use(authenticate({ issuer, audience: API, dpop, ...extra }));
    app.use(router.routes());
    const s = await serve(app);
    served.push(s);
    return s;
  }

  /** The client's own call, through openid-client's protected-resource helper with its DPoP handle. */
  const call = (url: string, method = 'GET', accessToken = token): Promise<Response> =>
    client.fetchProtectedResource(config, accessToken, new URL(url), method, undefined, undefined, { DPoP: dpopHandle });
  /** The status of a call that the client reports as an error (openid-client throws on a 401 challenge). */
  const statusOf = async (promise: Promise<Response>): Promise<number> => {
    try {
      return (await promise).status;
    } catch (error) {
      const response = (error as { response?: Response; cause?: Response }).response ?? (error as { cause?: Response }).cause;
      if (response instanceof Response) return response.status;
      throw error;
    }
  };

  before(async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const signing = { ...(await exportJWK(privateKey)), kid: 'es-1', alg: 'ES256', use: 'sig' };
    const handlers: Array<ReturnType<Provider['callback']>> = [];
    providerServer = http.createServer((req, res) => {
      if (req.url?.startsWith('/token/introspection')) introspections++;
      void handlers[0]!(req, res);
    });
    await new Promise<void>((resolve) => providerServer.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(providerServer.address() as AddressInfo).port}`;
    handlers[0] = new Provider(issuer, {
      adapter: MemoryAdapter,
      clients: [
        { ...CLIENT, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post', id_token_signed_response_alg: 'ES256' },
        { ...API_CLIENT, grant_types: [], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'ES256' },
      ],
      jwks: { keys: [signing] },
      cookies: { keys: ['a-cookie-signing-key-for-the-dpop-spec'] },
      ttl: { ClientCredentials: 300 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        dPoP: { enabled: true },
        // Only the API may introspect: the service may not read others' tokens.
        introspection: { enabled: true, allowedPolicy: (_ctx, c) => c.clientId === API_CLIENT.client_id },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => API,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, resource) => resource === OPAQUE_API
            ? { scope: 'read:messages', audience: OPAQUE_API, accessTokenTTL: 300, accessTokenFormat: 'opaque' as const }
            : { scope: 'read:messages', audience: API, accessTokenTTL: 300, accessTokenFormat: 'jwt' as const, jwt: { sign: { alg: 'ES256' } } },
        },
      },
    }).callback();
    config = await client.discovery(new URL(issuer), CLIENT.client_id, undefined, client.ClientSecretPost(CLIENT.client_secret), { execute: [client.allowInsecureRequests] });
    config[client.customFetch] = (url, options) => {
      if (!url.startsWith(issuer)) sent.push({ url, method: options.method ?? 'GET', headers: new Headers(options.headers) });
      return fetch(url, options as RequestInit);
    };
    dpopHandle = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const tokens = await client.clientCredentialsGrant(config, { scope: 'read:messages', resource: API }, { DPoP: dpopHandle });
    expect(tokens.token_type.toLowerCase()).to.equal('dpop');
    token = tokens.access_token;
    const opaque = await client.clientCredentialsGrant(config, { scope: 'read:messages', resource: OPAQUE_API }, { DPoP: dpopHandle });
    expect(opaque.token_type.toLowerCase()).to.equal('dpop');
    opaqueToken = opaque.access_token;
  });
  after(async () => {
    providerServer.closeAllConnections();
    await new Promise<void>((resolve) => providerServer.close(() => resolve()));
  });
  beforeEach(() => {
    sent.length = 0;
    introspections = 0;
  });
  afterEach(async () => {
    await Promise.all(served.splice(0).map((s) => s.close()));
  });

  it('the provider binds the token to the client key (cnf.jkt), and the API accepts the client’s call: 200', async () => {
    const jkt = (decodeJwt(token).cnf as { jkt?: string } | undefined)?.jkt;
    expect(jkt).to.be.a('string');
    const s = await api({});
    const reply = await call(`${s.origin}/messages`);
    expect(reply.status).to.equal(200);
    expect(await reply.json()).to.deep.equal({ sub: CLIENT.client_id, jkt });
    expect(sent).to.have.length(1);
    expect(sent[0]!.headers.get('authorization')).to.equal(`DPoP ${token}`);
  });

  it('with server nonces on, the client’s automatic retry passes: 401 use_dpop_nonce, then 200', async () => {
    const s = await api({ nonce: { secret: 'a-nonce-secret-of-at-least-thirty-two-bytes' } });
    const reply = await call(`${s.origin}/messages`);
    expect(reply.status).to.equal(200);
    expect(sent).to.have.length(2);
    expect(sent[0]!.headers.get('dpop')).to.not.equal(sent[1]!.headers.get('dpop'));
    // The nonce is learnt: the next call carries it from the start.
    expect((await call(`${s.origin}/messages`)).status).to.equal(200);
    expect(sent).to.have.length(3);
  });

  it('refuses the client’s proof replayed, sent to another URL or with another method: 401 invalid_dpop_proof', async () => {
    const s = await api({});
    expect((await call(`${s.origin}/messages`)).status).to.equal(200);
    const proof = sent[0]!.headers.get('dpop')!;
    const cases = [
      ['/messages', 'GET', 'DPoP proof already used'],
      ['/other', 'GET', 'DPoP proof htu mismatch'],
      ['/messages', 'POST', 'DPoP proof htm mismatch'],
    ] as const;
    for (const [path, method, description] of cases) {
      const reply = await s.send(path, { method, headers: dpopHeaders(token, proof) });
      expect([reply.status, reply.headers['www-authenticate']], `${method} ${path}`).to.deep.equal([401, `DPoP error="invalid_dpop_proof", error_description="${description}", algs="${ALGS}"`]);
    }
  });

  it('refuses the token without its proof: as Bearer (invalid_token) or as DPoP with no DPoP header (invalid_dpop_proof)', async () => {
    const s = await api({});
    const bearer = await s.send('/messages', { headers: { authorization: `Bearer ${token}` } });
    expect([bearer.status, bearer.headers['www-authenticate']]).to.deep.equal([
      401, `Bearer realm="api", error="invalid_token", error_description="token bound to a DPoP key needs a DPoP proof", DPoP algs="${ALGS}"`,
    ]);
    const bare = await s.send('/messages', { headers: { authorization: `DPoP ${token}` } });
    expect([bare.status, bare.headers['www-authenticate']]).to.deep.equal([401, `DPoP error="invalid_dpop_proof", error_description="DPoP proof missing", algs="${ALGS}"`]);
  });

  it('refuses a call by the same client library with another key: 401', async () => {
    const s = await api({});
    const thief = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const status = await statusOf(client.fetchProtectedResource(config, token, new URL(`${s.origin}/messages`), 'GET', undefined, undefined, { DPoP: thief }));
    expect(status).to.equal(401);
  });

  describe('an opaque DPoP-bound token (via introspection, cnf.jkt in the answer) works the same', () => {
    const introspection = { clientId: API_CLIENT.client_id, clientSecret: API_CLIENT.client_secret };

    it('the provider’s introspection answer carries cnf.jkt and token_type DPoP', async () => {
      expect(opaqueToken).not.to.include('.');
      const answer = await fetch(`${issuer}/token/introspection`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${API_CLIENT.client_id}:${API_CLIENT.client_secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token: opaqueToken, token_type_hint: 'access_token' }),
      });
      const body = await answer.json() as Record<string, unknown>;
      expect(body).to.include({ active: true, aud: OPAQUE_API, token_type: 'DPoP' });
      expect(body.cnf).to.deep.equal({ jkt: (decodeJwt(token).cnf as { jkt: string }).jkt });
    });

    it('the client’s call through its protected-resource helper: 200, one introspection call', async () => {
      const s = await api({}, { audience: OPAQUE_API, introspection });
      const reply = await call(`${s.origin}/messages`, 'GET', opaqueToken);
      expect(reply.status).to.equal(200);
      // oidc-provider's answer for a client-credentials token has no `sub` (its JWTs carry the client's).
      expect(await reply.json()).to.deep.equal({ jkt: (decodeJwt(token).cnf as { jkt: string }).jkt });
      expect(sent[0]!.headers.get('authorization')).to.equal(`DPoP ${opaqueToken}`);
      expect(introspections).to.equal(1);
    });

    it('refuses the client’s proof replayed, and the token without its proof: 401 with the DPoP challenge', async () => {
      const s = await api({}, { audience: OPAQUE_API, introspection });
      expect((await call(`${s.origin}/messages`, 'GET', opaqueToken)).status).to.equal(200);
      const replay = await s.send('/messages', { headers: dpopHeaders(opaqueToken, sent[0]!.headers.get('dpop')!) });
      expect([replay.status, replay.headers['www-authenticate']]).to.deep.equal([401, `DPoP error="invalid_dpop_proof", error_description="DPoP proof already used", algs="${ALGS}"`]);
      const bearer = await s.send('/messages', { headers: { authorization: `Bearer ${opaqueToken}` } });
      expect([bearer.status, bearer.headers['www-authenticate']]).to.deep.equal([
        401, `Bearer realm="api", error="invalid_token", error_description="token bound to a DPoP key needs a DPoP proof", DPoP algs="${ALGS}"`,
      ]);
      // The answer was cached after the first call; the proofs were checked anew each time.
      expect(introspections).to.equal(1);
    });
  });
});
