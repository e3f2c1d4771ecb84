import { expect } from 'chai';
import { certificateThumbprint, checkCertificateBinding, InvalidTokenError } from '../../lib/index.js';
import { clientCertificate, type ClientCertificate } from '../support/certificates.js';
import { rejection } from '../support/rejection.js';

const configured = { required: false };
const required = { required: true };

async function refusal(promise: Promise<unknown>): Promise<{ code: string; description: string }> {
  const error = await rejection(promise);
  expect(error).to.be.instanceOf(InvalidTokenError);
  expect(error.status).to.equal(401);
  return { code: error.code, description: error.description };
}

describe('mtls/binding', () => {
  let a: ClientCertificate;
  let b: ClientCertificate;
  let boundToA: object;
  before(async () => {
    [a, b] = await Promise.all([clientCertificate('a'), clientCertificate('b')]);
    boundToA = { cnf: { 'x5t#S256': certificateThumbprint(a.der) } };
  });

  it('accepts a bound token with its certificate and yields the verified thumbprint', async () => {
    expect(await checkCertificateBinding(boundToA, configured, () => a.pem)).to.equal(certificateThumbprint(a.der));
    expect(await checkCertificateBinding(boundToA, required, () => Promise.resolve(a.x509))).to.equal(certificateThumbprint(a.der));
  });

  it('refuses a bound token with another certificate (RFC 8705 3)', async () => {
    expect(await refusal(checkCertificateBinding(boundToA, configured, () => b.pem)))
      .to.deep.equal({ code: 'certificate_mismatch', description: 'client certificate does not match the token' });
  });

  it('refuses a bound token without a certificate, or with one that does not parse', async () => {
    for (const value of [undefined, null, '', 'garbage', Buffer.from('garbage')]) {
      expect(await refusal(checkCertificateBinding(boundToA, configured, () => value)))
        .to.deep.equal({ code: 'certificate_missing', description: 'client certificate required' });
    }
  });

  it('refuses a bound token when mTLS is not configured: the binding cannot be checked', async () => {
    let read = 0;
    expect(await refusal(checkCertificateBinding(boundToA, undefined, () => (read++, a.pem))))
      .to.deep.equal({ code: 'token_certificate_bound', description: 'token bound to a client certificate not accepted here' });
    expect(read).to.equal(0);
  });

  it('refuses an unbound token when required, and lets it pass otherwise without reading the certificate', async () => {
    let read = 0;
    const readCertificate = (): string => (read++, a.pem);
    for (const claims of [{}, { cnf: { jkt: 'a-dpop-key-thumbprint' } }]) {
      expect(await refusal(checkCertificateBinding(claims, required, readCertificate)))
        .to.deep.equal({ code: 'token_not_certificate_bound', description: 'token not bound to a client certificate' });
      expect(await checkCertificateBinding(claims, configured, readCertificate)).to.equal(undefined);
      expect(await checkCertificateBinding(claims, undefined, readCertificate)).to.equal(undefined);
    }
    expect(read).to.equal(0);
  });

  it('checks the certificate of a token bound both ways (cnf.jkt beside x5t#S256)', async () => {
    const both = { cnf: { jkt: 'a-dpop-key-thumbprint', 'x5t#S256': certificateThumbprint(a.der) } };
    expect(await checkCertificateBinding(both, configured, () => a.pem)).to.equal(certificateThumbprint(a.der));
    expect((await refusal(checkCertificateBinding(both, configured, () => b.pem))).code).to.equal('certificate_mismatch');
  });

  it('refuses a cnf or thumbprint of the wrong type, whatever certificate comes', async () => {
    for (const cnf of [null, 'x', [], { 'x5t#S256': 1 }, { 'x5t#S256': '' }, { 'x5t#S256': null }]) {
      expect(await refusal(checkCertificateBinding({ cnf }, configured, () => a.pem)))
        .to.deep.equal({ code: 'claim_invalid', description: 'invalid claim' });
    }
  });

  it('compares the thumbprint exactly: padding, case or the hex fingerprint do not match', async () => {
    const thumbprint = certificateThumbprint(a.der);
    const variants = [`${thumbprint}=`, thumbprint.toUpperCase(), thumbprint.slice(0, -1), a.x509.fingerprint256,
      Buffer.from(thumbprint, 'base64url').toString('base64')];
    for (const value of variants.filter((v) => v !== thumbprint)) {
      expect((await refusal(checkCertificateBinding({ cnf: { 'x5t#S256': value } }, configured, () => a.pem))).code).to.equal('certificate_mismatch');
    }
  });

  it('never reads an inherited x5t#S256', async () => {
    const cnf = Object.create({ 'x5t#S256': certificateThumbprint(a.der) }) as object;
    expect(await checkCertificateBinding({ cnf }, configured, () => b.pem)).to.equal(undefined);
  });
});
