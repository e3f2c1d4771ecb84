import { expect } from 'chai';
import { CompactSign } from 'jose';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { claimsFor, expectProviderCalls, expectRefusal, guardedApp, send, refuseStrayNetwork } from './support.js';

describe('security: claims of the wrong type or time (RFC 7519 4.1, RFC 8725 3.10)', () => {
  let provider: FakeProvider;
  const app = (extra = {}) => guardedApp({ issuer: provider.issuer, audience: provider.audience, ...extra });
  const now = () => Math.floor(Date.now() / 1000);

  beforeEach(async () => {
    provider = await fakeProvider();
  });
  refuseStrayNetwork();

  async function expectClaimRefused(claims: Record<string, unknown>, description: string, options = {}): Promise<void> {
    const token = await provider.sign(claims);
    expectRefusal(await send(app(options), token), 401, 'invalid_token', description, token);
  }

  it('answers 401 "invalid claim" for exp, nbf or iat as a string, null, object, array or boolean (RFC 7519 2 NumericDate)', async () => {
    const far = String(now() + 3600);
    for (const name of ['exp', 'nbf', 'iat']) {
      for (const value of [far, null, { $gt: 0 }, [now() + 3600], true]) await expectClaimRefused({ [name]: value }, 'invalid claim');
    }
    expectProviderCalls(provider, 1, 1);
  });

  it('answers 401 "missing required claim" without exp, whatever requiredClaims says', async () => {
    await expectClaimRefused({ exp: undefined }, 'missing required claim');
    await expectClaimRefused({ exp: undefined }, 'missing required claim', { requiredClaims: [] });
  });

  it('answers 401 "token audience not accepted" for aud as a number, an object or an array without our audience', async () => {
    for (const aud of [42, { aud: provider.audience }, ['https://other.example.com'], [], null]) {
      await expectClaimRefused({ aud }, 'token audience not accepted');
    }
  });

  it('answers 401 "token issuer not accepted" for iss as an array holding the issuer, a number, or another case', async () => {
    for (const iss of [[provider.issuer], 1, provider.issuer.toUpperCase(), `${provider.issuer}/`]) {
      await expectClaimRefused({ iss }, 'token issuer not accepted');
    }
  });

  it('answers 401 "invalid claim" for sub, jti, client_id or azp that is not a string (RFC 7519 4.1.2, 4.1.7; RFC 9068 2.2)', async () => {
    for (const name of ['sub', 'jti', 'client_id', 'azp']) {
      for (const value of [1, null, { id: 'x' }, ['x'], false]) await expectClaimRefused({ [name]: value }, 'invalid claim');
    }
  });

  it('answers 401 "invalid scope claim" for scope that is not a string, and scp with a non-string element', async () => {
    for (const claims of [{ scope: ['read:messages'] }, { scope: 1 }, { scope: null }, { scope: { read: true } }, { scp: ['read', 2] }, { scp: 3 }]) {
      await expectClaimRefused(claims, 'invalid scope claim');
    }
  });

  it('answers 401 "token issued in the future" for iat beyond the clock tolerance, and accepts it within (RFC 8725 3.10)', async () => {
    await expectClaimRefused({ iat: now() + 60 }, 'token issued in the future');
    const within = await provider.sign({ iat: now() + 3 });
    expect((await send(app(), within)).status).to.equal(200);
  });

  it('answers 401 "token not yet valid" for nbf beyond the tolerance and "token expired" for exp in the past', async () => {
    await expectClaimRefused({ nbf: now() + 60 }, 'token not yet valid');
    await expectClaimRefused({ exp: now() - 60 }, 'token expired');
  });

  it('answers 401 "token too old" past maxTokenAge, and "missing required claim" without iat when maxTokenAge is set', async () => {
    await expectClaimRefused({ iat: now() - 120 }, 'token too old', { maxTokenAge: 60 });
    await expectClaimRefused({ iat: undefined }, 'missing required claim', { maxTokenAge: 60 });
  });

  describe('time claims out of the NumericDate range (RFC 7519 2: a number of seconds since 1970)', () => {
    /**
     * Signs payload JSON in which `name` is written as `raw`, exactly: JSON.stringify cannot write
     * 1e400, which JSON.parse reads as Infinity.
     */
    async function signWithRaw(name: string, raw: string): Promise<string> {
      const key = provider.keys[0]!;
      const text = JSON.stringify(claimsFor(provider, { [name]: '\u0000raw' })).replace('"\\u0000raw"', raw);
      expect(text).to.include(`"${name}":${raw}`);
      return new CompactSign(new TextEncoder().encode(text)).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }).sign(key.privateKey);
    }

    it('answers 401 "invalid claim" for exp, nbf, iat or auth_time of 1e400 (Infinity), -1, 1e20 or past 9999-12-31, and for NaN-like values', async () => {
      const raws = ['1e400', '-1e400', '-1', '-0.5', '1e20', '253402300800', '"NaN"', '"Infinity"', '"1e400"'];
      for (const name of ['exp', 'nbf', 'iat', 'auth_time']) {
        for (const raw of raws) {
          const token = await signWithRaw(name, raw);
          // A fresh app each time: no verdict cached by an earlier one can answer for this token.
          expectRefusal(await send(app({ maxTokenAge: 3600 }), token), 401, 'invalid_token', 'invalid claim', token);
          expectRefusal(await send(app(), token), 401, 'invalid_token', 'invalid claim', token);
        }
      }
    });

    it('accepts the range\'s ends: 0 for nbf, iat and auth_time, and 9999-12-31T23:59:59Z for exp', async () => {
      for (const [name, raw] of [['nbf', '0'], ['iat', '0'], ['auth_time', '0'], ['exp', '253402300799'], ['auth_time', '1.5']]) {
        expect((await send(app(), await signWithRaw(name!, raw!))).status, `${name}: ${raw}`).to.equal(200);
      }
    });

    it('never caches a token whose exp is Infinity: the second request is refused as the first', async () => {
      const token = await signWithRaw('exp', '1e400');
      const guarded = app();
      for (let i = 0; i < 2; i++) expectRefusal(await send(guarded, token), 401, 'invalid_token', 'invalid claim', token);
    });
  });
});
