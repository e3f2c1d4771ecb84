// Sender-constrained OPAQUE tokens: the binding comes from the introspection answer's `cnf` (RFC 9449 6.2,
// RFC 8705 3.2) and is checked on every request, whereas the answer itself is cached.
import { expect } from 'chai';
import Koa from 'koa';
import { authenticate, certificateThumbprint, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { createDpopKey, createTestIssuer, type TestDpopKey, type TestIssuer } from '../../lib/testing/index.js';
import { clientCertificate, type ClientCertificate } from '../support/certificates.js';
import { bearer } from '../support/http.js';
import { tlsServer, type TlsServer } from '../support/tls.js';
import { ALGS, dpop, serve, type Served } from '../dpop/support.js';

const audience = 'https://api.example.com';

describe('koa/authenticate: DPoP- and certificate-bound opaque tokens, established by introspection', () => {
  let issuer: TestIssuer;
  before(async () => {
    issuer = await createTestIssuer({ audience, introspection: true });
  });
  after(async () => issuer.close());

  function appFor(options: Partial<AuthenticateOptions>): Koa<AuthState> {
    const app = new Koa<AuthState>();
    app.silent = true;
    const { clientId, clientSecret } = issuer.introspection!;
    app.use(authenticate({ issuer: issuer.issuer, audience, introspection: { clientId, clientSecret }, ...options }));
    app.use((ctx) => {
      const auth = ctx.state.auth!;
      ctx.body = { sub: ctx.state.user?.sub, source: auth.source, dpop: auth.dpop ?? null, mtls: auth.mtls ?? null };
    });
    return app;
  }

  describe('DPoP-bound (cnf.jkt in the answer)', () => {
    let key: TestDpopKey;
    let thief: TestDpopKey;
    let s: Served;
    before(async () => {
      [key, thief] = await Promise.all([createDpopKey(), createDpopKey('EdDSA')]);
      s = await serve(appFor({ dpop: {} }));
    });
    after(async () => s.close());

    const proof = (token: string, by = key): Promise<string> => by.proof({ method: 'GET', url: `${s.origin}/messages`, accessToken: token });

    it('accepts it with a proof of its key: 200, ctx.state.auth.dpop.jkt, source introspection', async () => {
      const token = issuer.issueOpaque({}, { dpopKey: key });
      const reply = await s.send('/messages', { headers: dpop(token, await proof(token)) });
      expect([reply.status, reply.json()]).to.deep.equal([200, { sub: 'test-user', source: 'introspection', dpop: { jkt: key.jkt }, mtls: null }]);
    });

    it('refuses it sent as Bearer: 401 invalid_token (the downgrade of RFC 9449 7.2)', async () => {
      const reply = await s.send('/messages', { headers: bearer(issuer.issueOpaque({}, { dpopKey: key })) });
      expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([
        401, `Bearer realm="api", error="invalid_token", error_description="token bound to a DPoP key needs a DPoP proof", DPoP algs="${ALGS}"`,
      ]);
    });

    it('refuses it with a proof of another key: 401 invalid_dpop_proof', async () => {
      const token = issuer.issueOpaque({}, { dpopKey: key });
      const reply = await s.send('/messages', { headers: dpop(token, await proof(token, thief)) });
      expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([
        401, `DPoP error="invalid_dpop_proof", error_description="DPoP proof key does not match the token", algs="${ALGS}"`,
      ]);
    });

    it('never carries a proof over in the cached answer: 1 introspection call for two good requests, then no proof → 401', async () => {
      const token = issuer.issueOpaque({}, { dpopKey: key });
      const calls = issuer.requests.introspection!;
      const statuses = [];
      for (let i = 0; i < 2; i++) statuses.push((await s.send('/messages', { headers: dpop(token, await proof(token)) })).status);
      const bare = await s.send('/messages', { headers: { authorization: `DPoP ${token}` } });
      expect([...statuses, bare.status, bare.headers['www-authenticate']]).to.deep.equal([
        200, 200, 401, `DPoP error="invalid_dpop_proof", error_description="DPoP proof missing", algs="${ALGS}"`,
      ]);
      expect(issuer.requests.introspection! - calls).to.equal(1);
    });
  });

  describe('certificate-bound (cnf["x5t#S256"] in the answer), over real TLS', () => {
    let a: ClientCertificate;
    let b: ClientCertificate;
    let server: TlsServer;
    before(async () => {
      [a, b] = await Promise.all([clientCertificate('client-a'), clientCertificate('client-b')]);
      server = await tlsServer(appFor({ mtls: {} }));
    });
    after(async () => server.close());

    const challenge = (description: string): string => `Bearer realm="api", error="invalid_token", error_description="${description}"`;

    it('accepts it from its certificate A: 200 and ctx.state.auth.mtls.thumbprint', async () => {
      const reply = await server.get('/messages', { certificate: a, headers: bearer(issuer.issueOpaque({}, { certificate: a.pem })) });
      expect([reply.status, reply.json()]).to.deep.equal([
        200, { sub: 'test-user', source: 'introspection', dpop: null, mtls: { thumbprint: certificateThumbprint(a.der) } },
      ]);
    });

    it('refuses it from B, and without a certificate: 401 invalid_token', async () => {
      const headers = bearer(issuer.issueOpaque({}, { certificate: a.x509 }));
      const fromB = await server.get('/messages', { certificate: b, headers });
      const without = await server.get('/messages', { headers });
      expect([fromB.status, fromB.headers['www-authenticate'], without.status, without.headers['www-authenticate']]).to.deep.equal([
        401, challenge('client certificate does not match the token'), 401, challenge('client certificate required'),
      ]);
    });

    it('never carries a certificate over in the cached answer: 1 introspection call for two good requests, then none → 401', async () => {
      const headers = bearer(issuer.issueOpaque({}, { certificate: a.pem }));
      const calls = issuer.requests.introspection!;
      const statuses = [];
      for (const certificate of [a, a, undefined, b]) statuses.push((await server.get('/messages', { certificate, headers })).status);
      expect(statuses).to.deep.equal([200, 200, 401, 401]);
      expect(issuer.requests.introspection! - calls).to.equal(1);
    });
  });
});
