// The kit's token endpoint: the client-credentials grant (RFC 6749 §4.4) with scope and RFC 8707 resource.
import { expect } from 'chai';
import Koa from 'koa';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { authenticate, type AuthState } from '../../lib/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { bearer, request } from '../support/http.js';

const audience = 'https://api.example.com';
const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function tokenRequest(issuer: TestIssuer, form: Record<string, string | string[]>, authorization?: string): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) for (const v of [value].flat()) body.append(name, v);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (authorization !== undefined) headers.authorization = authorization;
  const reply = await fetch(issuer.tokenEndpoint!, { method: 'POST', headers, body: body.toString() });
  return { status: reply.status, headers: reply.headers, body: await reply.json() as Record<string, unknown> };
}

describe('testing/createTestIssuer: token endpoint', () => {
  let issuer: TestIssuer;
  afterEach(async () => issuer?.close());

  beforeEach(async () => {
    issuer = await createTestIssuer({
      audience,
      introspection: true,
      clients: [
        { clientId: 'reports', clientSecret: 'reports-secret', scope: 'read:messages write:messages' },
        { clientId: 'legacy', clientSecret: 'legacy-secret', format: 'opaque', scope: 'read:messages' },
      ],
    });
  });

  it('names token_endpoint in its metadata and counts its requests', async () => {
    const metadata = await (await fetch(`${issuer.issuer}.well-known/openid-configuration`)).json() as Record<string, unknown>;
    expect(metadata).to.include({ token_endpoint: `${issuer.issuer}token` });
    expect(metadata.grant_types_supported).to.deep.equal(['authorization_code', 'client_credentials']);
    expect(metadata.token_endpoint_auth_methods_supported).to.deep.equal(['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
    expect(issuer.tokenEndpoint).to.equal(`${issuer.issuer}token`);
    await tokenRequest(issuer, { grant_type: 'client_credentials' }, basic('reports', 'reports-secret'));
    expect(issuer.requests).to.deep.equal({ discovery: 1, jwks: 0, authorization: 0, introspection: 0, token: 1 });
  });

  it('issues a JWT for a jwt client (client_secret_basic) that authenticate() accepts', async () => {
    const reply = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'read:messages' }, basic('reports', 'reports-secret'));
    expect(reply.status).to.equal(200);
    expect([reply.headers.get('cache-control'), reply.headers.get('pragma')]).to.deep.equal(['no-store', 'no-cache']);
    const { access_token: token, ...rest } = reply.body;
    expect(rest).to.deep.equal({ token_type: 'Bearer', expires_in: 300, scope: 'read:messages' });
    expect(decodeJwt(token as string)).to.include({ iss: issuer.issuer, aud: audience, sub: 'reports', client_id: 'reports', scope: 'read:messages' });
    const app = new Koa<AuthState>();
    app.use(authenticate({ issuer: issuer.issuer, audience }));
    app.use((ctx) => {
      ctx.body = { sub: ctx.state.user?.sub };
    });
    const call = await request(app, '/', { headers: bearer(token as string) });
    expect([call.status, call.json()]).to.deep.equal([200, { sub: 'reports' }]);
  });

  it('grants the client its whole scope when the request names none', async () => {
    const reply = await tokenRequest(issuer, { grant_type: 'client_credentials', client_id: 'reports', client_secret: 'reports-secret' });
    expect(reply.body.scope).to.equal('read:messages write:messages');
  });

  it('issues an opaque token for an opaque client (client_secret_post), which introspects as active', async () => {
    const reply = await tokenRequest(issuer, { grant_type: 'client_credentials', client_id: 'legacy', client_secret: 'legacy-secret' });
    const token = reply.body.access_token as string;
    expect(token).to.match(/^[A-Za-z0-9_-]{43}$/);
    const { clientId, clientSecret, endpoint } = issuer.introspection!;
    const answer = await (await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: basic(clientId, clientSecret!), 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}`,
    })).json() as Record<string, unknown>;
    expect(answer).to.include({ active: true, iss: issuer.issuer, aud: audience, sub: 'legacy', client_id: 'legacy', scope: 'read:messages', token_type: 'Bearer' });
  });

  it('makes RFC 8707 resources the aud, one or several', async () => {
    const auth = basic('reports', 'reports-secret');
    const one = await tokenRequest(issuer, { grant_type: 'client_credentials', resource: 'https://other.example.com' }, auth);
    expect(decodeJwt(one.body.access_token as string).aud).to.equal('https://other.example.com');
    const two = await tokenRequest(issuer, { grant_type: 'client_credentials', resource: ['urn:a', 'urn:b'] }, auth);
    expect(decodeJwt(two.body.access_token as string).aud).to.deep.equal(['urn:a', 'urn:b']);
    const bad = await tokenRequest(issuer, { grant_type: 'client_credentials', resource: 'https://x.example.com/#frag' }, auth);
    expect([bad.status, bad.body.error]).to.deep.equal([400, 'invalid_target']);
  });

  it('refuses as RFC 6749 §5.2 says: unknown grant, scope beyond the client, bad or missing credentials', async () => {
    const auth = basic('reports', 'reports-secret');
    const cases: Array<[Promise<{ status: number; body: Record<string, unknown> }>, number, string]> = [
      [tokenRequest(issuer, { grant_type: 'password' }, auth), 400, 'unsupported_grant_type'],
      [tokenRequest(issuer, {}, auth), 400, 'invalid_request'],
      [tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'admin' }, auth), 400, 'invalid_scope'],
      [tokenRequest(issuer, { grant_type: 'client_credentials' }, basic('reports', 'wrong')), 401, 'invalid_client'],
      [tokenRequest(issuer, { grant_type: 'client_credentials' }, basic('nobody', 'reports-secret')), 401, 'invalid_client'],
      [tokenRequest(issuer, { grant_type: 'client_credentials' }), 401, 'invalid_client'],
    ];
    for (const [reply, status, error] of cases) {
      const { status: s, body } = await reply;
      expect([s, body.error], error).to.deep.equal([status, error]);
      expect(body).not.to.have.property('access_token');
    }
  });

  it('fails with the endpoint named in an outage', async () => {
    issuer.outage({ endpoint: 'token', status: 503, retryAfter: 3 });
    const reply = await tokenRequest(issuer, { grant_type: 'client_credentials' }, basic('reports', 'reports-secret'));
    expect([reply.status, reply.headers.get('retry-after')]).to.deep.equal([503, '3']);
  });

  it('authenticates a private_key_jwt client with the token endpoint as aud', async () => {
    const pair = await generateKeyPair('ES256');
    const keyed = await createTestIssuer({ audience, clients: [{ clientId: 'svc', jwks: [await exportJWK(pair.publicKey)], format: 'opaque' }] });
    try {
      const now = Math.floor(Date.now() / 1000);
      const assertion = await new SignJWT({ iss: 'svc', sub: 'svc', aud: keyed.tokenEndpoint!, jti: 'once', iat: now, exp: now + 60 })
        .setProtectedHeader({ alg: 'ES256' }).sign(pair.privateKey);
      const reply = await tokenRequest(keyed, {
        grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
      });
      expect([reply.status, reply.body.token_type]).to.deep.equal([200, 'Bearer']);
      expect(reply.body).not.to.have.property('scope');
      expect(keyed.requests).to.deep.equal({ discovery: 0, jwks: 0, authorization: 0, token: 1 });
    } finally {
      await keyed.close();
    }
  });

  it('serves the token endpoint through nock too', async () => {
    const mocked = await createTestIssuer({ mode: 'nock', audience, clients: [{ clientId: 'c', clientSecret: 's' }] });
    try {
      const reply = await tokenRequest(mocked, { grant_type: 'client_credentials' }, basic('c', 's'));
      expect(decodeJwt(reply.body.access_token as string)).to.include({ iss: mocked.issuer, sub: 'c' });
    } finally {
      await mocked.close();
    }
  });

  it('refuses a client listed twice or with an unknown format', async () => {
    for (const [clients, message] of [
      [[{ clientId: 'a', clientSecret: 's' }, { clientId: 'a', clientSecret: 't' }], 'koa-token-guard/testing: client a is listed twice in `clients`.'],
      [[{ clientId: 'a', clientSecret: 's', format: 'paseto' }], "koa-token-guard/testing: client a: `format` must be 'jwt' or 'opaque'."],
    ] as const) {
      let error: unknown;
      try {
        await createTestIssuer({ clients: clients as never });
      } catch (e) {
        error = e;
      }
      expect((error as Error).message).to.equal(message);
    }
  });
});
