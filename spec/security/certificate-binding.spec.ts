// Attacks on certificate-bound access tokens (RFC 8705): a stolen token is worth nothing without the
// private key of the certificate it is bound to.
import { expect } from 'chai';
import Koa from 'koa';
import { authenticate, certificateFromHeader, certificateThumbprint, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { clientCertificate, type ClientCertificate } from '../support/certificates.js';
import { bearer } from '../support/http.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { tlsServer, type TlsServer } from '../support/tls.js';
import { expectProviderCalls, expectRefusal, guardedApp, refuseStrayNetwork, send } from './support.js';

describe('security: certificate-bound tokens (RFC 8705 3; RFC 9440, Security Considerations)', () => {
  let provider: FakeProvider;
  let victim: ClientCertificate;
  let attacker: ClientCertificate;
  let stolen: string;
  before(async () => {
    [victim, attacker] = await Promise.all([clientCertificate('victim'), clientCertificate('attacker')]);
  });
  beforeEach(async () => {
    provider = await fakeProvider();
    stolen = await provider.sign({ cnf: { 'x5t#S256': certificateThumbprint(victim.der) } });
  });
  refuseStrayNetwork();

  const options = (extra: Partial<AuthenticateOptions> = {}): AuthenticateOptions => ({ issuer: provider.issuer, audience: provider.audience, ...extra });

  describe('a stolen token replayed over TLS with the attacker\'s own certificate (RFC 8705 3)', () => {
    let server: TlsServer;
    afterEach(async () => server.close());

    it('is refused with 401 certificate_mismatch, while the victim\'s own requests pass', async () => {
      const app = new Koa<AuthState>();
      app.silent = true;
      app.use(authenticate(options({ mtls: {} })));
      app.use((ctx) => {
        ctx.body = 'ok';
      });
      server = await tlsServer(app);
      expectRefusal(await server.get('/', { certificate: attacker, headers: bearer(stolen) }), 401, 'invalid_token', 'client certificate does not match the token', stolen);
      expect((await server.get('/', { certificate: victim, headers: bearer(stolen) })).status).to.equal(200);
      expectRefusal(await server.get('/', { certificate: attacker, headers: bearer(stolen) }), 401, 'invalid_token', 'client certificate does not match the token', stolen);
      expectProviderCalls(provider, 1, 1);
    });
  });

  it('ignores a Client-Cert header naming the victim\'s certificate when the app reads the TLS handshake', async () => {
    // The victim's certificate is public (it went over the wire in the clear before TLS 1.3); only its key is not.
    const forged = { 'client-cert': `:${victim.der.toString('base64')}:`, 'x-ssl-client-cert': encodeURIComponent(victim.pem) };
    expectRefusal(await send(guardedApp(options({ mtls: {} })), stolen, forged), 401, 'invalid_token', 'client certificate required', stolen);
  });

  it('refuses a bound token to an app that cannot check the binding, rather than downgrading it to a bearer token', async () => {
    expectRefusal(await send(guardedApp(options()), stolen), 401, 'invalid_token', 'token bound to a client certificate not accepted here', stolen);
  });

  it('refuses a token bound by the SHA-1 x5t or another member only, when binding is required', async () => {
    for (const cnf of [{ x5t: 'x' }, { 'x5t#S1': certificateThumbprint(victim.der) }, { jwk: { kty: 'EC' } }]) {
      const token = await provider.sign({ cnf });
      expectRefusal(await send(guardedApp(options({ mtls: { required: true, getCertificate: () => victim.pem } })), token),
        401, 'invalid_token', 'token not bound to a client certificate', token);
    }
  });

  it('answers 401, never 500, to header values built to break the proxy-header parsers', async () => {
    const apps = [guardedApp(options({ mtls: { getCertificate: certificateFromHeader({ header: 'client-cert', format: 'rfc9440' }) } })),
      guardedApp(options({ mtls: { getCertificate: certificateFromHeader({ header: 'client-cert', format: 'nginx' }) } }))];
    const values = ['%', '%%%', ':', '::', `:${'A'.repeat(12_000)}:`, `-----BEGIN CERTIFICATE-----${'%0A'.repeat(3000)}-----END CERTIFICATE-----`,
      `:${Buffer.from([0x30, 0x82, 0xff, 0xff]).toString('base64')}:`, encodeURIComponent(`-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n-----END CERTIFICATE-----`),
      '\u00ff\u00fe', ':\u00e9:'];
    for (const app of apps) {
      for (const value of values) {
        expectRefusal(await send(app, stolen, { 'client-cert': value }), 401, 'invalid_token', 'client certificate required', stolen);
      }
    }
  });
});
