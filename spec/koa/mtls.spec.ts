// authenticate({ mtls }) over plain HTTP: certificates from getCertificate and from a proxy's header.
import { expect } from 'chai';
import Koa from 'koa';
import {
  authenticate,
  certificateFromHeader,
  certificateThumbprint,
  ConfigurationError,
  type AuthenticateOptions,
  type AuthState,
  type TokenGuardEvent,
} from '../../lib/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { clientCertificate, type ClientCertificate } from '../support/certificates.js';
import { bearer, request, type Reply } from '../support/http.js';

const audience = 'https://api.example.com';
const challenge = (description: string): string => `Bearer realm="api", error="invalid_token", error_description="${description}"`;
const refusal = (reply: Reply): unknown[] => [reply.status, reply.headers['www-authenticate'], reply.text];
const MISSING = [401, challenge('client certificate required'), 'client certificate required'];
const MISMATCH = [401, challenge('client certificate does not match the token'), 'client certificate does not match the token'];

describe('koa/authenticate: certificate-bound tokens (mtls)', () => {
  let issuer: TestIssuer;
  let a: ClientCertificate;
  let b: ClientCertificate;
  let boundToA: string;
  before(async () => {
    [issuer, a, b] = await Promise.all([createTestIssuer({ audience }), clientCertificate('client-a'), clientCertificate('client-b')]);
    boundToA = await issuer.sign({}, { certificate: a.pem });
  });
  after(async () => issuer.close());

  function appWith(options: Partial<AuthenticateOptions>): Koa<AuthState> {
    const app = new Koa<AuthState>();
    app.silent = true;
    app.use(authenticate({ issuer: issuer.issuer, audience, ...options }));
    app.use((ctx) => {
      ctx.body = { thumbprint: ctx.state.auth?.mtls?.thumbprint ?? null };
    });
    return app;
  }

  describe('getCertificate', () => {
    it('takes a PEM string, DER bytes, an X509Certificate, sync or async', async () => {
      for (const value of [a.pem, a.der, a.x509]) {
        for (const getCertificate of [() => value, () => Promise.resolve(value)]) {
          const reply = await request(appWith({ mtls: { getCertificate } }), '/', { headers: bearer(boundToA) });
          expect([reply.status, reply.json()]).to.deep.equal([200, { thumbprint: certificateThumbprint(a.der) }]);
        }
      }
    });

    it('is called with the Koa context, and only when a binding is to be checked', async () => {
      const seen: unknown[] = [];
      const app = appWith({ mtls: { getCertificate: (ctx) => (seen.push(ctx.path), a.pem) } });
      expect((await request(app, '/unbound', { headers: bearer(await issuer.sign()) })).status).to.equal(200);
      expect((await request(app, '/bound', { headers: bearer(boundToA) })).status).to.equal(200);
      expect(seen).to.deep.equal(['/bound']);
    });

    it('refuses a bound token when it returns nothing or something unparsable, never a 500', async () => {
      for (const value of [undefined, null, '', 'not a certificate', Buffer.from('garbage')]) {
        expect(refusal(await request(appWith({ mtls: { getCertificate: () => value } }), '/', { headers: bearer(boundToA) }))).to.deep.equal(MISSING);
      }
    });
  });

  describe('certificateFromHeader (behind a TLS-terminating proxy)', () => {
    const rfc9440 = (c: ClientCertificate): string => `:${c.der.toString('base64')}:`;
    const nginx = (c: ClientCertificate): string => encodeURIComponent(c.pem);

    for (const [format, header, encode] of [['rfc9440', 'client-cert', rfc9440], ['nginx', 'x-ssl-client-cert', nginx]] as const) {
      describe(`format '${format}'`, () => {
        const app = (): Koa<AuthState> => appWith({ mtls: { getCertificate: certificateFromHeader({ header, format }) } });

        it('accepts the bound token with its certificate in the header', async () => {
          const reply = await request(app(), '/', { headers: { ...bearer(boundToA), [header]: encode(a) } });
          expect([reply.status, reply.json()]).to.deep.equal([200, { thumbprint: certificateThumbprint(a.der) }]);
        });

        it('refuses it with another certificate, or without the header', async () => {
          expect(refusal(await request(app(), '/', { headers: { ...bearer(boundToA), [header]: encode(b) } }))).to.deep.equal(MISMATCH);
          expect(refusal(await request(app(), '/', { headers: bearer(boundToA) }))).to.deep.equal(MISSING);
        });

        it('answers a malformed or repeated header with 401, not 500', async () => {
          for (const value of ['%', ':!!:', ':AAAA:', encode(a).slice(0, 100), [encode(a), encode(a)], `${encode(a)}, ${encode(b)}`]) {
            expect(refusal(await request(app(), '/', { headers: { ...bearer(boundToA), [header]: value } })), String(value).slice(0, 20)).to.deep.equal(MISSING);
          }
        });
      });
    }
  });

  it('reports each refusal with its code through onEvent', async () => {
    const events: TokenGuardEvent[] = [];
    const onEvent = (event: TokenGuardEvent): void => void events.push(event);
    await request(appWith({ onEvent, mtls: { getCertificate: () => b.pem } }), '/', { headers: bearer(boundToA) });
    await request(appWith({ onEvent, mtls: { getCertificate: () => undefined } }), '/', { headers: bearer(boundToA) });
    await request(appWith({ onEvent, mtls: { required: true, getCertificate: () => a.pem } }), '/', { headers: bearer(await issuer.sign()) });
    await request(appWith({ onEvent }), '/', { headers: bearer(boundToA) });
    expect(events.filter((e) => e.type === 'token_rejected')).to.deep.equal(
      ['certificate_mismatch', 'certificate_missing', 'token_not_certificate_bound', 'token_certificate_bound']
        .map((code) => ({ type: 'token_rejected', code, status: 401 })));
  });

  it('throws a ConfigurationError at startup for bad mtls options', () => {
    for (const mtls of [null, { required: 1 }, { getCertificate: 'client-cert' }]) {
      expect(() => authenticate({ issuer: issuer.issuer, audience, mtls } as unknown as AuthenticateOptions)).to.throw(ConfigurationError);
    }
  });
});
