import { expect } from 'chai';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { expectProviderCalls, expectRefusal, guardedApp, send, refuseStrayNetwork } from './support.js';

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
});
