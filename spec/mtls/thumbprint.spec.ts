import { expect } from 'chai';
import { certificateThumbprint } from '../../lib/index.js';
import { clientCertificate } from '../support/certificates.js';

describe('mtls/thumbprint', () => {
  it('is base64url of the SHA-256 of the DER, as Node fingerprints the same certificate (RFC 8705 3.1)', async () => {
    const certificate = await clientCertificate();
    const fingerprint = Buffer.from(certificate.x509.fingerprint256.replaceAll(':', ''), 'hex').toString('base64url');
    expect(certificateThumbprint(certificate.der)).to.equal(fingerprint);
  });

  it('has no padding, line breaks or other characters: 43 base64url characters', async () => {
    expect(certificateThumbprint((await clientCertificate()).der)).to.match(/^[A-Za-z0-9_-]{43}$/);
  });

  it('differs between two certificates', async () => {
    const [a, b] = await Promise.all([clientCertificate('a'), clientCertificate('b')]);
    expect(certificateThumbprint(a.der)).not.to.equal(certificateThumbprint(b.der));
  });
});
