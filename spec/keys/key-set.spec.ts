import { expect } from 'chai';
import { install } from '@sinonjs/fake-timers';
import nock from 'nock';
import { createVerifier, KeySourceUnavailableError, RemoteKeySet } from '../../lib/index.js';
import { metadataUrls } from '../../lib/keys/discovery.js';
import { fakeProvider, signingKey, uniqueIssuer } from '../support/provider.js';
import { rejection } from '../support/rejection.js';

describe('keys/key-set', () => {
  afterEach(() => nock.cleanAll());

  it('shares one discovery and one JWKS request among 50 concurrent cold requests', async () => {
    const provider = await fakeProvider();
    const verify = createVerifier({ issuer: provider.issuer, audience: provider.audience });
    const token = await provider.sign();
    await Promise.all(Array.from({ length: 50 }, () => verify(token)));
    expect([provider.discoveryCount(), provider.jwksCount()]).to.deep.equal([1, 1]);
  });

  it('shares one key set between two authenticate() instances for one issuer', async () => {
    const provider = await fakeProvider();
    const token = await provider.sign();
    await createVerifier({ issuer: provider.issuer, audience: provider.audience })(token);
    await createVerifier({ issuer: provider.issuer, audience: [provider.audience, 'other'] })(token);
    expect(provider.jwksCount()).to.equal(1);
  });

  it('skips discovery when jwksUri is given', async () => {
    const provider = await fakeProvider({ discovery: false });
    await createVerifier({ issuer: provider.issuer, audience: provider.audience, jwksUri: provider.jwksUri })(await provider.sign());
    expect([provider.discoveryCount(), provider.jwksCount()]).to.deep.equal([0, 1]);
  });

  describe('unknown kid', () => {
    let clock: ReturnType<typeof install>;
    beforeEach(() => {
      clock = install({ now: Date.now(), toFake: ['Date'] });
    });
    afterEach(() => clock.uninstall());

    it('refetches at most once per 30 s cooldown however many unknown kids arrive', async () => {
      const provider = await fakeProvider();
      const verify = createVerifier({ issuer: provider.issuer, audience: provider.audience });
      await verify(await provider.sign());
      const forged = await Promise.all(Array.from({ length: 20 }, async (_, i) => provider.sign({}, { key: await signingKey('ES256', `made-up-${i}`, 'stranger') })));
      for (const token of forged) expect((await rejection(verify(token))).code).to.equal('kid_unknown');
      expect(provider.jwksCount()).to.equal(1);
      clock.tick(29_999);
      await rejection(verify(forged[0]!));
      expect(provider.jwksCount()).to.equal(1);
      clock.tick(1);
      await rejection(verify(forged[0]!));
      expect(provider.jwksCount()).to.equal(2);
    });

    it('picks up a rotated-in key on the first token that carries it', async () => {
      const provider = await fakeProvider();
      const verify = createVerifier({ issuer: provider.issuer, audience: provider.audience });
      await verify(await provider.sign());
      clock.tick(30_000);
      const next = await signingKey('ES256', 'es256-2');
      provider.publish([provider.keys[0]!.publicJwk, next.publicJwk]);
      await verify(await provider.sign({}, { key: next }));
      expect(provider.jwksCount()).to.equal(2);
    });

    it('keeps verifying known kids while unknown ones are refused', async () => {
      const provider = await fakeProvider();
      const verify = createVerifier({ issuer: provider.issuer, audience: provider.audience });
      const good = await provider.sign();
      const bad = await provider.sign({}, { key: await signingKey('ES256', 'made-up', 'stranger') });
      const results = await Promise.allSettled([verify(bad), verify(good), verify(bad), verify(good)]);
      expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'fulfilled', 'rejected', 'fulfilled']);
    });
  });

  describe('key selection', () => {
    it('matches a token without kid only when exactly one key fits', async () => {
      const one = await fakeProvider({ algs: ['ES256', 'RS256'] });
      const verify = createVerifier({ issuer: one.issuer, audience: one.audience });
      await verify(await one.sign({}, { noKid: true }));

      const two = await fakeProvider({ algs: ['ES256'] });
      const second = await signingKey('ES256', 'es256-2');
      two.publish([two.keys[0]!.publicJwk, second.publicJwk]);
      const error = await rejection(createVerifier({ issuer: two.issuer, audience: two.audience })(await two.sign({}, { noKid: true })));
      expect(error.code).to.equal('kid_unknown');
    });

    it('ignores keys marked use "enc" and keys declared for another alg', async () => {
      const provider = await fakeProvider({ algs: ['RS256'] });
      const key = provider.keys[0]!;
      provider.publish([{ ...key.publicJwk, use: 'enc' }]);
      const verify = createVerifier({ issuer: provider.issuer, audience: provider.audience });
      expect((await rejection(verify(await provider.sign()))).code).to.equal('kid_unknown');

      const other = await fakeProvider({ algs: ['RS256'] });
      other.publish([{ ...other.keys[0]!.publicJwk, alg: 'PS256' }]);
      const error = await rejection(createVerifier({ issuer: other.issuer, audience: other.audience })(await other.sign()));
      expect(error.code).to.equal('kid_unknown');
    });
  });

  describe('discovery', () => {
    it('tries OIDC, then RFC 8414 inserted and appended placements for an issuer with a path', () => {
      expect(metadataUrls('https://id.example.com/tenant/v2')).to.deep.equal([
        'https://id.example.com/tenant/v2/.well-known/openid-configuration',
        'https://id.example.com/.well-known/oauth-authorization-server/tenant/v2',
        'https://id.example.com/tenant/v2/.well-known/oauth-authorization-server',
      ]);
      expect(metadataUrls('https://id.example.com/')).to.deep.equal([
        'https://id.example.com/.well-known/openid-configuration',
        'https://id.example.com/.well-known/oauth-authorization-server',
      ]);
    });

    it('falls back to RFC 8414 metadata when OpenID configuration is 404', async () => {
      const provider = await fakeProvider({ discovery: false, issuerPath: '/realms/main' });
      const url = new URL(provider.issuer);
      nock(url.origin).get('/realms/main/.well-known/openid-configuration').reply(404)
        .get('/.well-known/oauth-authorization-server/realms/main').reply(200, { issuer: provider.issuer, jwks_uri: provider.jwksUri });
      await createVerifier({ issuer: provider.issuer, audience: provider.audience })(await provider.sign());
      expect(provider.jwksCount()).to.equal(1);
    });

    it('refuses metadata that names another issuer: 503, the token is not at fault', async () => {
      const issuer = uniqueIssuer();
      nock(issuer).get('/.well-known/openid-configuration').reply(200, { issuer: 'https://evil.example.com/', jwks_uri: `${issuer}jwks` });
      const provider = await fakeProvider();
      const token = await provider.sign({ iss: issuer });
      const error = await rejection(createVerifier({ issuer, audience: provider.audience })(token));
      expect([error.status, error.code]).to.deep.equal([503, 'key_source_unavailable']);
    });
  });

  describe('key source failures', () => {
    const failures: Array<[string, (scope: nock.Interceptor) => nock.Scope]> = [
      ['answers 500', (i) => i.reply(500)],
      ['answers non-JSON', (i) => i.reply(200, '<html>', { 'content-type': 'text/html' })],
      ['answers without a keys array', (i) => i.reply(200, { keys: 'nope' })],
      ['answers over the size limit', (i) => i.reply(200, { keys: [], pad: 'x'.repeat(600 * 1024) })],
      ['is unreachable', (i) => i.replyWithError({ code: 'ECONNREFUSED' })],
    ];
    for (const [label, reply] of failures) {
      it(`answers 503 with Retry-After when the JWKS ${label} and no key is cached`, async () => {
        const issuer = uniqueIssuer();
        reply(nock(issuer).get('/jwks'));
        const provider = await fakeProvider();
        const verify = createVerifier({ issuer, audience: provider.audience, jwksUri: `${issuer}jwks` });
        const error = await rejection(verify(await provider.sign({ iss: issuer })));
        expect(error).to.be.instanceOf(KeySourceUnavailableError);
        expect(error.status).to.equal(503);
        expect(Number(error.headers['Retry-After'])).to.be.within(1, 30);
      });
    }

    it('answers 503 when the JWKS request times out', async () => {
      const issuer = uniqueIssuer();
      nock(issuer).get('/jwks').delay(2000).reply(200, { keys: [] });
      const provider = await fakeProvider();
      const verify = createVerifier({ issuer, audience: provider.audience, jwksUri: `${issuer}jwks`, fetchTimeout: 0.2 });
      const started = Date.now();
      const error = await rejection(verify(await provider.sign({ iss: issuer })));
      expect(error.status).to.equal(503);
      expect(Date.now() - started).to.be.below(1500);
    });

    it('does not hammer a failing provider: one attempt per cooldown while cold', async () => {
      const issuer = uniqueIssuer();
      let calls = 0;
      nock(issuer).persist().get('/jwks').reply(() => {
        calls++;
        return [500, 'down'];
      });
      const provider = await fakeProvider();
      const verify = createVerifier({ issuer, audience: provider.audience, jwksUri: `${issuer}jwks` });
      const token = await provider.sign({ iss: issuer });
      for (let i = 0; i < 5; i++) expect((await rejection(verify(token))).status).to.equal(503);
      expect(calls).to.equal(1);
    });
  });

  describe('RemoteKeySet', () => {
    it('refresh() pre-warms so the first request makes no provider call', async () => {
      const provider = await fakeProvider({ discovery: false });
      const keySet = new RemoteKeySet({
        source: { jwksUri: provider.jwksUri }, fetch: globalThis.fetch, timeout: 5, maxBytes: 1 << 20, cooldown: 30, maxAge: 600, maxStale: 86400,
      });
      await keySet.refresh();
      expect(provider.jwksCount()).to.equal(1);
      await keySet.getKey({ alg: 'ES256', kid: provider.keys[0]!.kid });
      expect(keySet.fetchCount).to.equal(1);
    });
  });
});
