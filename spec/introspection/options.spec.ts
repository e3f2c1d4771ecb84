import { expect } from 'chai';
import { authenticate, ConfigurationError, createIntrospector, INTROSPECTION_DEFAULTS, type IntrospectorOptions } from '../../lib/index.js';

const base = { issuer: 'https://as.example.com/', audience: 'https://api.example.com' };
const build = (introspection: unknown, extra: Record<string, unknown> = {}) => () =>
  createIntrospector({ ...base, ...extra, introspection } as IntrospectorOptions);

describe('introspection/options', () => {
  it('has its defaults in one frozen object', () => {
    expect(Object.isFrozen(INTROSPECTION_DEFAULTS) && Object.isFrozen(INTROSPECTION_DEFAULTS.cache)).to.be.true;
    expect(INTROSPECTION_DEFAULTS).to.deep.include({ clientAuth: 'client_secret_basic', assertionAudience: 'issuer', tokens: 'opaque', jwtResponse: false, requireAudience: true, maxConcurrent: 32, maxQueue: 1000, maxQueuePerClient: 100 });
    expect(INTROSPECTION_DEFAULTS.cache).to.deep.equal({ max: 10_000, ttl: 60, inactiveTtl: 5 });
  });

  it('builds with a client id and secret alone', () => {
    expect(build({ clientId: 'api', clientSecret: 'secret' })).to.not.throw();
  });

  const rows: [string, unknown, Record<string, unknown>, RegExp][] = [
    ['no introspection object', 'yes', {}, /must be an object/],
    ['no client id', { clientSecret: 's' }, {}, /clientId` is required/],
    ['no client secret', { clientId: 'api' }, {}, /clientSecret` is required with `clientAuth: 'client_secret_basic'`/],
    ['an empty client secret with client_secret_post', { clientId: 'api', clientSecret: '', clientAuth: 'client_secret_post' }, {}, /clientSecret` is required/],
    ['an unknown clientAuth', { clientId: 'api', clientSecret: 's', clientAuth: 'tls_client_auth' }, {}, /clientAuth` must be one of/],
    ['private_key_jwt without a key', { clientId: 'api', clientAuth: 'private_key_jwt' }, {}, /needs `introspection.privateKey`/],
    ['private_key_jwt with a public JWK', { clientId: 'api', clientAuth: 'private_key_jwt', privateKey: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } }, {}, /needs `introspection.privateKey`/],
    ['private_key_jwt with a secret too', { clientId: 'api', clientAuth: 'private_key_jwt', clientSecret: 's', privateKey: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' } }, {}, /not used with/],
    ['an http endpoint off loopback', { clientId: 'api', clientSecret: 's', endpoint: 'http://as.example.com/introspect' }, {}, /must be an absolute https URL/],
    ['a relative endpoint', { clientId: 'api', clientSecret: 's', endpoint: '/introspect' }, {}, /must be an absolute https URL/],
    ['several issuers without an endpoint', { clientId: 'api', clientSecret: 's' }, { issuer: [base.issuer, 'https://b.example.com/'] }, /cannot be told which authorization server/],
    ['resolveIssuer without an endpoint', { clientId: 'api', clientSecret: 's' }, { issuer: undefined, resolveIssuer: () => undefined }, /cannot be told which authorization server/],
    ['jwksUri without an endpoint', { clientId: 'api', clientSecret: 's' }, { jwksUri: 'https://as.example.com/jwks' }, /no discovery document/],
    ['jwtResponse with secret', { clientId: 'api', clientSecret: 's', endpoint: 'https://as.example.com/i', jwtResponse: true }, { secret: 'x'.repeat(32) }, /cannot be combined with `secret`/],
    ['a cache ttl that is not a number', { clientId: 'api', clientSecret: 's', cache: { ttl: '60' } }, {}, /cache.ttl` must be a positive number of seconds/],
    ['a zero cache ttl', { clientId: 'api', clientSecret: 's', cache: { ttl: 0 } }, {}, /cache.ttl` must be a positive/],
    ['a negative inactiveTtl', { clientId: 'api', clientSecret: 's', cache: { inactiveTtl: -1 } }, {}, /cache.inactiveTtl` must be a non-negative/],
    ['a cache that is not an object', { clientId: 'api', clientSecret: 's', cache: true }, {}, /cache` must be `false` or an object/],
    ['a fractional maxConcurrent', { clientId: 'api', clientSecret: 's', maxConcurrent: 1.5 }, {}, /maxConcurrent` must be a whole number of at least 1/],
    ['a negative maxQueue', { clientId: 'api', clientSecret: 's', maxQueue: -1 }, {}, /maxQueue` must be a whole number of at least 0/],
    ['a fractional maxQueuePerClient', { clientId: 'api', clientSecret: 's', maxQueuePerClient: 2.5 }, {}, /maxQueuePerClient` must be a whole number of at least 0 \(default 100\)/],
    ['an unknown tokens value', { clientId: 'api', clientSecret: 's', tokens: 'jwt' }, {}, /tokens` must be 'opaque' or 'all'/],
    ['an unknown assertionAudience', { clientId: 'api', clientAuth: 'private_key_jwt', privateKey: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' }, assertionAudience: 'token_endpoint' }, {}, /assertionAudience` must be 'issuer' \(RFC 7523bis, the default\) or 'endpoint'/],
    ['assertionAudience without private_key_jwt', { clientId: 'api', clientSecret: 's', assertionAudience: 'endpoint' }, {}, /assertionAudience` is only used with `clientAuth: 'private_key_jwt'`/],
    ['jwtResponse with several issuers and no introspection.issuer', { clientId: 'api', clientSecret: 's', endpoint: 'https://as.example.com/i', jwtResponse: true }, { issuer: [base.issuer, 'https://b.example.com/'] }, /set `introspection.issuer` to the issuer identifier of the authorization server that owns `introspection.endpoint`/],
    ['jwtResponse with resolveIssuer and no introspection.issuer', { clientId: 'api', clientSecret: 's', endpoint: 'https://as.example.com/i', jwtResponse: true }, { issuer: undefined, resolveIssuer: () => undefined }, /set `introspection.issuer`/],
    ['an introspection.issuer this API does not accept', { clientId: 'api', clientSecret: 's', endpoint: 'https://as.example.com/i', issuer: 'https://c.example.com/' }, { issuer: [base.issuer, 'https://b.example.com/'] }, /must be one of the issuers this API accepts/],
    ['an introspection.issuer other than the one configured issuer', { clientId: 'api', clientSecret: 's', issuer: 'https://c.example.com/' }, {}, /differs from the one configured `issuer`.*drop `introspection.issuer`/],
    ['an introspection.issuer that is not a URL', { clientId: 'api', clientSecret: 's', endpoint: 'https://as.example.com/i', issuer: 'tenant-a' }, { issuer: undefined, resolveIssuer: () => undefined }, /`introspection.issuer` must be the issuer identifier \(an https URL\)/],
    ['a non-boolean requireAudience', { clientId: 'api', clientSecret: 's', requireAudience: 'no' }, {}, /requireAudience` must be true or false/],
  ];
  for (const [name, introspection, extra, message] of rows) {
    it(`throws a ConfigurationError saying how to fix ${name}`, () => {
      expect(build(introspection, extra)).to.throw(ConfigurationError, message);
    });
  }

  it('builds RFC 9701 with several issuers or resolveIssuer once introspection.issuer names the endpoint\'s owner', () => {
    const introspection = { clientId: 'api', clientSecret: 's', endpoint: 'https://as.example.com/i', jwtResponse: true, issuer: base.issuer };
    expect(build(introspection, { issuer: [base.issuer, 'https://b.example.com/'] })).to.not.throw();
    expect(build(introspection, { issuer: undefined, resolveIssuer: () => undefined })).to.not.throw();
  });

  it('checks the group at startup through authenticate() too', () => {
    expect(() => authenticate({ ...base, introspection: { clientId: 'api' } })).to.throw(ConfigurationError, /clientSecret/);
  });

  it('accepts http on loopback, and elsewhere with allowInsecureHttp', () => {
    expect(build({ clientId: 'api', clientSecret: 's', endpoint: 'http://127.0.0.1:9/introspect' })).to.not.throw();
    expect(build({ clientId: 'api', clientSecret: 's', endpoint: 'http://as.internal/introspect' }, { allowInsecureHttp: true })).to.not.throw();
  });
});
