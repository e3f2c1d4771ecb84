// Certificate-bound access tokens (RFC 8705) over real TLS on loopback: the client certificate comes from
// the TLS handshake itself, self-signed as RFC 8705 section 3 allows.
import { expect } from 'chai';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import Koa from 'koa';
import { authenticate, certificateThumbprint, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { clientCertificate, type ClientCertificate } from '../support/certificates.js';
import { bearer } from '../support/http.js';
import { tlsServer, type TlsServer } from '../support/tls.js';

const audience = 'https://api.example.com';
const challenge = (description: string): string => `Bearer realm="api", error="invalid_token", error_description="${description}"`;

describe('e2e: certificate-bound tokens over real TLS (RFC 8705)', () => {
  let issuer: TestIssuer;
  let a: ClientCertificate;
  let b: ClientCertificate;
  let server: TlsServer | undefined;
  before(async () => {
    [issuer, a, b] = await Promise.all([createTestIssuer({ audience }), clientCertificate('client-a'), clientCertificate('client-b')]);
  });
  after(async () => issuer.close());
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function serve(options: Partial<AuthenticateOptions> = {}): Promise<TlsServer> {
    const app = new Koa<AuthState>();
    app.silent = true;
    app.use(authenticate({ issuer: issuer.issuer, audience, ...options }));
    app.use((ctx) => {
      ctx.body = { sub: ctx.state.user?.sub, thumbprint: ctx.state.auth?.mtls?.thumbprint ?? null };
      ctx.set('x-session-reused', String((ctx.req.socket as TLSSocket).isSessionReused()));
    });
    server = await tlsServer(app);
    return server;
  }

  it('accepts a token bound to certificate A from A, and sets the verified thumbprint', async () => {
    const { get } = await serve({ mtls: {} });
    const reply = await get('/', { certificate: a, headers: bearer(await issuer.sign({}, { certificate: a.pem })) });
    expect([reply.status, reply.json()]).to.deep.equal([200, { sub: 'test-user', thumbprint: certificateThumbprint(a.der) }]);
  });

  it('refuses it from B: 401 certificate_mismatch', async () => {
    const { get } = await serve({ mtls: {} });
    const reply = await get('/', { certificate: b, headers: bearer(await issuer.sign({}, { certificate: a.x509 })) });
    expect([reply.status, reply.headers['www-authenticate'], reply.text])
      .to.deep.equal([401, challenge('client certificate does not match the token'), 'client certificate does not match the token']);
  });

  it('refuses it without a client certificate: 401 certificate_missing', async () => {
    const { get } = await serve({ mtls: {} });
    const reply = await get('/', { headers: bearer(await issuer.sign({}, { certificate: a.pem })) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, challenge('client certificate required')]);
  });

  it('with required: true, refuses an unbound token even over mTLS', async () => {
    const { get } = await serve({ mtls: { required: true } });
    const reply = await get('/', { certificate: a, headers: bearer(await issuer.sign()) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, challenge('token not bound to a client certificate')]);
  });

  it('with required: false (the default), lets an unbound token pass, with or without a certificate', async () => {
    const { get } = await serve({ mtls: { required: false } });
    const token = await issuer.sign();
    for (const certificate of [a, undefined]) {
      const reply = await get('/', { certificate, headers: bearer(token) });
      expect([reply.status, reply.json()]).to.deep.equal([200, { sub: 'test-user', thumbprint: null }]);
    }
  });

  it('refuses a bound token when mtls is not configured, even with the right certificate', async () => {
    const { get } = await serve();
    const reply = await get('/', { certificate: a, headers: bearer(await issuer.sign({}, { certificate: a.pem })) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, challenge('token bound to a client certificate not accepted here')]);
  });

  it('reads the certificate on a kept-alive connection and after TLS session resumption too', async () => {
    const { get } = await serve({ mtls: {} });
    const headers = bearer(await issuer.sign({}, { certificate: a.pem }));
    for (const options of [{ keepAlive: true }, { keepAlive: false, maxCachedSessions: 10 }]) {
      const agent = new https.Agent(options);
      const replies = [];
      for (let i = 0; i < 3; i++) replies.push(await get('/', { certificate: a, headers, agent }));
      agent.destroy();
      expect(replies.map((r) => r.status)).to.deep.equal([200, 200, 200]);
      if (!options.keepAlive) expect(replies.map((r) => r.headers['x-session-reused'])).to.deep.equal(['false', 'true', 'true']);
    }
  });

  it('checks every request: the cached verification of the token never carries the certificate over', async () => {
    const { get } = await serve({ mtls: {} });
    const token = await issuer.sign({}, { certificate: a.pem });
    const statuses = [];
    for (const certificate of [a, b, a, undefined, a]) statuses.push((await get('/', { certificate, headers: bearer(token) })).status);
    expect(statuses).to.deep.equal([200, 401, 200, 401, 200]);
  });
});
