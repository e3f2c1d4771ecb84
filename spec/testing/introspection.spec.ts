// The kit's RFC 7662 introspection endpoint (with RFC 9701 signed answers), as a resource server calls it.
import { expect } from 'chai';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';

const audience = 'https://api.example.com';

interface Answer { status: number; headers: Headers; body: Record<string, unknown>; text: string }

/** One introspection call with client_secret_basic (default) or client_secret_post, as RFC 7662 §2.1 shows it. */
async function introspect(
  issuer: TestIssuer,
  token: string,
  { auth = 'basic', secret = issuer.introspection!.clientSecret!, accept, extra = {} }:
  { auth?: 'basic' | 'post' | 'none'; secret?: string; accept?: string; extra?: Record<string, string> } = {},
): Promise<Answer> {
  const { clientId, endpoint } = issuer.introspection!;
  const form = new URLSearchParams({ token, token_type_hint: 'access_token', ...extra });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth === 'basic') headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  if (auth === 'post') {
    form.set('client_id', clientId);
    form.set('client_secret', secret);
  }
  if (accept !== undefined) headers.accept = accept;
  const reply = await fetch(endpoint, { method: 'POST', headers, body: form.toString() });
  const text = await reply.text();
  const body = (reply.headers.get('content-type') ?? '').startsWith('application/json') ? JSON.parse(text) as Record<string, unknown> : {};
  return { status: reply.status, headers: reply.headers, body, text };
}

describe('testing/createTestIssuer: introspection', () => {
  let issuer: TestIssuer;
  afterEach(async () => issuer?.close());

  describe('with introspection: true', () => {
    beforeEach(async () => {
      issuer = await createTestIssuer({ audience, introspection: true });
    });

    it('names the endpoint in its metadata and generates client credentials', async () => {
      const metadata = await (await fetch(`${issuer.issuer}.well-known/openid-configuration`)).json() as Record<string, unknown>;
      expect(metadata).to.deep.equal({
        issuer: issuer.issuer,
        jwks_uri: issuer.jwksUri,
        introspection_endpoint: `${issuer.issuer}introspect`,
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
        introspection_signing_alg_values_supported: ['ES256'],
        // RFC 8414 §2: without clients the kit serves no grant, and says so.
        response_types_supported: [],
        grant_types_supported: [],
      });
      expect(issuer.introspection!.endpoint).to.equal(`${issuer.issuer}introspect`);
      expect(issuer.introspection!.clientId).to.match(/^resource-server-[0-9a-f]{6}$/);
      expect(issuer.introspection!.clientSecret).to.match(/^[A-Za-z0-9_-]{32}$/);
      expect(issuer.requests).to.deep.equal({ discovery: 1, jwks: 0, introspection: 0 });
    });

    it('hands out random opaque tokens that are not JWT-shaped', () => {
      const tokens = new Set([issuer.issueOpaque(), issuer.issueOpaque(), issuer.issueOpaque()]);
      expect(tokens.size).to.equal(3);
      for (const token of tokens) expect(token).to.match(/^[A-Za-z0-9_-]{43}$/);
    });

    it('answers an opaque token with active: true and exactly its claims (client_secret_basic)', async () => {
      const token = issuer.issueOpaque({ scope: 'read:messages' });
      const reply = await introspect(issuer, token);
      expect(reply.status).to.equal(200);
      expect(reply.headers.get('content-type')).to.equal('application/json');
      expect(reply.headers.get('cache-control')).to.equal('no-store');
      const { iat, exp, jti, ...rest } = reply.body;
      expect(rest).to.deep.equal({
        active: true, iss: issuer.issuer, aud: audience, sub: 'test-user', client_id: 'test-client', scope: 'read:messages', token_type: 'Bearer',
      });
      expect(exp as number - (iat as number)).to.equal(300);
      expect(Math.abs(iat as number - Date.now() / 1000)).to.be.below(5);
      expect(jti).to.be.a('string');
      expect(issuer.requests.introspection).to.equal(1);
    });

    it('takes client_secret_post too', async () => {
      const reply = await introspect(issuer, issuer.issueOpaque({ sub: 'alice' }), { auth: 'post' });
      expect([reply.status, reply.body.active, reply.body.sub]).to.deep.equal([200, true, 'alice']);
    });

    it('lets claims remove a default and override active (a sloppy server)', async () => {
      expect((await introspect(issuer, issuer.issueOpaque({ scope: undefined }))).body).not.to.have.property('scope');
      expect((await introspect(issuer, issuer.issueOpaque({ active: 'true' }))).body.active).to.equal('true');
    });

    it('answers active with its claims for a JWT this issuer signed, so tokens: "all" can be tested', async () => {
      const token = await issuer.sign({ scope: 'read:messages' });
      const reply = await introspect(issuer, token);
      const { iat, exp, jti, ...rest } = reply.body;
      expect(rest).to.deep.equal({ active: true, iss: issuer.issuer, aud: audience, sub: 'test-user', client_id: 'test-client', scope: 'read:messages' });
      expect([typeof iat, typeof exp, typeof jti]).to.deep.equal(['number', 'number', 'string']);
    });

    it('answers { active: false } alone for unknown, expired, not yet valid, revoked and foreign tokens', async () => {
      const revokedOpaque = issuer.issueOpaque();
      const revokedJwt = await issuer.sign();
      issuer.revoke(revokedOpaque);
      issuer.revoke(revokedJwt);
      const cases: Record<string, string> = {
        unknown: 'x'.repeat(43),
        'expired opaque': issuer.issueOpaque({}, { expired: true }),
        'not yet valid opaque': issuer.issueOpaque({}, { notYetValid: true }),
        'short-lived opaque': issuer.issueOpaque({ exp: Math.floor(Date.now() / 1000) - 1 }),
        'revoked opaque': revokedOpaque,
        'expired JWT': await issuer.sign({}, { expired: true }),
        'wrongly signed JWT': await issuer.sign({}, { wrongSignature: true }),
        'JWT of another issuer': await issuer.sign({ iss: 'https://other.example.com/' }),
        'revoked JWT': revokedJwt,
      };
      for (const [name, token] of Object.entries(cases)) {
        const reply = await introspect(issuer, token);
        expect([reply.status, reply.body], name).to.deep.equal([200, { active: false }]);
      }
      expect(issuer.requests.introspection).to.equal(9);
    });

    it('refuses callers without the client credentials: 401 invalid_client (RFC 7662 §2.3, RFC 6749 §5.2), counted', async () => {
      const token = issuer.issueOpaque();
      const wrongBasic = await introspect(issuer, token, { secret: 'wrong' });
      expect([wrongBasic.status, wrongBasic.body.error, wrongBasic.headers.get('www-authenticate')]).to.deep.equal([401, 'invalid_client', 'Basic realm="test-issuer"']);
      const wrongPost = await introspect(issuer, token, { auth: 'post', secret: 'wrong' });
      expect([wrongPost.status, wrongPost.body.error, wrongPost.headers.get('www-authenticate')]).to.deep.equal([401, 'invalid_client', null]);
      const none = await introspect(issuer, token, { auth: 'none' });
      expect([none.status, none.body]).to.deep.equal([401, { error: 'invalid_client', error_description: 'client authentication required' }]);
      const both = await introspect(issuer, token, { extra: { client_secret: issuer.introspection!.clientSecret! } });
      expect([both.status, both.body.error]).to.deep.equal([400, 'invalid_request']);
      for (const reply of [wrongBasic, wrongPost, none]) expect(reply.text).not.to.contain('active');
      expect(issuer.requests.introspection).to.equal(4);
    });

    it('refuses a request without a token, with a repeated parameter or not form-encoded: 400 invalid_request', async () => {
      expect((await introspect(issuer, '')).body.error).to.equal('invalid_request');
      const { endpoint, clientId, clientSecret } = issuer.introspection!;
      const authorization = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
      const twice = await fetch(endpoint, { method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=a&token=b' });
      expect([twice.status, ((await twice.json()) as { error: string }).error]).to.deep.equal([400, 'invalid_request']);
      const asJson = await fetch(endpoint, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: '{"token":"a"}' });
      expect(asJson.status).to.equal(400);
      expect((await fetch(endpoint)).status).to.equal(405);
    });

    it('answers an RFC 9701 signed JWT when Accept asks for application/token-introspection+jwt', async () => {
      const token = issuer.issueOpaque({ scope: 'read:messages' });
      const reply = await introspect(issuer, token, { accept: 'application/token-introspection+jwt' });
      expect([reply.status, reply.headers.get('content-type')]).to.deep.equal([200, 'application/token-introspection+jwt']);
      expect(decodeProtectedHeader(reply.text)).to.deep.equal({ alg: 'ES256', kid: issuer.signingKey.kid, typ: 'token-introspection+jwt' });
      const jwks = await (await fetch(issuer.jwksUri)).json() as { keys: JWK[] };
      const { payload } = await jwtVerify(reply.text, createLocalJWKSet(jwks), {
        issuer: issuer.issuer, audience: issuer.introspection!.clientId, typ: 'token-introspection+jwt', requiredClaims: ['iat'],
      });
      const plain = await introspect(issuer, token);
      expect(Object.keys(payload).sort()).to.deep.equal(['aud', 'iat', 'iss', 'token_introspection']);
      expect(payload.token_introspection).to.deep.equal(plain.body);
      const inactive = await introspect(issuer, 'unknown', { accept: 'application/json;q=0.5, application/token-introspection+jwt' });
      expect((await jwtVerify(inactive.text, createLocalJWKSet(jwks))).payload.token_introspection).to.deep.equal({ active: false });
      expect((await introspect(issuer, token, { accept: 'application/token-introspection+jwt;q=0' })).body.active).to.equal(true);
    });
  });

  it('answers only the configured client and no other', async () => {
    issuer = await createTestIssuer({ audience, introspection: { clientId: 'messages api', clientSecret: 's3cret:+/' } });
    expect(issuer.introspection).to.deep.equal({ endpoint: `${issuer.issuer}introspect`, clientId: 'messages api', clientSecret: 's3cret:+/' });
    // RFC 6749 §2.3.1: both are form-urlencoded inside Basic, so ':' and '+' survive.
    expect((await introspect(issuer, issuer.issueOpaque())).body.active).to.equal(true);
    expect((await introspect(issuer, issuer.issueOpaque(), { auth: 'post' })).body.active).to.equal(true);
    const reply = await fetch(issuer.introspection!.endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('other:s3cret%3A%2B%2F').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=abc',
    });
    expect(reply.status).to.equal(401);
  });

  describe('private_key_jwt (RFC 7523)', () => {
    let clientKey: CryptoKey;
    const now = (): number => Math.floor(Date.now() / 1000);
    const assertion = (claims: Record<string, unknown> = {}): Promise<string> => new SignJWT({
      iss: 'api', sub: 'api', aud: issuer.issuer, jti: crypto.randomUUID(), iat: now(), exp: now() + 60, ...claims,
    }).setProtectedHeader({ alg: 'ES256' }).sign(clientKey);
    const call = (jwt: string, token = issuer.issueOpaque()): Promise<Response> => fetch(issuer.introspection!.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt }).toString(),
    });

    beforeEach(async () => {
      const pair = await generateKeyPair('ES256', { extractable: true });
      clientKey = pair.privateKey;
      issuer = await createTestIssuer({ audience, introspection: { clientId: 'api', jwks: [await exportJWK(pair.publicKey)] } });
    });

    it('accepts an assertion signed with the client key, for the issuer or the endpoint as aud', async () => {
      expect(issuer.introspection!.clientSecret).to.equal(undefined);
      for (const aud of [issuer.issuer, issuer.introspection!.endpoint]) {
        const reply = await call(await assertion({ aud }));
        expect([reply.status, ((await reply.json()) as { active: boolean }).active]).to.deep.equal([200, true]);
      }
    });

    it('refuses a replayed, foreign-audience, wrong-subject, expired or stranger-signed assertion', async () => {
      const once = await assertion();
      expect((await call(once)).status).to.equal(200);
      const stranger = (await generateKeyPair('ES256')).privateKey;
      const refused = [
        once,
        await assertion({ aud: 'https://elsewhere.example.com/' }),
        await assertion({ sub: 'someone' }),
        await assertion({ exp: now() - 120 }),
        await new SignJWT({ iss: 'api', sub: 'api', aud: issuer.issuer, jti: 'j' }).setProtectedHeader({ alg: 'ES256' }).setExpirationTime('1m').sign(stranger),
        'not-a-jwt',
      ];
      for (const jwt of refused) {
        const reply = await call(jwt);
        expect([reply.status, ((await reply.json()) as { error: string }).error]).to.deep.equal([401, 'invalid_client']);
      }
    });

    it('refuses a client secret for a client registered with keys only', async () => {
      const reply = await fetch(issuer.introspection!.endpoint, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=abc&client_id=api&client_secret=guess',
      });
      expect(reply.status).to.equal(401);
    });
  });

  describe('outages and slowness', () => {
    beforeEach(async () => {
      issuer = await createTestIssuer({ audience, introspection: true });
    });

    it('fails only introspection with a status and Retry-After when told to', async () => {
      issuer.outage({ endpoint: 'introspection', status: 503, retryAfter: 7 });
      const down = await introspect(issuer, issuer.issueOpaque());
      expect([down.status, down.headers.get('retry-after')]).to.deep.equal([503, '7']);
      expect((await fetch(issuer.jwksUri)).status).to.equal(200);
      issuer.recover();
      expect((await introspect(issuer, issuer.issueOpaque())).body.active).to.equal(true);
      expect(issuer.requests).to.deep.equal({ discovery: 0, jwks: 1, introspection: 2 });
    });

    it('answers slowly but normally with delay alone, and fails late with delay and status', async () => {
      issuer.outage({ endpoint: 'introspection', delay: 300 });
      let started = Date.now();
      const slow = await introspect(issuer, issuer.issueOpaque());
      expect(Date.now() - started).to.be.within(280, 2000);
      expect([slow.status, slow.body.active]).to.deep.equal([200, true]);
      started = Date.now();
      expect((await fetch(issuer.jwksUri)).status).to.equal(200);
      expect(Date.now() - started).to.be.below(250);
      issuer.outage({ endpoint: 'introspection', delay: 200, status: 429 });
      started = Date.now();
      expect((await introspect(issuer, issuer.issueOpaque())).status).to.equal(429);
      expect(Date.now() - started).to.be.at.least(180);
    });

    it('ends held delays at close(), leaving no timer behind', async () => {
      issuer.outage({ endpoint: 'introspection', delay: 60_000 });
      const pending = introspect(issuer, issuer.issueOpaque()).catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = Date.now();
      await issuer.close();
      await pending;
      expect(Date.now() - started).to.be.below(1000);
    });

    it('hangs until recover(), then answers the held request, counted once', async () => {
      issuer.outage({ endpoint: 'introspection', hang: true });
      const held = introspect(issuer, issuer.issueOpaque());
      await new Promise((resolve) => setTimeout(resolve, 50));
      issuer.recover();
      expect((await held).body.active).to.equal(true);
      expect(issuer.requests.introspection).to.equal(1);
    });
  });

  describe('nock mode', () => {
    it('serves the same introspection through nock, with a form body and the client credentials', async () => {
      issuer = await createTestIssuer({ mode: 'nock', audience, introspection: true, path: '/realms/main' });
      expect(issuer.introspection!.endpoint).to.match(/^https:\/\/issuer-\d+\.koa-token-guard\.test\/realms\/main\/introspect$/);
      const token = issuer.issueOpaque({ scope: 'read:messages' });
      expect((await introspect(issuer, token)).body).to.include({ active: true, scope: 'read:messages' });
      expect((await introspect(issuer, token, { auth: 'post' })).body.active).to.equal(true);
      expect((await introspect(issuer, token, { secret: 'wrong' })).status).to.equal(401);
      const signed = await introspect(issuer, token, { accept: 'application/token-introspection+jwt' });
      expect(signed.headers.get('content-type')).to.equal('application/token-introspection+jwt');
      issuer.outage({ endpoint: 'introspection', status: 500 });
      expect((await introspect(issuer, token)).status).to.equal(500);
      expect(issuer.requests).to.deep.equal({ discovery: 0, jwks: 0, introspection: 5 });
    });
  });

  it('refuses an introspection client without credentials, saying what it needs', async () => {
    let error: unknown;
    try {
      await createTestIssuer({ introspection: { clientId: 'api' } });
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).to.equal('koa-token-guard/testing: client api of `introspection` needs a clientSecret (client_secret_basic/_post) or jwks (private_key_jwt).');
  });
});
