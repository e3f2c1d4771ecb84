import { expect } from 'chai';
import { install } from '@sinonjs/fake-timers';
import nock from 'nock';
import { memoryStore, RemoteKeySet, type KeyStore, type TokenGuardEvent } from '../../lib/index.js';
import type { KeySetOptions } from '../../lib/keys/key-set.js';
import { fakeProvider, signingKey, type SigningKey } from '../support/provider.js';
import { jwksEndpoint, type JwksEndpoint } from '../support/jwks.js';

const S = 1000;

describe('keys/store', () => {
  let key: SigningKey;
  let endpoint: JwksEndpoint;
  let events: TokenGuardEvent[];
  // Two RemoteKeySets on one store stand for two processes sharing Redis.
  const instance = (store: KeyStore, options: Partial<KeySetOptions> = {}): RemoteKeySet => new RemoteKeySet({
    source: { jwksUri: endpoint.url }, fetch: globalThis.fetch, timeout: 5, maxBytes: 1 << 19,
    cooldown: 30, maxAge: 600, maxStale: 86_400, store, onEvent: (e) => events.push(e), ...options,
  });
  const known = (ks: RemoteKeySet): Promise<unknown> => ks.getKey({ alg: 'ES256', kid: key.kid });

  beforeEach(async () => {
    key = await signingKey('ES256');
    endpoint = jwksEndpoint([key.publicJwk]);
    events = [];
  });
  afterEach(() => nock.cleanAll());

  it('memoryStore keeps values for their TTL and grants a lock to one caller at a time', async () => {
    let now = 0;
    const store = memoryStore(() => now);
    await store.set('k', 'v', 2);
    expect(await store.get('k')).to.equal('v');
    expect([await store.lock!('l', 1), await store.lock!('l', 1)]).to.deep.equal([true, false]);
    now = 2000;
    expect([await store.get('k'), await store.lock!('l', 1)]).to.deep.equal([undefined, true]);
  });

  it('lets a second process start from the stored key set without calling the provider', async () => {
    const store = memoryStore();
    await known(instance(store));
    const second = instance(store);
    await known(second);
    expect([endpoint.count(), second.fetchCount]).to.deep.equal([1, 0]);
    expect(events.map((e) => e.type === 'key_set_fetched' && e.shared)).to.deep.equal([false, true]);
  });

  it('shares the discovery metadata too: a second process knows it without discovery', async () => {
    const store = memoryStore();
    const provider = await fakeProvider();
    const options = { fetch: globalThis.fetch, timeout: 5, maxBytes: 1 << 19, cooldown: 30, maxAge: 600, maxStale: 86_400, store };
    await new RemoteKeySet({ ...options, source: { issuer: provider.issuer } }).ready();
    const second = new RemoteKeySet({ ...options, source: { issuer: provider.issuer } });
    expect((await second.metadata())?.jwks_uri).to.equal(provider.jwksUri);
    expect([provider.discoveryCount(), provider.jwksCount(), second.fetchCount]).to.deep.equal([1, 1, 0]);
  });

  it('lets concurrent cold processes wait for the one holding the lock: one fetch in total', async () => {
    const store = memoryStore();
    const processes = Array.from({ length: 5 }, () => instance(store));
    await Promise.all(processes.map((p) => known(p)));
    expect(endpoint.count()).to.equal(1);
  });

  describe('with fake time', () => {
    let clock: ReturnType<typeof install>;
    beforeEach(() => {
      clock = install({ now: Date.now(), toFake: ['Date'] });
    });
    afterEach(() => clock.uninstall());

    it('shares the unknown-kid cooldown: a flood spread over processes costs one fetch per cooldown', async () => {
      const store = memoryStore();
      const [a, b, c] = [instance(store), instance(store), instance(store)];
      await Promise.all([known(a), known(b), known(c)]);
      clock.tick(30 * S);
      for (const p of [a, b, c, a, b, c]) await p.getKey({ alg: 'ES256', kid: 'made-up' }).catch(() => undefined);
      expect(endpoint.count()).to.equal(2);
    });

    it('takes another process\'s refresh after max age instead of fetching again', async () => {
      const store = memoryStore();
      const [a, b] = [instance(store), instance(store)];
      await known(a);
      await known(b);
      clock.tick(600 * S + 1);
      await a.refresh();
      await known(b); // b's copy is old: its background refresh finds a's in the store
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(endpoint.count()).to.equal(2);
      expect(b.fetchCount).to.equal(0);
    });

    it('starts a new process during a provider outage from the last good copy in the store', async () => {
      const store = memoryStore();
      await known(instance(store));
      endpoint.down(500);
      clock.tick(3600 * S);
      const late = instance(store);
      await known(late);
      expect(late.fetchCount).to.equal(1); // it tried the provider, then served the stored copy
    });
  });

  describe('a failing store never fails a request', () => {
    it('falls back to its own fetch and memory when the store rejects', async () => {
      const broken: KeyStore = {
        get: () => Promise.reject(new Error('ECONNREFUSED')),
        set: () => Promise.reject(new Error('ECONNREFUSED')),
        lock: () => Promise.reject(new Error('ECONNREFUSED')),
      };
      const ks = instance(broken);
      await known(ks);
      await known(ks);
      expect(endpoint.count()).to.equal(1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(events.filter((e) => e.type === 'key_store_failed').map((e) => e.type === 'key_store_failed' && e.operation)).to.deep.equal(['get', 'lock', 'set']);
    });

    it('gives up on a store that never answers after the timeout', async () => {
      const hanging: KeyStore = { get: () => new Promise(() => undefined), set: () => new Promise(() => undefined) };
      const ks = instance(hanging, { timeout: 0.1 });
      await known(ks); // resolves at all only because the store call was abandoned
      expect(endpoint.count()).to.equal(1);
      expect(events.filter((e) => e.type === 'key_store_failed')).to.have.length(1);
    });

    it('treats a malformed stored entry as a miss', async () => {
      const store = memoryStore();
      const ks = instance(store);
      await store.set('koa-token-guard:keys:jwks ' + endpoint.url, '{"v":1,"keys":"nope"}', 60);
      await known(ks);
      expect(endpoint.count()).to.equal(1);
    });
  });
});
