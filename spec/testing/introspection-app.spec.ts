// The kit's introspection endpoint behind authenticate({ introspection }): what a user's own specs of an
// opaque-token API look like, and proof that the kit and the core agree on every exchange.
import { expect } from 'chai';
import Koa from 'koa';
import { exportJWK, generateKeyPair } from 'jose';
import { authenticate, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { bearer, request, type Reply } from '../support/http.js';

const audience = 'https://api.example.com';
type Introspection = NonNullable<AuthenticateOptions['introspection']>;

describe('testing/createTestIssuer: introspection behind authenticate()', () => {
  let issuer: TestIssuer;
  afterEach(async () => issuer?.close());

  function appFor(introspection: Partial<Introspection> = {}, options: Partial<AuthenticateOptions> = {}): Koa<AuthState> {
    const app = new Koa<AuthState>();
    app.silent = true;
    const { clientId, clientSecret } = issuer.introspection!;
    app.use(authenticate({ issuer: issuer.issuer, audience, ...options, introspection: { clientId, clientSecret, ...introspection } }));
    app.use((ctx) => {
      ctx.body = { sub: ctx.state.user?.sub, scopes: [...ctx.state.auth!.scopes], source: ctx.state.auth!.source };
    });
    return app;
  }
  const call = (app: Koa<AuthState>, token: string): Promise<Reply> => request(app, '/', { headers: bearer(token) });
  const inactive = 'Bearer realm="api", error="invalid_token", error_description="token is not active"';

  it('accepts an opaque token with its scopes, introspected once and then cached', async () => {
    issuer = await createTestIssuer({ audience, introspection: true });
    const app = appFor();
    const token = issuer.issueOpaque({ sub: 'alice', scope: 'read:messages write:messages' });
    for (let i = 0; i < 3; i++) {
      const reply = await call(app, token);
      expect([reply.status, reply.json()]).to.deep.equal([200, { sub: 'alice', scopes: ['read:messages', 'write:messages'], source: 'introspection' }]);
    }
    expect(issuer.requests).to.include({ discovery: 1, introspection: 1 });
  });

  it('refuses a revoked, expired or unknown opaque token as inactive', async () => {
    issuer = await createTestIssuer({ audience, introspection: true });
    const app = appFor({ cache: false });
    const token = issuer.issueOpaque();
    expect((await call(app, token)).status).to.equal(200);
    issuer.revoke(token);
    for (const dead of [token, issuer.issueOpaque({}, { expired: true }), 'n'.repeat(43)]) {
      const reply = await call(app, dead);
      expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, inactive]);
    }
  });

  it("introspects JWTs too with tokens: 'all', so revoking one takes effect", async () => {
    issuer = await createTestIssuer({ audience, introspection: true });
    const app = appFor({ tokens: 'all', cache: false });
    const jwt = await issuer.sign({ scope: 'read:messages' });
    expect((await call(app, jwt)).json()).to.deep.include({ source: 'introspection' });
    issuer.revoke(jwt);
    expect((await call(app, jwt)).headers['www-authenticate']).to.equal(inactive);
    expect(issuer.requests.introspection).to.equal(2);
  });

  it('passes RFC 9701 signed answers, verified with the same key set (jwtResponse: true)', async () => {
    issuer = await createTestIssuer({ audience, introspection: true, algorithms: ['EdDSA'] });
    const reply = await call(appFor({ jwtResponse: true }), issuer.issueOpaque({ scope: 'read:messages' }));
    expect([reply.status, reply.json()]).to.deep.equal([200, { sub: 'test-user', scopes: ['read:messages'], source: 'introspection' }]);
    expect(issuer.requests).to.deep.equal({ discovery: 1, jwks: 1, introspection: 1 });
  });

  it('authenticates with private_key_jwt against a kit client registered with its public JWK', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    issuer = await createTestIssuer({ audience, introspection: { clientId: 'messages-api', jwks: [{ ...(await exportJWK(publicKey)), alg: 'ES256' }] } });
    const app = new Koa<AuthState>();
    app.silent = true;
    app.use(authenticate({ issuer: issuer.issuer, audience, introspection: { clientId: 'messages-api', clientAuth: 'private_key_jwt', privateKey } }));
    app.use((ctx) => {
      ctx.body = { sub: ctx.state.user?.sub };
    });
    const reply = await call(app, issuer.issueOpaque());
    expect([reply.status, reply.json()]).to.deep.equal([200, { sub: 'test-user' }]);
  });

  it('answers 503 with Retry-After when introspection fails, is too slow, or refuses our own credentials', async () => {
    issuer = await createTestIssuer({ audience, introspection: true });
    issuer.outage({ endpoint: 'introspection', status: 503, retryAfter: 9 });
    const down = await call(appFor(), issuer.issueOpaque());
    expect([down.status, down.headers['retry-after'], down.headers['www-authenticate']]).to.deep.equal([503, '9', undefined]);
    issuer.outage({ endpoint: 'introspection', delay: 1000 });
    const slow = await call(appFor({}, { fetchTimeout: 0.2 }), issuer.issueOpaque());
    expect(slow.status).to.equal(503);
    issuer.recover();
    const misconfigured = await call(appFor({ clientSecret: 'not-the-secret' }), issuer.issueOpaque());
    expect(misconfigured.status).to.equal(503);
  });

  it('works the same in nock mode', async () => {
    issuer = await createTestIssuer({ mode: 'nock', audience, introspection: true });
    const reply = await call(appFor(), issuer.issueOpaque({ scope: 'read:messages' }));
    expect([reply.status, (reply.json() as { source: string }).source]).to.deep.equal([200, 'introspection']);
    expect(issuer.requests.introspection).to.equal(1);
  });
});
