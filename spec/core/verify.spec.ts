import { expect } from 'chai';
import { install } from '@sinonjs/fake-timers';
import { SignJWT } from 'jose';
import nock from 'nock';
import { createVerifier, InvalidTokenError, type VerifyOptions } from '../../lib/index.js';
import { fakeProvider, signingKey, type Alg, type FakeProvider } from '../support/provider.js';
import { rejection } from '../support/rejection.js';

describe('core/verify', () => {
  let provider: FakeProvider;
  const verifierFor = (extra: Partial<VerifyOptions> = {}) =>
    createVerifier({ issuer: provider.issuer, audience: provider.audience, ...extra });

  after(() => nock.cleanAll());

  for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA'] as Alg[]) {
    it(`verifies a ${alg} token found through discovery and returns claims, header and scopes`, async () => {
      provider = await fakeProvider({ algs: [alg] });
      const token = await provider.sign({ scope: 'read:messages write:messages' });
      const verified = await verifierFor()(token);
      expect(verified.claims.sub).to.equal('user-1');
      expect(verified.header.alg).to.equal(alg);
      expect([...verified.scopes]).to.deep.equal(['read:messages', 'write:messages']);
      expect(verified.token).to.equal(token);
    });
  }

  describe('typ', () => {
    beforeEach(async () => {
      provider = await fakeProvider();
    });

    for (const typ of ['JWT', 'at+jwt', 'application/at+jwt', 'AT+JWT', undefined]) {
      it(`accepts typ ${String(typ)} by default`, async () => {
        const token = await provider.sign({}, { header: { typ } });
        await verifierFor()(token);
      });
    }

    it('refuses another typ (an ID token or logout token passed off as an access token)', async () => {
      for (const typ of ['logout+jwt', 'id_token+jwt', 'secevent+jwt']) {
        const error = await rejection(verifierFor()(await provider.sign({}, { header: { typ } })));
        expect([error.status, error.code]).to.deep.equal([401, 'typ_invalid']);
      }
    });

    it('in strict RFC 9068 mode refuses typ JWT and a missing typ', async () => {
      const verify = verifierFor({ typ: 'strict' });
      const claims = { client_id: 'c', jti: 'j' };
      await verify(await provider.sign(claims, { header: { typ: 'application/at+jwt' } }));
      for (const typ of ['JWT', undefined]) {
        const error = await rejection(verify(await provider.sign(claims, { header: { typ } })));
        expect(error.code).to.equal('typ_invalid');
      }
    });

    it('in strict RFC 9068 mode requires client_id, jti, sub and iat', async () => {
      const verify = verifierFor({ typ: 'strict' });
      for (const missing of ['client_id', 'jti', 'sub', 'iat']) {
        const claims: Record<string, unknown> = { client_id: 'c', jti: 'j', [missing]: undefined };
        const error = await rejection(verify(await provider.sign(claims)));
        expect([error.code, error.message], missing).to.deep.equal(['claim_missing', 'missing required claim']);
      }
    });
  });

  describe('audience and issuer', () => {
    beforeEach(async () => {
      provider = await fakeProvider();
    });

    it('accepts aud as a string and as an array containing one configured audience', async () => {
      const verify = verifierFor({ audience: ['https://other.example.com', provider.audience] });
      await verify(await provider.sign({ aud: provider.audience }));
      await verify(await provider.sign({ aud: ['https://x.example.com', provider.audience] }));
    });

    it('refuses a token for another audience', async () => {
      const error = await rejection(verifierFor()(await provider.sign({ aud: ['https://x.example.com'] })));
      expect([error.status, error.code, error.message]).to.deep.equal([401, 'audience_invalid', 'token audience not accepted']);
    });

    it('compares iss exactly: a trailing slash difference is another issuer', async () => {
      const error = await rejection(verifierFor()(await provider.sign({ iss: provider.issuer.replace(/\/$/, '') })));
      expect(error.code).to.equal('issuer_invalid');
    });

    it('requires exp', async () => {
      const error = await rejection(verifierFor()(await provider.sign({ exp: undefined })));
      expect([error.code, error.message]).to.deep.equal(['claim_missing', 'missing required claim']);
    });

    it('requires the configured requiredClaims', async () => {
      const error = await rejection(verifierFor({ requiredClaims: ['tenant'] })(await provider.sign()));
      expect(error.code).to.equal('claim_missing');
    });
  });

  describe('clock tolerance at its edges', () => {
    let clock: ReturnType<typeof install>;
    const now = 1_900_000_000;
    beforeEach(async () => {
      provider = await fakeProvider();
      clock = install({ now: now * 1000, toFake: ['Date'] });
    });
    afterEach(() => clock.uninstall());

    it('accepts exp 4 s in the past and refuses it 5 s in the past with the default 5 s tolerance', async () => {
      await verifierFor()(await provider.sign({ iat: now - 60, exp: now - 4 }));
      const error = await rejection(verifierFor()(await provider.sign({ iat: now - 60, exp: now - 5 })));
      expect([error.code, error.message]).to.deep.equal(['token_expired', 'token expired']);
    });

    it('accepts nbf 5 s in the future and refuses it 6 s in the future', async () => {
      await verifierFor()(await provider.sign({ nbf: now + 5 }));
      const error = await rejection(verifierFor()(await provider.sign({ nbf: now + 6 })));
      expect([error.code, error.message]).to.deep.equal(['token_not_yet_valid', 'token not yet valid']);
    });

    it('honours a configured tolerance of 0', async () => {
      const error = await rejection(verifierFor({ clockTolerance: 0 })(await provider.sign({ exp: now })));
      expect(error.code).to.equal('token_expired');
      await verifierFor({ clockTolerance: 0 })(await provider.sign({ exp: now + 1 }));
    });

    it('refuses iat beyond the tolerance in the future', async () => {
      await verifierFor()(await provider.sign({ iat: now + 5 }));
      const error = await rejection(verifierFor()(await provider.sign({ iat: now + 6 })));
      expect([error.code, error.message]).to.deep.equal(['claim_invalid', 'token issued in the future']);
    });

    it('refuses a token older than maxTokenAge and requires iat with it', async () => {
      const verify = verifierFor({ maxTokenAge: 60 });
      await verify(await provider.sign({ iat: now - 65 }));
      expect((await rejection(verify(await provider.sign({ iat: now - 66 })))).code).to.equal('token_too_old');
      expect((await rejection(verify(await provider.sign({ iat: undefined })))).code).to.equal('claim_missing');
    });
  });

  describe('refusals', () => {
    beforeEach(async () => {
      provider = await fakeProvider({ algs: ['ES256', 'RS256'] });
    });

    it('refuses a bad signature', async () => {
      const token = await provider.sign();
      const [h, p] = token.split('.');
      const other = (await provider.sign({ sub: 'someone-else' })).split('.')[2];
      const error = await rejection(verifierFor()(`${h}.${p}.${other}`));
      expect([error.status, error.code, error.message]).to.deep.equal([401, 'signature_invalid', 'invalid signature']);
    });

    it('refuses an algorithm outside the allow-list before looking for a key', async () => {
      const error = await rejection(verifierFor({ algorithms: ['ES256'] })(await provider.sign({}, { key: provider.keys[1] })));
      expect([error.code, error.message]).to.deep.equal(['alg_not_allowed', 'signing algorithm not allowed']);
      expect(provider.jwksCount()).to.equal(0);
    });

    it('refuses a token that is not a JWT', async () => {
      for (const token of ['not-a-jwt', 'a.b', 'a.b.c', '....']) {
        const error = await rejection(verifierFor()(token));
        expect([error.status, error.code], token).to.deep.equal([401, 'token_malformed']);
      }
    });

    it('refuses a token over maxTokenLength before any parsing', async () => {
      const error = await rejection(verifierFor({ maxTokenLength: 100 })('x'.repeat(101)));
      expect([error.code, error.message]).to.deep.equal(['token_too_large', 'token too large']);
      expect(provider.discoveryCount()).to.equal(0);
    });

    it('refuses an unknown kid with invalid_token', async () => {
      const stranger = await signingKey('ES256', 'stranger');
      const error = await rejection(verifierFor()(await provider.sign({}, { key: stranger })));
      expect([error.status, error.code, error.message]).to.deep.equal([401, 'kid_unknown', 'signing key not found']);
    });

    it('refuses a wrong-typed scope claim instead of reading it as no scopes', async () => {
      const error = await rejection(verifierFor()(await provider.sign({ scope: ['read:messages'] })));
      expect([error.code, error.message]).to.deep.equal(['scope_claim_invalid', 'invalid scope claim']);
    });

    it('never copies claim values into the error message', async () => {
      const error = await rejection(verifierFor()(await provider.sign({ aud: 'https://secret-audience.example.com' })));
      expect(error.message).not.to.include('secret-audience');
      expect(error.headers['WWW-Authenticate']).not.to.include('secret-audience');
    });
  });

  describe('HMAC secret', () => {
    const secret = 'a-test-secret-that-is-at-least-32-bytes-long';
    const issuer = 'https://hmac-issuer.example.com/';

    it('verifies an HS256 token and never fetches keys', async () => {
      const token = await new SignJWT({ iss: issuer, aud: 'api', exp: Math.floor(Date.now() / 1000) + 60 })
        .setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
      const verified = await createVerifier({ issuer, audience: 'api', secret })(token);
      expect(verified.claims.iss).to.equal(issuer);
    });

    it('refuses an asymmetric token when configured with a secret', async () => {
      provider = await fakeProvider();
      const error = await rejection(createVerifier({ issuer: provider.issuer, audience: provider.audience, secret })(await provider.sign()));
      expect(error.code).to.equal('alg_not_allowed');
    });
  });

  it('reports errors as InvalidTokenError instances with a cause for logging', async () => {
    provider = await fakeProvider();
    const error = await rejection(verifierFor()(await provider.sign({ exp: 1 })));
    expect(error).to.be.instanceOf(InvalidTokenError);
    expect(error.cause).to.be.instanceOf(Error);
  });
});
