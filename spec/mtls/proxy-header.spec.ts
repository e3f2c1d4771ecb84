import { expect } from 'chai';
import fc from 'fast-check';
import { certificateFromHeader, ConfigurationError, type CertificateHeaderOptions } from '../../lib/index.js';
import { certificateDer } from '../../lib/mtls/certificate.js';
import { clientCertificate, type ClientCertificate } from '../support/certificates.js';

const ctxWith = (headers: Record<string, string | string[] | undefined>): { req: { headers: typeof headers } } => ({ req: { headers } });

/** The DER the helper read from these headers, or undefined. */
function read(options: CertificateHeaderOptions, headers: Record<string, string | string[] | undefined>): Buffer | undefined {
  const der = certificateDer(certificateFromHeader(options)(ctxWith(headers)));
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

    it('reads the structured-field byte sequence of the DER (RFC 9440 2.2), header name in any case', () => {
      expect(read(options, { 'client-cert': `:${certificate.der.toString('base64')}:` })).to.deep.equal(certificate.der);
      expect(read(options, { 'client-cert': ` :${certificate.der.toString('base64')}: ` })).to.deep.equal(certificate.der);
    });

    it('finds no certificate in a missing, empty, repeated or malformed header, never throwing', () => {
      const b64 = certificate.der.toString('base64');
      for (const value of [undefined, '', '::', b64, `:${b64}`, `${b64}:`, `:${b64}:, :${b64}:`, [`:${b64}:`, `:${b64}:`],
        `:${certificate.der.toString('base64url')}:`, `:${b64}:;x=1`, `:${Buffer.from('garbage').toString('base64')}:`,
        `:${certificate.der.subarray(0, 100).toString('base64')}:`, `:${Buffer.from(certificate.pem).toString('base64')}:`, nginxEscape(certificate.pem)]) {
        expect(read(options, { 'client-cert': value }), String(value).slice(0, 20)).to.equal(undefined);
      }
    });
  });

  describe("format 'nginx'", () => {
    const options = { header: 'x-ssl-client-cert', format: 'nginx' } as const;

    it('reads the URL-encoded PEM of $ssl_client_escaped_cert', () => {
      expect(read(options, { 'x-ssl-client-cert': nginxEscape(certificate.pem) })).to.deep.equal(certificate.der);
    });

    it('reads PEM with only some characters escaped (+ = / left as they are)', () => {
      const alb = certificate.pem.replaceAll('\n', '%0A').replaceAll(' ', '%20');
      expect(read(options, { 'x-ssl-client-cert': alb })).to.deep.equal(certificate.der);
    });

    it('finds no certificate in a missing, empty or malformed header, never throwing', () => {
      for (const value of [undefined, '', '%', '%E0%A4%A', nginxEscape('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
        `x${nginxEscape(certificate.pem)}`, `${nginxEscape(certificate.pem)}, ${nginxEscape(certificate.pem)}`, `${nginxEscape(certificate.pem)}, x`,
        nginxEscape(certificate.pem.slice(0, 300)), `:${certificate.der.toString('base64')}:`, [nginxEscape(certificate.pem), nginxEscape(certificate.pem)]]) {
        expect(read(options, { 'x-ssl-client-cert': value }), String(value).slice(0, 20)).to.equal(undefined);
      }
    });
  });

  it('never throws on random or mutated header values: each is a certificate or none (fast-check)', () => {
    const valid = [`:${certificate.der.toString('base64')}:`, nginxEscape(certificate.pem)];
    const mutated = fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.string({ maxLength: 3 }), fc.nat({ max: 3 }))
      .map(([value, at, insert, cut]) => value.slice(0, at % value.length) + insert + value.slice((at % value.length) + cut));
    const readers = [certificateFromHeader({ header: 'h', format: 'rfc9440' }), certificateFromHeader({ header: 'h', format: 'nginx' })];
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), mutated), (value) => {
      for (const getCertificate of readers) {
        const certificate = getCertificate(ctxWith({ h: value }));
        expect(certificate === undefined || Buffer.from(certificateDer(certificate)!).length > 0).to.equal(true);
      }
    }), { numRuns: 1000, seed: 20_261_201 });
  });

  it('parses a header value once: the same certificate comes back for the same value', () => {
    for (const [format, value] of [['rfc9440', `:${certificate.der.toString('base64')}:`], ['nginx', nginxEscape(certificate.pem)]] as const) {
      const getCertificate = certificateFromHeader({ header: 'h', format });
      const first = getCertificate(ctxWith({ h: value }));
      expect(first).not.to.equal(undefined);
      expect(getCertificate(ctxWith({ h: value }))).to.equal(first);
    }
  });

  it('reads only its own header', () => {
    expect(read({ header: 'client-cert', format: 'rfc9440' }, { 'x-client-cert': `:${certificate.der.toString('base64')}:` })).to.equal(undefined);
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
