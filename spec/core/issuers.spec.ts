import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import nock from 'nock';
import { ConfigurationError, createEstablisher, createVerifier, KeySourceUnavailableError, keySets, type IssuerSettings, type TokenGuardEvent } from '../../lib/index.js';
import { introspectionServer } from '../support/introspection-server.js';
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

    it('refuses an iss the resolver does not know with 401 issuer_invalid and no network call, asking again only after keySets.refusedTtl', async () => {
      const a = await fakeProvider();
      let asked = 0;
      const refuse = (): undefined => {
        asked++;
        return undefined;
      };
      const verify = createVerifier({ audience: a.audience, keySets: { refusedTtl: 0.05 }, resolveIssuer: refuse });
      for (let i = 0; i < 3; i++) expect((await refusal(verify(await a.sign({ jti: `${i}` })))).code).to.equal('issuer_invalid');
      expect([asked, a.discoveryCount(), a.jwksCount()]).to.deep.equal([1, 0, 0]);
      await sleep(80);
      expect((await refusal(verify(await a.sign({ jti: 'later' })))).code).to.equal('issuer_invalid');
      expect(asked).to.equal(2);
      const askEveryTime = createVerifier({ audience: a.audience, keySets: { refusedTtl: 0 }, resolveIssuer: () => refuse() });
      for (let i = 0; i < 3; i++) expect((await refusal(askEveryTime(await a.sign({ jti: `${i}` })))).code).to.equal('issuer_invalid');
      expect(asked).to.equal(5);
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

  describe('issuer look-ups under way (keySets.maxPending, maxPendingPerClient)', () => {
    /** A resolver whose answers the spec gives, one deferred answer per issuer asked. */
    interface Deferred {
      asked: string[];
      answer: (iss: string, settings: IssuerSettings | undefined) => void;
      resolveIssuer: (iss: string) => Promise<IssuerSettings | undefined>;
    }
    function deferredResolver(): Deferred {
      const waiting = new Map<string, (settings: IssuerSettings | undefined) => void>();
      const asked: string[] = [];
      return {
        asked,
        answer: (iss, settings) => waiting.get(iss)!(settings),
        resolveIssuer: (iss) => new Promise((resolve) => {
          asked.push(iss);
          waiting.set(iss, resolve);
        }),
      };
    }
    const issuerOf = (i: number): string => `https://tenant-${i}.example.com/`;
    const claiming = async (a: Awaited<ReturnType<typeof fakeProvider>>, i: number): Promise<string> => a.sign({ iss: issuerOf(i) });

    it('bounds them in total: past maxPending a new issuer gets 503 with Retry-After (fetchTimeout), the resolver not asked, until one finishes', async () => {
      const a = await fakeProvider();
      const resolver = deferredResolver();
      const verify = createVerifier({ audience: a.audience, keySets: { maxPending: 4, maxPendingPerClient: 2 }, resolveIssuer: resolver.resolveIssuer });
      // Signed up front, so the look-ups start in this order whatever the machine's load.
      const tokens = await Promise.all([0, 1, 2, 3, 9].map((i) => claiming(a, i)));
      const tokenOf = (i: number): string => tokens[i === 9 ? 4 : i]!;
      // Four clients, each within its share, take every place.
      const waiting = [0, 1, 2, 3].map((i) => verify(tokenOf(i), { ip: `192.0.2.${i}` }));
      await sleep(10);
      expect(resolver.asked).to.have.length(4);
      for (const caller of [{ ip: '192.0.2.9' }, undefined]) {
        const error = await refusal(verify(tokenOf(9), caller));
        expect([error.status, error.code, error.headers['Retry-After']]).to.deep.equal([503, 'key_source_unavailable', '5']);
        expect(error).to.be.instanceOf(KeySourceUnavailableError);
      }
      // The same issuer as one under way waits for its answer and takes no place.
      const same = verify(tokenOf(0), { ip: '192.0.2.9' });
      expect(resolver.asked).to.have.length(4);
      resolver.answer(issuerOf(0), undefined);
      for (const refused of [waiting[0]!, same]) expect((await refusal(refused)).code).to.equal('issuer_invalid');
      // A place is free again.
      const next = verify(tokenOf(9), { ip: '192.0.2.9' });
      await sleep(10);
      expect(resolver.asked).to.deep.equal([0, 1, 2, 3, 9].map(issuerOf));
      for (const i of [1, 2, 3, 9]) resolver.answer(issuerOf(i), undefined);
      for (const refused of [...waiting.slice(1), next]) expect((await refusal(refused)).code).to.equal('issuer_invalid');
    });

    it('bounds one client to maxPendingPerClient, leaving the others their look-ups', async () => {
      const a = await fakeProvider();
      const resolver = deferredResolver();
      const verify = createVerifier({ audience: a.audience, keySets: { maxPending: 10, maxPendingPerClient: 2 }, resolveIssuer: resolver.resolveIssuer });
      const flooder = { ip: '203.0.113.66' };
      const tokens = await Promise.all([...Array(20).keys(), 50].map((i) => claiming(a, i)));
      const waiting = [0, 1].map((i) => verify(tokens[i]!, flooder));
      await sleep(10);
      for (let i = 2; i < 20; i++) expect((await refusal(verify(tokens[i]!, flooder))).status).to.equal(503);
      const other = verify(tokens[20]!, { ip: '198.51.100.7' });
      await sleep(10);
      expect(resolver.asked).to.deep.equal([0, 1, 50].map(issuerOf));
      for (const i of [0, 1, 50]) resolver.answer(issuerOf(i), undefined);
      for (const refused of [...waiting, other]) expect((await refusal(refused)).code).to.equal('issuer_invalid');
    });

    it('gives a stuck look-up\'s place back after fetchTimeout: its waiters get 503, never 401 (the issuer may be real)', async () => {
      const a = await fakeProvider();
      const resolver = deferredResolver();
      const verify = createVerifier({ audience: a.audience, fetchTimeout: 0.05, keySets: { maxPending: 1 }, resolveIssuer: resolver.resolveIssuer });
      const [first, second] = await Promise.all([0, 1].map((i) => claiming(a, i)));
      const stuck = await refusal(verify(first!, { ip: '192.0.2.1' }));
      expect([stuck.status, stuck.code]).to.deep.equal([503, 'key_source_unavailable']);
      const next = verify(second!, { ip: '192.0.2.1' });
      await sleep(10);
      expect(resolver.asked).to.deep.equal([0, 1].map(issuerOf));
      resolver.answer(issuerOf(0), {}); // too late: ignored
      resolver.answer(issuerOf(1), undefined);
      expect((await refusal(next)).code).to.equal('issuer_invalid');
    });

    it('is shared by the verifier and the introspector of one establisher: one look-up per issuer for JWTs and introspected tokens alike', async () => {
      const server = await introspectionServer();
      try {
        let asked = 0;
        const establish = createEstablisher({
          audience: server.audience,
          resolveIssuer: (iss) => {
            asked++;
            return Promise.resolve(iss === server.issuer ? {} : undefined);
          },
          introspection: { endpoint: server.endpoint, clientId: server.clientId, clientSecret: server.clientSecret },
        });
        expect((await establish(server.issue())).source).to.equal('introspection');
        expect((await establish(await server.signJwt())).source).to.equal('jwt');
        expect(asked).to.equal(1);
      } finally {
        await server.close();
      }
    });

    it('is checked at startup, saying how to fix it', () => {
      const base = { issuer: 'https://tenant.example.com/', audience: 'https://api.example.com' };
      for (const bad of [0, -1, 1.5, Number.NaN, '10']) {
        expect(() => createVerifier({ ...base, keySets: { maxPending: bad as number } })).to.throw(ConfigurationError, /`keySets.maxPending` must be a positive whole number of issuer look-ups \(default 100\)/);
        expect(() => createVerifier({ ...base, keySets: { maxPendingPerClient: bad as number } })).to.throw(ConfigurationError, /`keySets.maxPendingPerClient` must be a positive whole number of issuer look-ups \(default 10\)/);
      }
      for (const bad of [-1, Number.NaN, Infinity, '30']) {
        expect(() => createVerifier({ ...base, keySets: { refusedTtl: bad as number } })).to.throw(ConfigurationError, /`keySets.refusedTtl` must be a non-negative number of seconds \(default 30\)/);
      }
      expect(() => createVerifier({ ...base, keySets: { maxPending: 4, maxPendingPerClient: 5 } })).to.throw(ConfigurationError, /`keySets.maxPendingPerClient` \(5\) must not exceed `keySets.maxPending` \(4\)/);
      // A small maxPending alone brings the per-client default down with it.
      expect(() => createVerifier({ ...base, keySets: { maxPending: 4 } })).not.to.throw();
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
