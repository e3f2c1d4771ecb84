import { expect } from 'chai';
import { ConfigurationError, MTLS_DEFAULTS } from '../../lib/index.js';
import { peerCertificate } from '../../lib/mtls/certificate.js';
import { resolveMtlsOptions } from '../../lib/mtls/options.js';

function configError(mtls: unknown): string {
  try {
    resolveMtlsOptions(mtls as never);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigurationError);
    return (error as ConfigurationError).message;
  }
  throw new Error('expected a ConfigurationError');
}

describe('mtls/options', () => {
  it('is off (undefined) when not configured', () => {
    expect(resolveMtlsOptions(undefined)).to.equal(undefined);
  });

  it('defaults to optional binding and the TLS peer certificate, frozen', () => {
    const resolved = resolveMtlsOptions({});
    expect(resolved).to.deep.equal({ required: false, getCertificate: peerCertificate });
    expect(Object.isFrozen(resolved)).to.equal(true);
    expect(Object.isFrozen(MTLS_DEFAULTS)).to.equal(true);
    expect(MTLS_DEFAULTS).to.deep.equal({ required: false, getCertificate: peerCertificate });
  });

  it('keeps what is given', () => {
    const getCertificate = (): undefined => undefined;
    expect(resolveMtlsOptions({ required: true, getCertificate })).to.deep.equal({ required: true, getCertificate });
  });

  it('throws at startup, saying how to fix it, for a value that is not an object', () => {
    for (const mtls of [null, true, 'yes']) expect(configError(mtls)).to.match(/`mtls` must be an object, e\.g\. `mtls: \{\}`/);
  });

  it('throws for a required that is not a boolean', () => {
    expect(configError({ required: 'true' })).to.match(/`mtls\.required` must be true or false \(default false\); got "true"/);
  });

  it('throws for a getCertificate that is not a function', () => {
    expect(configError({ getCertificate: 'client-cert' })).to.match(/`mtls\.getCertificate` must be a function.*certificateFromHeader/);
  });
});
