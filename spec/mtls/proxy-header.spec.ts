import { expect } from 'chai';
import { certificateFromHeader, ConfigurationError, type CertificateHeaderOptions } from '../../lib/index.js';
import { certificateDer } from '../../lib/mtls/certificate.js';
import { clientCertificate, type ClientCertificate } from '../support/certificates.js';

const ctxWith = (headers: Record<string, string | string[] | undefined>): { req: { headers: typeof headers } } => ({ req: { headers } });

/** The DER the helper read from these headers, or undefined. */
async function read(options: CertificateHeaderOptions, headers: Record<string, string | string[] | undefined>): Promise<Buffer | undefined> {
  const der = certificateDer(await certificateFromHeader(options)(ctxWith(headers)));
  return der === undefined ? undefined : Buffer.from(der);
}

/** nginx's $ssl_client_escaped_cert: the PEM with every reserved character %-escaped. */
const nginxEscape = (pem: string): string => encodeURIComponent(pem);

describe('mtls/proxy-header: certificateFromHeader()', () => {
  let certificate: ClientCertificate;
  before(async () => {
    certificate = await clientCertificate();
  });

  describe("format 'rfc9440'", () => {
    const options = { header: 'Client-Cert', format: 'rfc9440' } as const;

    it('reads the structured-field byte sequence of the DER (RFC 9440 2.2), header name in any case', async () => {
      expect(await read(options, { 'client-cert': `:${certificate.der.toString('base64')}:` })).to.deep.equal(certificate.der);
      expect(await read(options, { 'client-cert': ` :${certificate.der.toString('base64')}: ` })).to.deep.equal(certificate.der);
    });

    it('finds no certificate in a missing, empty, repeated or malformed header, never throwing', async () => {
      const b64 = certificate.der.toString('base64');
      for (const value of [undefined, '', '::', b64, `:${b64}`, `${b64}:`, `:${b64}:, :${b64}:`, [`:${b64}:`, `:${b64}:`],
        `:${certificate.der.toString('base64url')}:`, `:${b64}:;x=1`, `:${Buffer.from('garbage').toString('base64')}:`,
        `:${certificate.der.subarray(0, 100).toString('base64')}:`, `:${Buffer.from(certificate.pem).toString('base64')}:`, nginxEscape(certificate.pem)]) {
        expect(await read(options, { 'client-cert': value }), String(value).slice(0, 20)).to.equal(undefined);
      }
    });
  });

  describe("format 'nginx'", () => {
    const options = { header: 'x-ssl-client-cert', format: 'nginx' } as const;

    it('reads the URL-encoded PEM of $ssl_client_escaped_cert', async () => {
      expect(await read(options, { 'x-ssl-client-cert': nginxEscape(certificate.pem) })).to.deep.equal(certificate.der);
    });

    it('reads PEM with only some characters escaped (+ = / left as they are)', async () => {
      const alb = certificate.pem.replaceAll('\n', '%0A').replaceAll(' ', '%20');
      expect(await read(options, { 'x-ssl-client-cert': alb })).to.deep.equal(certificate.der);
    });

    it('finds no certificate in a missing, empty or malformed header, never throwing', async () => {
      for (const value of [undefined, '', '%', '%E0%A4%A', nginxEscape('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
        `x${nginxEscape(certificate.pem)}`, `${nginxEscape(certificate.pem)}, ${nginxEscape(certificate.pem)}`, `${nginxEscape(certificate.pem)}, x`,
        nginxEscape(certificate.pem.slice(0, 300)), `:${certificate.der.toString('base64')}:`, [nginxEscape(certificate.pem), nginxEscape(certificate.pem)]]) {
        expect(await read(options, { 'x-ssl-client-cert': value }), String(value).slice(0, 20)).to.equal(undefined);
      }
    });
  });

  it('reads only its own header', async () => {
    expect(await read({ header: 'client-cert', format: 'rfc9440' }, { 'x-client-cert': `:${certificate.der.toString('base64')}:` })).to.equal(undefined);
  });

  it('throws a ConfigurationError at startup for a bad header name or format', () => {
    for (const [options, message] of [
      [undefined, /needs options, e\.g\. \{ header: 'client-cert', format: 'rfc9440' \}/],
      [{ header: 'client cert', format: 'rfc9440' }, /`header` must be a header name, e\.g\. 'client-cert'; got "client cert"/],
      [{ header: '', format: 'nginx' }, /`header` must be a header name/],
      [{ header: 'client-cert', format: 'pem' }, /`format` must be 'rfc9440' .* or 'nginx' .*; got "pem"/],
    ] as const) {
      expect(() => certificateFromHeader(options as never)).to.throw(ConfigurationError, message);
    }
  });
});
