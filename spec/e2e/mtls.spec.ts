// Certificate-bound access tokens (RFC 8705) over real TLS on loopback: the client certificate comes from
// the TLS handshake itself, self-signed as RFC 8705 section 3 allows.
import { expect } from 'chai';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import Koa from 'koa';
import { authenticate, certificateThumbprint, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { clientCertificate, type ClientCertificate } from '../support/certificates.js';
import { bearer, type Reply } from '../support/http.js';
import { tlsServer, withoutNock, type TlsServer } from '../support/tls.js';

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
      const socket = ctx.req.socket as TLSSocket;
      ctx.set('x-session-reused', String(socket.isSessionReused()));
      ctx.set('x-tls-protocol', String(socket.getProtocol()));
      ctx.set('x-connection', String(socket.remotePort));
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

  // A resumed session carries no Certificate message: the server must take the certificate from the session
  // (TLS 1.2 session tickets and TLS 1.3 PSK resumption differ here), or a bound token would be refused on
  // every resumed connection. The headers prove each connection really was kept alive or resumed.
  it('reads the certificate on a kept-alive connection and after TLS session resumption too, over TLS 1.2 and 1.3', async () => {
    const { get } = await serve({ mtls: {} });
    const headers = bearer(await issuer.sign({}, { certificate: a.pem }));
    const thumbprint = certificateThumbprint(a.der);
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      for (const keepAlive of [true, false]) {
        const agent = new https.Agent({ keepAlive, maxCachedSessions: 10, maxVersion });
        const replies: Reply[] = [];
        await withoutNock(async () => {
          for (let i = 0; i < 3; i++) replies.push(await get('/', { certificate: a, headers, agent }));
        });
        agent.destroy();
        const seen = replies.map((r) => [r.status, (r.json() as { thumbprint: unknown }).thumbprint, r.headers['x-tls-protocol'], r.headers['x-session-reused']]);
        expect(seen, `${maxVersion}, keepAlive: ${keepAlive}`).to.deep.equal([
          [200, thumbprint, maxVersion, 'false'],
          [200, thumbprint, maxVersion, keepAlive ? 'false' : 'true'],
          [200, thumbprint, maxVersion, keepAlive ? 'false' : 'true'],
        ]);
        const connections = new Set(replies.map((r) => r.headers['x-connection'])).size;
        expect(connections, `${maxVersion}, keepAlive: ${keepAlive}: connections`).to.equal(keepAlive ? 1 : 3);
      }
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
