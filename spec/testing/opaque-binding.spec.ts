// issueOpaque(claims, { dpopKey, certificate }) binds a reference token as sign() binds a JWT: the binding is in its introspection answer.
import { expect } from 'chai';
import { certificateThumbprint } from '../../lib/index.js';
import { createDpopKey, createTestIssuer, type TestDpopKey, type TestIssuer } from '../../lib/testing/index.js';
import { clientCertificate, type ClientCertificate } from '../support/certificates.js';

const audience = 'https://api.example.com';

describe('testing: issueOpaque(claims, { dpopKey, certificate }) binds an opaque token (RFC 9449 6.2, RFC 8705 3.2)', () => {
  let issuer: TestIssuer;
  let certificate: ClientCertificate;
  let dpopKey: TestDpopKey;
  before(async () => {
    [issuer, certificate, dpopKey] = await Promise.all([createTestIssuer({ audience, introspection: true }), clientCertificate(), createDpopKey()]);
  });
  after(async () => issuer.close());

  async function answer(token: string): Promise<Record<string, unknown>> {
    const { clientId, clientSecret, endpoint } = issuer.introspection!;
    const reply = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret!}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    });
    expect(reply.status).to.equal(200);
    return await reply.json() as Record<string, unknown>;
  }

  it('answers a DPoP-bound token with cnf.jkt and token_type DPoP', async () => {
    const body = await answer(issuer.issueOpaque({}, { dpopKey }));
    expect([body.active, body.cnf, body.token_type]).to.deep.equal([true, { jkt: dpopKey.jkt }, 'DPoP']);
  });

  it('answers a certificate-bound token with cnf["x5t#S256"], the thumbprint of a PEM or X509Certificate', async () => {
    for (const value of [certificate.pem, certificate.x509]) {
      const body = await answer(issuer.issueOpaque({}, { certificate: value }));
      expect([body.active, body.cnf, body.token_type]).to.deep.equal([true, { 'x5t#S256': certificateThumbprint(certificate.der) }, 'Bearer']);
    }
  });

  it('binds both ways at once, keeping the other cnf members of the claims', async () => {
    const both = await answer(issuer.issueOpaque({}, { dpopKey, certificate: certificate.pem }));
    expect(both.cnf).to.deep.equal({ jkt: dpopKey.jkt, 'x5t#S256': certificateThumbprint(certificate.der) });
    const kept = await answer(issuer.issueOpaque({ cnf: { 'x5t#S256': 'other' } }, { dpopKey }));
    expect(kept.cnf).to.deep.equal({ 'x5t#S256': 'other', jkt: dpopKey.jkt });
  });

  it('lets the claims choose token_type, and leaves unbound tokens without cnf', async () => {
    expect((await answer(issuer.issueOpaque({ token_type: 'Bearer' }, { dpopKey }))).token_type).to.equal('Bearer');
    expect(await answer(issuer.issueOpaque())).not.to.have.property('cnf');
  });

  it('says what it needs when the certificate does not parse', () => {
    expect(() => issuer.issueOpaque({}, { certificate: 'not a certificate' }))
      .to.throw(TypeError, 'koa-token-guard/testing: `certificate` must be a PEM certificate or an X509Certificate.');
  });
});
