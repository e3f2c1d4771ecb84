// Interop with a certified OpenID provider: oidc-provider on loopback issues RFC 9068 JWT access tokens
// (client credentials grant + resource indicators); the app knows only the issuer URL and its audience.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { install } from '@sinonjs/fake-timers';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';
import { authenticate, requireScopes, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { bearer, request } from '../support/http.js';
import { MemoryAdapter } from '../support/oidc-adapter.js';

const ES_API = 'https://api.example.com/es';
const RS_API = 'https://api.example.com/rs';
const OPAQUE_API = 'urn:example:opaque';
const CLIENT = { client_id: 'reporting-service', client_secret: 'a-long-enough-client-secret-for-the-spec' };

async function privateJwk(alg: 'ES256' | 'RS256', kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
}

function createProvider(issuer: string, keys: JWK[]): Provider {
  return new Provider(issuer, {
    adapter: MemoryAdapter,
    clients: [{ ...CLIENT, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post' }],
    jwks: { keys },
    cookies: { keys: ['a-cookie-signing-key-for-the-spec'] },
    ttl: { ClientCredentials: 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => ES_API,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => ({
          scope: 'read:messages write:messages',
          audience: resource,
          accessTokenTTL: 300,
          ...(resource === OPAQUE_API
            ? { accessTokenFormat: 'opaque' as const }
            : { accessTokenFormat: 'jwt' as const, jwt: { sign: { alg: resource === RS_API ? 'RS256' : 'ES256' } } }),
        }),
      },
    },
  });
}

describe('e2e/oidc-provider interop', function () {
  this.timeout(20_000);
  let server: http.Server;
  let issuer: string;
  let handler: ReturnType<Provider['callback']>;
  let keys: JWK[];
  let app: Koa<AuthState>;

  function appFor(options: Omit<AuthenticateOptions, 'issuer'>): Koa<AuthState> {
    const koa = new Koa<AuthState>();
    koa.silent = true;
    const router = new Router<AuthState>();
    router.get('/messages', requireScopes('read:messages'), (ctx) => {
      ctx.body = { sub: ctx.state.user!.sub, client: ctx.state.user!.client_id };
    });
    router.post('/messages', requireScopes('write:messages'), (ctx) => {
      ctx.status = 201;
    });
    koa.use(authenticate({ issuer, ...options }));
    koa.use(router.routes());
    return koa;
  }

  async function accessToken(resource: string, scope: string): Promise<string> {
    const reply = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...CLIENT, scope, resource }),
    });
    const body = (await reply.json()) as { access_token?: string; error?: string };
    if (reply.status !== 200 || body.access_token === undefined) throw new Error(`token endpoint answered ${reply.status} ${body.error}`);
    return body.access_token;
  }

  before(async () => {
    server = http.createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    keys = [await privateJwk('ES256', 'es-1'), await privateJwk('RS256', 'rs-1')];
    handler = createProvider(issuer, keys).callback();
    app = appFor({ audience: [ES_API, RS_API] });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  for (const [alg, resource] of [['ES256', ES_API], ['RS256', RS_API]] as const) {
    it(`accepts a ${alg} at+jwt access token with a granted scope, by discovery alone`, async () => {
      const token = await accessToken(resource, 'read:messages');
      expect(decodeProtectedHeader(token)).to.include({ alg, typ: 'at+jwt' });
      expect(decodeJwt(token)).to.include({ iss: issuer, aud: resource, client_id: CLIENT.client_id });
      const reply = await request(app, '/messages', { headers: bearer(token) });
      expect([reply.status, reply.json()]).to.deep.equal([200, { sub: CLIENT.client_id, client: CLIENT.client_id }]);
    });
  }

  it("accepts its tokens under typ: 'strict' (every RFC 9068 claim present)", async () => {
    const strict = appFor({ audience: ES_API, typ: 'strict' });
    const reply = await request(strict, '/messages', { headers: bearer(await accessToken(ES_API, 'read:messages write:messages')) });
    expect(reply.status).to.equal(200);
  });

  it('answers 403 insufficient_scope when the token lacks the route scope', async () => {
    const token = await accessToken(ES_API, 'read:messages');
    const reply = await request(app, '/messages', { method: 'POST', headers: bearer(token) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([
      403, 'Bearer realm="api", error="insufficient_scope", error_description="requires scope write:messages", scope="write:messages"',
    ]);
    const both = await accessToken(ES_API, 'read:messages write:messages');
    expect((await request(app, '/messages', { method: 'POST', headers: bearer(both) })).status).to.equal(201);
  });

  it('answers 401 invalid_token for an opaque access token of the same provider', async () => {
    const opaque = await accessToken(OPAQUE_API, 'read:messages');
    expect(opaque.split('.')).to.have.length(1);
    const reply = await request(app, '/messages', { headers: bearer(opaque) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api", error="invalid_token", error_description="malformed token"']);
  });

  it('picks up a rotated signing key once the unknown-kid cooldown has passed', async () => {
    const rotating = appFor({ audience: ES_API });
    expect((await request(rotating, '/messages', { headers: bearer(await accessToken(ES_API, 'read:messages')) })).status).to.equal(200);
    // The provider restarts with a new ES256 key first (its signing key) and the old keys still published.
    handler = createProvider(issuer, [await privateJwk('ES256', 'es-2'), ...keys]).callback();
    const clock = install({ now: Date.now(), toFake: ['Date'] });
    try {
      clock.tick(31_000);
      const rotated = await accessToken(ES_API, 'read:messages');
      expect(decodeProtectedHeader(rotated).kid).to.equal('es-2');
      expect((await request(rotating, '/messages', { headers: bearer(rotated) })).status).to.equal(200);
    } finally {
      clock.uninstall();
    }
  });
});
