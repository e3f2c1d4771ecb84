import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { certificateThumbprint } from '../../lib/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { clientCertificate, type ClientCertificate } from '../support/certificates.js';

describe('testing: sign(claims, { certificate }) binds a token to a client certificate (RFC 8705)', () => {
  let issuer: TestIssuer;
  let certificate: ClientCertificate;
  before(async () => {
    [issuer, certificate] = await Promise.all([createTestIssuer({ audience: 'https://api.example.com' }), clientCertificate()]);
  });
  after(async () => issuer.close());

  it('adds cnf["x5t#S256"], the thumbprint of a PEM or X509Certificate', async () => {
    for (const value of [certificate.pem, certificate.x509]) {
      expect(decodeJwt(await issuer.sign({}, { certificate: value })).cnf).to.deep.equal({ 'x5t#S256': certificateThumbprint(certificate.der) });
    }
  });

  it('keeps the other cnf members of the claims (a token bound both ways)', async () => {
    const token = await issuer.sign({ cnf: { jkt: 'key-thumbprint' } }, { certificate: certificate.pem });
    expect(decodeJwt(token).cnf).to.deep.equal({ jkt: 'key-thumbprint', 'x5t#S256': certificateThumbprint(certificate.der) });
  });

  it('leaves unbound tokens without cnf', async () => {
    expect(decodeJwt(await issuer.sign()).cnf).to.equal(undefined);
  });

  it('says what it needs when the certificate does not parse', async () => {
    try {
      await issuer.sign({}, { certificate: 'not a certificate' });
    } catch (error) {
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.equal('koa-token-guard/testing: `certificate` must be a PEM certificate or an X509Certificate.');
      return;
    }
    throw new Error('expected a TypeError');
  });
});
