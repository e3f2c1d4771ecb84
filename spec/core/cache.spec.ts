import { expect } from 'chai';
import { install } from '@sinonjs/fake-timers';
import nock from 'nock';
import { ConfigurationError, createVerifier, type VerifyOptions } from '../../lib/index.js';
import { VerifiedTokenCache } from '../../lib/core/cache.js';
import type { VerifiedJwt } from '../../lib/core/verify.js';
import { fakeProvider, signingKey, type FakeProvider } from '../support/provider.js';
import { rejection } from '../support/rejection.js';

// Every signature check jose makes goes through WebCrypto's verify: counting its calls tells a cache
// hit (no check) from a verification, without timing anything.
let signatureChecks = 0;
const subtle = crypto.subtle;
const realVerify = subtle.verify.bind(subtle);

describe('core/cache: the verified-token cache', () => {
  let provider: FakeProvider;
  const verifierFor = (extra: Partial<VerifyOptions> = {}) =>
    createVerifier({ issuer: provider.issuer, audience: provider.audience, ...extra });

  before(() => {
    subtle.verify = (...args: Parameters<SubtleCrypto['verify']>) => {
      signatureChecks++;
      return realVerify(...args);
    };
  });
  after(() => {
    delete (subtle as Partial<SubtleCrypto>).verify;
    nock.cleanAll();
  });
  beforeEach(async () => {
    provider = await fakeProvider({ algs: ['ES256'] });
    signatureChecks = 0;
  });

  it('answers a token seen before without checking its signature again, with the same verified result', async () => {
    const verify = verifierFor();
    const token = await provider.sign({ scope: 'read:messages' });
    const first = await verify(token);
    expect(signatureChecks).to.equal(1);
    const second = await verify(token);
    expect(signatureChecks).to.equal(1);
    expect(second).to.equal(first);
    expect([...second.scopes]).to.deep.equal(['read:messages']);
  });

  it('shares one verification among 20 concurrent first requests carrying one new token', async () => {
    const verify = verifierFor();
    const token = await provider.sign();
    const results = await Promise.all(Array.from({ length: 20 }, () => verify(token)));
    expect(signatureChecks).to.equal(1);
    expect(new Set(results).size).to.equal(1);
  });

  it('never shares a refusal: each concurrent request with a forged token is checked and gets its own error', async () => {
    const verify = verifierFor();
    const token = await provider.sign();
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(86)}`;
    const errors = await Promise.all(Array.from({ length: 5 }, () => rejection(verify(forged))));
    expect(errors.map((e) => e.code)).to.deep.equal(Array(5).fill('signature_invalid'));
    expect(new Set(errors).size).to.equal(5);
    expect(signatureChecks).to.equal(5);
  });

  it("lets go of a token refused before any await (too large): a new token of the same tail then shares its burst's one verification", async () => {
    const verify = verifierFor({ maxTokenLength: 2000 });
    const token = await provider.sign();
    // The pending slot is chosen by the token's last 32 characters.
    const tooLarge = `${'x'.repeat(2000)}${token.slice(-32)}`;
    expect((await rejection(verify(tooLarge))).code).to.equal('token_too_large');
    const results = await Promise.all(Array.from({ length: 20 }, () => verify(token)));
    expect(signatureChecks).to.equal(1);
    expect(new Set(results).size).to.equal(1);
  });

  it("serves a verdict only to the very token it holds: another token ending in a cached token's signature is verified in full, refused, and leaves the cached one in place", async () => {
    const verify = verifierFor();
    const token = await provider.sign({ sub: 'alice' });
    const other = await provider.sign({ sub: 'mallory' });
    // The cache keeps a token under its last 64 characters, all signature here.
    const sameTail = `${other.slice(0, other.lastIndexOf('.'))}.${token.slice(token.lastIndexOf('.') + 1)}`;
    expect(sameTail.slice(-64)).to.equal(token.slice(-64));
    const first = await verify(token);
    expect((await rejection(verify(sameTail))).code).to.equal('signature_invalid');
    expect((await rejection(verify(sameTail))).code).to.equal('signature_invalid');
    expect(signatureChecks).to.equal(3);
    expect(await verify(token)).to.equal(first);
    expect(signatureChecks).to.equal(3);
  });

  it('never hands a pending verification to another token with the same tail, whichever comes first', async () => {
    const verify = verifierFor();
    for (const forgedFirst of [false, true]) {
      const token = await provider.sign();
      const other = await provider.sign({ sub: 'mallory' });
      const sameTail = `${other.slice(0, other.lastIndexOf('.'))}.${token.slice(token.lastIndexOf('.') + 1)}`;
      // Both calls in the same turn, in the order under test: the first one takes the pending slot.
      const forgedEarly = forgedFirst ? rejection(verify(sameTail)) : undefined;
      const real = verify(token);
      const forged = forgedEarly ?? rejection(verify(sameTail));
      expect((await real).token).to.equal(token);
      expect((await forged).code).to.equal('signature_invalid');
    }
    expect(signatureChecks).to.equal(4);
  });

  it('checks every token again with cache: false', async () => {
    const verify = verifierFor({ cache: false });
    const token = await provider.sign();
    await verify(token);
    await verify(token);
    expect(signatureChecks).to.equal(2);
  });

  it('hands out a frozen result, so one request cannot alter what the next one sees', async () => {
    const verify = verifierFor();
    const verified = await verify(await provider.sign({ roles: ['reader'] }));
    expect(Object.isFrozen(verified)).to.be.true;
    expect(Object.isFrozen(verified.claims)).to.be.true;
    expect(Object.isFrozen(verified.claims.roles)).to.be.true;
    expect(Object.isFrozen(verified.header)).to.be.true;
  });

  it('never caches a refusal: a forged token is checked, and refused, every time', async () => {
    const verify = verifierFor();
    const token = await provider.sign();
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(86)}`;
    for (let i = 0; i < 3; i++) expect((await rejection(verify(forged))).code).to.equal('signature_invalid');
    expect(signatureChecks).to.equal(3);
  });

  describe('expiry edges', () => {
    let clock: ReturnType<typeof install>;
    const now = 1_800_000_000;
    beforeEach(() => {
      clock = install({ now: now * 1000, toFake: ['Date'] });
    });
    afterEach(() => clock.uninstall());

    it('serves a token until exp + clockTolerance and refuses it from then on, like a verification would', async () => {
      const verify = verifierFor({ clockTolerance: 5 });
      const token = await provider.sign({ iat: now, exp: now + 60 });
      await verify(token);
      clock.setSystemTime((now + 65) * 1000 - 1);
      await verify(token);
      expect(signatureChecks).to.equal(1);
      clock.setSystemTime((now + 65) * 1000);
      expect((await rejection(verify(token))).code).to.equal('token_expired');
      expect(signatureChecks).to.equal(2);
    });

    it('verifies again after cache.maxTtl even when the token lives longer', async () => {
      const verify = verifierFor({ cache: { maxTtl: 30 } });
      const token = await provider.sign({ iat: now, exp: now + 3600 });
      await verify(token);
      clock.tick(30_000 - 1);
      await verify(token);
      expect(signatureChecks).to.equal(1);
      clock.tick(1);
      await verify(token);
      expect(signatureChecks).to.equal(2);
    });

    it('stops serving a token once maxTokenAge passes', async () => {
      const verify = verifierFor({ maxTokenAge: 100, clockTolerance: 0 });
      const token = await provider.sign({ iat: now, exp: now + 3600 });
      await verify(token);
      clock.setSystemTime((now + 100) * 1000 + 999);
      await verify(token);
      expect(signatureChecks).to.equal(1);
      clock.setSystemTime((now + 101) * 1000);
      expect((await rejection(verify(token))).code).to.equal('token_too_old');
    });

    it('lets go of a refused verification at once: the burst of the token after its nbf shares one verification again', async () => {
      const verify = verifierFor({ clockTolerance: 0 });
      const token = await provider.sign({ iat: now, nbf: now + 10, exp: now + 3600 });
      const refused = await Promise.all(Array.from({ length: 5 }, () => rejection(verify(token))));
      expect(refused.map((e) => e.code)).to.deep.equal(Array(5).fill('token_not_yet_valid'));
      clock.setSystemTime((now + 10) * 1000);
      const before = signatureChecks;
      const results = await Promise.all(Array.from({ length: 20 }, () => verify(token)));
      expect(signatureChecks - before).to.equal(1);
      expect(new Set(results).size).to.equal(1);
    });

    it('does not cache a token accepted within the tolerance before its nbf, until nbf has passed', async () => {
      const verify = verifierFor({ clockTolerance: 5 });
      const token = await provider.sign({ iat: now, nbf: now + 3, exp: now + 3600 });
      await verify(token);
      await verify(token);
      expect(signatureChecks).to.equal(2);
      clock.setSystemTime((now + 3) * 1000);
      await verify(token);
      await verify(token);
      expect(signatureChecks).to.equal(3);
    });
  });

  it('stops serving tokens signed by a key that left the key set, and keeps serving the others', async () => {
    const old = provider.keys[0]!;
    const next = await signingKey('ES256', 'es256-2');
    provider.publish([old.publicJwk, next.publicJwk]);
    const verify = verifierFor({ cooldown: 0 });
    const byOld = await provider.sign();
    const byNext = await provider.sign({}, { key: next });
    await verify(byOld);
    await verify(byNext);
    expect(signatureChecks).to.equal(2);

    // Rotation: the old key is withdrawn; the key set learns it on its next refresh (here: an unknown kid).
    const newest = await signingKey('ES256', 'es256-3');
    provider.publish([next.publicJwk, newest.publicJwk]);
    await verify(await provider.sign({}, { key: newest }));
    expect(signatureChecks).to.equal(3);

    expect((await rejection(verify(byOld))).code).to.equal('kid_unknown');
    await verify(byNext);
    expect(signatureChecks).to.equal(4);
    await verify(byNext);
    expect(signatureChecks).to.equal(4);
  });

  it('keeps serving after a refresh that only adds keys', async () => {
    const verify = verifierFor({ cooldown: 0 });
    const token = await provider.sign();
    await verify(token);
    const added = await signingKey('ES256', 'es256-added');
    provider.publish([provider.keys[0]!.publicJwk, added.publicJwk]);
    await verify(await provider.sign({}, { key: added }));
    expect(signatureChecks).to.equal(2);
    await verify(token);
    expect(signatureChecks).to.equal(2);
  });

  it('never shares a verdict between two differently configured verifiers', async () => {
    const forApi = verifierFor();
    const forAdmin = verifierFor({ audience: 'https://admin.example.com' });
    const token = await provider.sign();
    await forApi(token);
    expect((await rejection(forAdmin(token))).code).to.equal('audience_invalid');
    await forApi(token);
    expect(signatureChecks).to.equal(2);
  });

  it('admits a token new to a full cache at its second verification, evicting the least recently used', async () => {
    const verify = verifierFor({ cache: { max: 2 } });
    const [a, b, c] = await Promise.all([provider.sign({ jti: 'a' }), provider.sign({ jti: 'b' }), provider.sign({ jti: 'c' })]);
    await verify(a);
    await verify(b); // room: both enter at once
    await verify(a);
    expect(signatureChecks).to.equal(2);
    await verify(c); // full: c is seen once, not admitted
    await verify(a);
    await verify(b);
    expect(signatureChecks).to.equal(3);
    await verify(c); // seen before: admitted, evicting a, the least recently used
    await verify(c);
    await verify(b);
    expect(signatureChecks).to.equal(4);
    await verify(a);
    expect(signatureChecks).to.equal(5);
  });

  it('keeps serving the tokens in use from a full cache through a flood of valid one-time tokens', async () => {
    const verify = verifierFor({ cache: { max: 2 } });
    const [a, b] = await Promise.all([provider.sign({ jti: 'a' }), provider.sign({ jti: 'b' })]);
    await verify(a);
    await verify(b);
    const flood = await Promise.all(Array.from({ length: 50 }, (_, i) => provider.sign({ jti: `once-${i}` })));
    for (const token of flood) await verify(token);
    expect(signatureChecks).to.equal(52);
    await verify(a);
    await verify(b);
    expect(signatureChecks).to.equal(52);
  });

  it('stays within cache.max under 100,000 distinct tokens, keeping the one in use and admitting one that comes back', () => {
    const cache = new VerifiedTokenCache({ max: 10_000, maxTtl: 300, clockTolerance: 5, maxTokenAge: undefined });
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const verified = (token: string) => ({ token, source: 'jwt', header: { alg: 'ES256' }, claims: { iss: 'i', exp }, scopes: new Set<string>() }) as VerifiedJwt<object>;
    let largest = 0;
    for (let i = 0; i < 100_000; i++) {
      const token = `token-${i}`;
      cache.set(token, verified(token), undefined, 0);
      largest = Math.max(largest, cache.size);
      if (i % 1000 === 0) expect(cache.get('token-0')).to.not.be.undefined; // a client's token, in use all along
    }
    expect(largest).to.equal(10_000);
    expect(cache.get('token-0')).to.not.be.undefined;
    expect(cache.get('token-99999')).to.be.undefined;
    cache.set('token-99999', verified('token-99999'), undefined, 0);
    expect(cache.size).to.equal(10_000);
    expect(cache.get('token-99999')).to.not.be.undefined;
  });

  it('refuses a cache option that is not false or { max, maxTtl } at startup', () => {
    for (const cache of [{ max: 0 }, { max: 1.5 }, { maxTtl: 0 }, { maxTtl: -1 }, 'yes'] as unknown[]) {
      expect(() => verifierFor({ cache: cache as VerifyOptions['cache'] })).to.throw(ConfigurationError, /cache/);
    }
  });
});
