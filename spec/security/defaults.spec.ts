import { expect } from 'chai';
import { SignJWT } from 'jose';
import nock from 'nock';
import { ConfigurationError, createVerifier, DEFAULTS, InvalidTokenError, KeySourceUnavailableError } from '../../lib/index.js';
import { signingKey, uniqueIssuer } from '../support/provider.js';

describe('security: fail-safe defaults (RFC 8725 3.8, 3.10)', () => {
  const audience = 'https://api.example.com';

  describe('clockTolerance is bounded', () => {
    it('defaults to 5 s and accepts up to 300 s', () => {
      expect(DEFAULTS.clockTolerance).to.equal(5);
      expect(() => createVerifier({ issuer: 'https://idp.example.com/', audience, clockTolerance: 300 })).not.to.throw();
    });

    it('throws a ConfigurationError at startup for more than 300 s, naming the option that forces it', () => {
      expect(() => createVerifier({ issuer: 'https://idp.example.com/', audience, clockTolerance: 301 }))
        .to.throw(ConfigurationError, /`clockTolerance` of 301 s exceeds 300 s.*`allowLargeClockTolerance: true`/);
      expect(() => createVerifier({ issuer: 'https://idp.example.com/', audience, clockTolerance: 3600, allowLargeClockTolerance: true })).not.to.throw();
    });
  });

  describe('plain http to the provider only on loopback (RFC 8725 3.10: keys are what signatures trust)', () => {
    for (const issuer of ['http://idp.example.com/', 'http://10.0.0.8/realms/main', 'http://128.0.0.1/', 'http://localhost.example.com/', 'http://[::2]/']) {
      it(`throws a ConfigurationError for the issuer ${issuer}`, () => {
        expect(() => createVerifier({ issuer, audience })).to.throw(ConfigurationError, /must be an https URL \(http only on loopback, or with `allowInsecureHttp: true`/);
      });
    }

    it('throws a ConfigurationError for an http jwksUri off loopback', () => {
      expect(() => createVerifier({ issuer: 'https://idp.example.com/', audience, jwksUri: 'http://idp.example.com/jwks' }))
        .to.throw(ConfigurationError, /`jwksUri` must be an https URL/);
    });

    for (const issuer of ['http://127.0.0.1:4000/', 'http://127.8.9.10/', 'http://localhost:3000/', 'http://[::1]:8080/']) {
      it(`accepts the loopback issuer ${issuer} for development`, () => {
        expect(() => createVerifier({ issuer, audience, jwksUri: `${issuer}jwks` })).not.to.throw();
      });
    }

    it('never fetches keys from an http jwks_uri that an https issuer\'s metadata names (OIDC Discovery 3): 503, no JWKS request', async () => {
      const issuer = uniqueIssuer();
      const jwksHost = new URL(issuer).host;
      let jwksRequests = 0;
      nock(issuer).get('/.well-known/openid-configuration').reply(200, { issuer, jwks_uri: `http://${jwksHost}/jwks` });
      nock(`http://${jwksHost}`).get('/jwks').reply(() => {
        jwksRequests++;
        return [200, { keys: [] }];
      });
      const key = await signingKey('ES256');
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ iss: issuer, aud: audience, exp: now + 60 }).setProtectedHeader({ alg: 'ES256', kid: key.kid }).sign(key.privateKey);
      const error = await createVerifier({ issuer, audience })(token).then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(KeySourceUnavailableError);
      expect(jwksRequests).to.equal(0);
      nock.cleanAll();
    });

    it('accepts any http issuer and jwksUri with allowInsecureHttp: true', () => {
      expect(() => createVerifier({ issuer: 'http://idp.internal/', audience, jwksUri: 'http://idp.internal/jwks', allowInsecureHttp: true })).not.to.throw();
    });
  });

  describe('issuer is compared exactly (no normalisation)', () => {
    const secret = 'k'.repeat(32);
    const mint = (iss: string) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss, aud: audience, exp: now + 60 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
    };

    it('refuses a trailing slash, another case, a default port or a path difference with "token issuer not accepted"', async () => {
      const verify = createVerifier({ issuer: 'https://idp.example.com/tenant', audience, secret });
      await verify(await mint('https://idp.example.com/tenant'));
      for (const iss of ['https://idp.example.com/tenant/', 'https://IDP.example.com/tenant', 'https://idp.example.com:443/tenant', 'https://idp.example.com/Tenant', 'https://idp.example.com/tenant ']) {
        const error = await verify(await mint(iss)).then(() => undefined, (e: unknown) => e);
        expect(error, iss).to.be.instanceOf(InvalidTokenError);
        expect((error as InvalidTokenError).message, iss).to.equal('token issuer not accepted');
      }
    });
  });

  it('always requires exp, even with requiredClaims: []', async () => {
    const secret = new TextEncoder().encode('k'.repeat(32));
    const verify = createVerifier({ issuer: 'https://idp.example.com/', audience, secret, requiredClaims: [] });
    const token = await new SignJWT({ iss: 'https://idp.example.com/', aud: audience }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    const error = await verify(token).then(() => undefined, (e: unknown) => e);
    expect((error as InvalidTokenError).message).to.equal('missing required claim');
  });
});
