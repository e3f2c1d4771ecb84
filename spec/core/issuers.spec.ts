import { expect } from 'chai';
import nock from 'nock';
import { ConfigurationError, createVerifier, keySets, type TokenGuardEvent } from '../../lib/index.js';
import { fakeProvider, signingKey, uniqueIssuer } from '../support/provider.js';
import { rejection as refusal } from '../support/rejection.js';

describe('core/verify with many issuers', () => {
  afterEach(() => nock.cleanAll());

  describe('issuer list', () => {
    it('gives each issuer its own key set: a key of issuer A never verifies a token claiming issuer B', async () => {
      const a = await fakeProvider();
      const b = await fakeProvider();
      const bKey = await signingKey('ES256', a.keys[0]!.kid, 'b-own');
      b.publish([bKey.publicJwk]);
      const verify = createVerifier({ issuer: [a.issuer, b.issuer], audience: a.audience });
      await verify(await a.sign());
      await verify(await b.sign({}, { key: bKey }));
      // b's key set has a key of the same kid but another key: the signature does not verify.
      const forged = await a.sign({ iss: b.issuer });
      expect((await refusal(verify(forged))).code).to.equal('signature_invalid');
      const onlyInA = await signingKey('ES256', 'only-in-a', 'a-only');
      a.publish([a.keys[0]!.publicJwk, onlyInA.publicJwk]);
      expect((await refusal(verify(await a.sign({ iss: b.issuer }, { key: onlyInA })))).code).to.equal('kid_unknown');
    });

    it('refuses an iss outside the list before any network call, and never follows jku or x5u', async () => {
      const a = await fakeProvider();
      const verify = createVerifier({ issuer: [a.issuer, uniqueIssuer()], audience: a.audience });
      const evil = uniqueIssuer();
      const error = await refusal(verify(await a.sign({ iss: evil })));
      expect([error.status, error.code]).to.deep.equal([401, 'issuer_invalid']);
      const withJku = await a.sign({}, { header: { jku: `${evil}jwks`, x5u: `${evil}cert` } });
      await verify(withJku);
      expect([a.discoveryCount(), a.jwksCount()]).to.deep.equal([1, 1]);
      expect(nock.pendingMocks()).to.have.length(0);
    });
  });

  describe('resolveIssuer', () => {
    it('accepts the issuers it returns settings for, each with its own key set, asking once per issuer', async () => {
      const a = await fakeProvider();
      const b = await fakeProvider({ discovery: false });
      const asked: string[] = [];
      const tenants = new Map([[a.issuer, {}], [b.issuer, { jwksUri: b.jwksUri }]]);
      const verify = createVerifier({
        audience: a.audience,
        resolveIssuer: (iss) => {
          asked.push(iss);
          return tenants.get(iss);
        },
      });
      const [ta, tb] = [await a.sign(), await b.sign()];
      await Promise.all([verify(ta), verify(ta), verify(tb), verify(tb), verify(ta)]);
      expect(asked).to.deep.equal([a.issuer, b.issuer]);
      expect([a.discoveryCount(), a.jwksCount(), b.discoveryCount(), b.jwksCount()]).to.deep.equal([1, 1, 0, 1]);
      const crossed = await b.sign({ iss: a.issuer }, { key: await signingKey('ES256', 'b-only', 'b-only') });
      expect((await refusal(verify(crossed))).code).to.equal('kid_unknown');
    });

    it('refuses an iss the resolver does not know with 401 issuer_invalid and no network call', async () => {
      const a = await fakeProvider();
      let asked = 0;
      const verify = createVerifier({
        audience: a.audience,
        resolveIssuer: () => {
          asked++;
          return undefined;
        },
      });
      for (let i = 0; i < 3; i++) expect((await refusal(verify(await a.sign()))).code).to.equal('issuer_invalid');
      expect([asked, a.discoveryCount(), a.jwksCount()]).to.deep.equal([3, 0, 0]);
    });

    it('refuses an accepted iss that is no URL and has no jwksUri, rather than fetch something odd', async () => {
      const a = await fakeProvider();
      const verify = createVerifier({ audience: a.audience, resolveIssuer: () => ({}) });
      expect((await refusal(verify(await a.sign({ iss: 'urn:tenant:evil' })))).code).to.equal('issuer_invalid');
      expect(a.jwksCount()).to.equal(0);
    });

    it('answers 503 when the resolver itself fails: the token is not at fault', async () => {
      const a = await fakeProvider();
      const verify = createVerifier({ audience: a.audience, resolveIssuer: () => Promise.reject(new Error('tenant db down')) });
      const error = await refusal(verify(await a.sign()));
      expect([error.status, error.code]).to.deep.equal([503, 'key_source_unavailable']);
    });

    it('checks iss exactly against the accepted issuer, with the listed issuers still accepted', async () => {
      const listed = await fakeProvider();
      const resolved = await fakeProvider();
      const verify = createVerifier({ issuer: listed.issuer, audience: listed.audience, resolveIssuer: (iss) => (iss === resolved.issuer ? {} : undefined) });
      await verify(await listed.sign());
      await verify(await resolved.sign());
      expect((await refusal(verify(await resolved.sign({ iss: `${resolved.issuer}x` })))).code).to.equal('issuer_invalid');
    });

    it('is checked at startup', () => {
      expect(() => createVerifier({ audience: 'a' })).to.throw(ConfigurationError, /resolveIssuer/);
      expect(() => createVerifier({ audience: 'a', resolveIssuer: 'x' as never })).to.throw(ConfigurationError, /resolveIssuer/);
      expect(() => createVerifier({ audience: 'a', resolveIssuer: () => undefined, jwksUri: 'https://x.example.com/jwks' })).to.throw(ConfigurationError, /jwksUri/);
    });
  });

  describe('keySets()', () => {
    it('pre-warms every configured issuer, then refreshes the resolved ones too on demand', async () => {
      const a = await fakeProvider();
      const b = await fakeProvider();
      const c = await fakeProvider();
      const verify = createVerifier({ issuer: [a.issuer, b.issuer], audience: a.audience, resolveIssuer: (iss) => (iss === c.issuer ? {} : undefined) });
      await keySets(verify).ready();
      expect([a.jwksCount(), b.jwksCount(), c.jwksCount()]).to.deep.equal([1, 1, 0]);
      await verify(await a.sign());
      await verify(await c.sign());
      expect([a.jwksCount(), b.jwksCount(), c.jwksCount()]).to.deep.equal([1, 1, 1]);
      await keySets(verify).refresh();
      expect([a.jwksCount(), b.jwksCount(), c.jwksCount()]).to.deep.equal([2, 2, 2]);
      expect(() => keySets(() => undefined)).to.throw(ConfigurationError);
    });
  });

  describe('onEvent', () => {
    it('reports key set loads and every refused token with its stable code, never the token', async () => {
      const a = await fakeProvider();
      const events: TokenGuardEvent[] = [];
      const verify = createVerifier({ issuer: a.issuer, audience: a.audience, onEvent: (e) => events.push(e) });
      const token = await a.sign({ exp: 1 });
      await refusal(verify(token));
      await refusal(verify('not-a-jwt'));
      expect(events).to.deep.equal([
        { type: 'key_set_fetched', source: `issuer ${a.issuer}`, reason: 'cold', keys: 1, shared: false },
        { type: 'token_rejected', code: 'token_expired', status: 401 },
        { type: 'token_rejected', code: 'token_malformed', status: 401 },
      ]);
      expect(JSON.stringify(events)).not.to.include(token);
    });

    it('survives a hook that throws', async () => {
      const a = await fakeProvider();
      const verify = createVerifier({ issuer: a.issuer, audience: a.audience, onEvent: () => { throw new Error('observer bug'); } });
      await verify(await a.sign());
      expect((await refusal(verify('x'))).code).to.equal('token_malformed');
    });
  });
});
