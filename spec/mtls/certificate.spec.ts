import { expect } from 'chai';
import { certificateDer, peerCertificate } from '../../lib/mtls/certificate.js';
import { clientCertificate, type ClientCertificate } from '../support/certificates.js';

describe('mtls/certificate', () => {
  let certificate: ClientCertificate;
  before(async () => {
    certificate = await clientCertificate();
  });

  it('takes the DER of an X509Certificate, a PEM string or DER bytes alike', () => {
    for (const value of [certificate.x509, certificate.pem, certificate.der, new Uint8Array(certificate.der)]) {
      expect(Buffer.from(certificateDer(value)!).equals(certificate.der)).to.equal(true);
    }
  });

  it('takes the first certificate, the leaf, of a PEM chain', async () => {
    const issuer = await clientCertificate('issuer');
    expect(Buffer.from(certificateDer(certificate.pem + issuer.pem)!).equals(certificate.der)).to.equal(true);
  });

  it('treats nothing, empty and unparsable values as no certificate, never throwing', () => {
    const garbage = [undefined, null, '', 'not a certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      new Uint8Array(0), Buffer.from('garbage'), certificate.der.subarray(0, 40), certificate.pem.slice(0, 200)];
    for (const value of garbage) expect(certificateDer(value)).to.equal(undefined);
  });

  it('throws a TypeError for a value getCertificate must never return (a programming error)', () => {
    expect(() => certificateDer(42 as never)).to.throw(TypeError, /mtls\.getCertificate must return/);
  });

  it('reads the TLS peer certificate from the socket, and none from a plain or absent socket', () => {
    const tls = { getPeerX509Certificate: () => certificate.x509 };
    expect(peerCertificate({ req: { socket: tls } })).to.equal(certificate.x509);
    expect(peerCertificate({ req: { socket: { getPeerX509Certificate: () => undefined } } })).to.equal(undefined);
    expect(peerCertificate({ req: { socket: {} } })).to.equal(undefined);
    expect(peerCertificate({ req: { socket: null } })).to.equal(undefined);
  });
});
