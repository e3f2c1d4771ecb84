import { expect } from 'chai';
import { authenticate, ConfigurationError, createVerifier, type AuthenticateOptions } from '../../lib/index.js';

const base = { issuer: 'https://tenant.example.com/', audience: 'https://api.example.com' };

function configError(options: unknown): ConfigurationError {
  try {
    authenticate(options as AuthenticateOptions);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('core/options', () => {
  it('throws at startup, saying how to fix it, when issuer is missing', () => {
    expect(configError({ audience: 'x' }).message).to.match(/`issuer` is required.*e\.g\. 'https:\/\/tenant\.example\.com\/'/);
  });

  it('throws when there are no options at all', () => {
    expect(configError(undefined).message).to.match(/options are required/);
  });

  it('throws for an empty audience', () => {
    for (const audience of [undefined, '', []]) {
      expect(configError({ ...base, audience }).message).to.match(/`audience` is required and must not be empty/);
    }
  });

  it('throws for an issuer that is not an absolute http(s) URL without a secret', () => {
    expect(configError({ ...base, issuer: 'tenant.example.com' }).message).to.match(/absolute URL/);
    expect(configError({ ...base, issuer: 'ftp://tenant.example.com/' }).message).to.match(/https URL/);
  });

  it('throws for an audienceClaim that is not a claim name', () => {
    for (const audienceClaim of ['', 42]) {
      expect(configError({ ...base, audienceClaim }).message).to.match(/`audienceClaim` must be a claim name, e\.g\. 'client_id'/);
    }
  });

  it('never allows "none", in any spelling', () => {
    for (const none of ['none', 'NONE', 'None']) {
      expect(configError({ ...base, algorithms: ['RS256', none] }).message).to.match(/must not contain "none"/);
    }
  });

  it('never allows HS* with a key set (RFC 8725 3.1)', () => {
    expect(configError({ ...base, algorithms: ['HS256'] }).message).to.match(/never allowed with a key set/);
  });

  it('allows only HS* with a secret, and a secret of at least 32 bytes', () => {
    const secret = 'x'.repeat(32);
    expect(configError({ ...base, secret, algorithms: ['RS256'] }).message).to.match(/only HS256, HS384, HS512/);
    expect(configError({ ...base, secret: 'short' }).message).to.match(/at least 32 bytes/);
    expect(configError({ ...base, secret, jwksUri: 'https://tenant.example.com/jwks' }).message).to.match(/exclusive/);
    expect(() => createVerifier({ ...base, secret })).not.to.throw();
  });

  it('throws for an unsupported algorithm and for an empty list', () => {
    expect(configError({ ...base, algorithms: ['ES256K'] }).message).to.match(/unsupported "ES256K"; choose from RS256/);
    expect(configError({ ...base, algorithms: [] }).message).to.match(/must not be empty/);
  });

  it('throws for negative or non-numeric durations', () => {
    expect(configError({ ...base, clockTolerance: -1 }).message).to.match(/`clockTolerance` must be a non-negative number of seconds \(default 5\)/);
    expect(configError({ ...base, fetchTimeout: 0 }).message).to.match(/`fetchTimeout` must be a positive number/);
    expect(configError({ ...base, cooldown: Number.NaN }).message).to.match(/`cooldown`/);
  });

  it('throws for a realm RFC 6750 cannot quote, an unknown typ mode and bad scopeClaims', () => {
    expect(configError({ ...base, realm: 'a"b' }).message).to.match(/`realm`/);
    expect(configError({ ...base, typ: 'JWT' }).message).to.match(/`typ` must be 'lenient' or 'strict'/);
    expect(configError({ ...base, scopeClaims: [''] }).message).to.match(/`scopeClaims`/);
  });

  it('prefixes every message with the package name', () => {
    expect(configError({}).message).to.match(/^koa-token-guard: /);
  });
});
