import { expect } from 'chai';
import { install } from '@sinonjs/fake-timers';
import nock from 'nock';
import { KeySourceUnavailableError, RemoteKeySet, type TokenGuardEvent } from '../../lib/index.js';
import type { KeySetOptions } from '../../lib/keys/key-set.js';
import { signingKey, uniqueIssuer, type SigningKey } from '../support/provider.js';
import { eventually, jwksEndpoint, type JwksEndpoint } from '../support/jwks.js';
import { rejection as refusal } from '../support/rejection.js';

const S = 1000;

describe('keys/key-set lifecycle', () => {
  let clock: ReturnType<typeof install>;
  let key: SigningKey;
  let endpoint: JwksEndpoint;
  let events: TokenGuardEvent[];

  const keySet = (options: Partial<KeySetOptions> = {}): RemoteKeySet => new RemoteKeySet({
    source: { jwksUri: endpoint.url }, fetch: globalThis.fetch, timeout: 5, maxBytes: 1 << 19,
    cooldown: 30, maxAge: 600, maxStale: 86_400, onEvent: (e) => events.push(e), ...options,
  });
  const known = (ks: RemoteKeySet): Promise<unknown> => ks.getKey({ alg: 'ES256', kid: key.kid });

  beforeEach(async () => {
    key = await signingKey('ES256');
    endpoint = jwksEndpoint([key.publicJwk]);
    events = [];
    clock = install({ now: Date.now(), toFake: ['Date'] });
  });
  afterEach(() => {
    clock.uninstall();
    nock.cleanAll();
  });

  describe('max age', () => {
    it('serves from memory until max age, then refreshes once in the background without making the request wait', async () => {
      const ks = keySet();
      await known(ks);
      clock.tick(600 * S);
      await known(ks);
      expect(endpoint.count()).to.equal(1);
      clock.tick(1);
      await Promise.all(Array.from({ length: 20 }, () => known(ks)));
      expect(endpoint.count()).to.equal(1); // answered before the refresh even reached the provider
      await eventually(() => events.length === 2);
      await Promise.all(Array.from({ length: 20 }, () => known(ks)));
      expect(endpoint.count()).to.equal(2);
      expect(events.map((e) => e.type)).to.deep.equal(['key_set_fetched', 'key_set_refreshed']);
    });

    it('honours a shorter Cache-Control max-age from the provider', async () => {
      endpoint.up([key.publicJwk], { 'cache-control': 'public, max-age=120' });
      const ks = keySet();
      await known(ks);
      clock.tick(120 * S);
      await known(ks);
      expect(endpoint.count()).to.equal(1);
      clock.tick(1);
      await known(ks);
      await eventually(() => endpoint.count() === 2);
    });

    it('makes a new kid arriving after max age wait for the refresh its own request started, instead of refusing it', async () => {
      const ks = keySet();
      await known(ks);
      const next = await signingKey('ES256', 'es256-next');
      endpoint.up([key.publicJwk, next.publicJwk]);
      clock.tick(600 * S + 1);
      await ks.getKey({ alg: 'ES256', kid: next.kid });
      expect(endpoint.count()).to.equal(2);
    });

    it('caps a longer Cache-Control max-age at maxAge', async () => {
      endpoint.up([key.publicJwk], { 'cache-control': 'max-age=86400' });
      const ks = keySet();
      await known(ks);
      clock.tick(600 * S + 1);
      await known(ks);
      await eventually(() => endpoint.count() === 2);
    });

    it('never refreshes more often than the cooldown, even for no-store', async () => {
      endpoint.up([key.publicJwk], { 'cache-control': 'no-store' });
      const ks = keySet();
      await known(ks);
      clock.tick(30 * S);
      await known(ks);
      expect(endpoint.count()).to.equal(1);
      clock.tick(1);
      await known(ks);
      await eventually(() => endpoint.count() === 2);
    });
  });

  describe('stale-if-error', () => {
    it('keeps serving known keys through a provider outage, retrying once per cooldown, reporting stale once', async () => {
      const ks = keySet();
      await known(ks);
      endpoint.down(500);
      clock.tick(600 * S + 1);
      // One request every 10 s for 10 minutes: the background refresh fails each time it is tried.
      for (let t = 0; t <= 600; t += 10) {
        await known(ks);
        await new Promise((resolve) => setTimeout(resolve, 5)); // real time: let a background attempt land
        clock.tick(10 * S);
      }
      await eventually(() => events.filter((e) => e.type === 'key_set_refresh_failed').length === 21);
      expect(endpoint.count()).to.equal(1 + 21); // at 601 s, then every 30 s up to 1201 s
      expect(events.filter((e) => e.type === 'key_set_served_stale')).to.have.length(1);
      const failed = events.find((e) => e.type === 'key_set_refresh_failed');
      expect(failed).to.deep.include({ reason: 'max_age', failure: 'status', status: 500, retryIn: 30, stale: true });
    });

    it('serves the last good keys up to maxStale, then answers 503 with Retry-After', async () => {
      const ks = keySet();
      await known(ks);
      endpoint.down(500);
      clock.tick(86_400 * S);
      await known(ks);
      await eventually(() => endpoint.count() === 2);
      clock.tick(1);
      const error = await refusal(known(ks));
      expect(error).to.be.instanceOf(KeySourceUnavailableError);
      expect([error.status, error.headers['Retry-After']]).to.deep.equal([503, '30']);
      endpoint.up([key.publicJwk]);
      clock.tick(30 * S);
      await known(ks);
      expect(endpoint.count()).to.equal(3);
    });

    it('answers 503, not 401, for an unknown kid while the provider is failing', async () => {
      const ks = keySet();
      await known(ks);
      endpoint.down(502);
      clock.tick(30 * S);
      const error = await refusal(ks.getKey({ alg: 'ES256', kid: 'rotated-in' }));
      expect(error.status).to.equal(503);
      expect((await refusal(ks.getKey({ alg: 'ES256', kid: 'rotated-in' }))).status).to.equal(503);
      await known(ks);
      expect(endpoint.count()).to.equal(2);
    });
  });

  it('discovers again when the JWKS URL it was given starts answering 404 (the provider moved it)', async () => {
    const issuer = uniqueIssuer();
    let jwksPath = '/old-jwks';
    let discoveries = 0;
    const scope = nock(issuer).persist();
    scope.get('/.well-known/openid-configuration').reply(() => {
      discoveries++;
      return [200, { issuer, jwks_uri: `${issuer.replace(/\/$/, '')}${jwksPath}` }];
    });
    scope.get('/old-jwks').reply(() => (jwksPath === '/old-jwks' ? [200, { keys: [key.publicJwk] }] : [404, 'gone']));
    scope.get('/new-jwks').reply(200, { keys: [key.publicJwk] });
    const ks = keySet({ source: { issuer } });
    await known(ks);
    jwksPath = '/new-jwks';
    clock.tick(600 * S + 1);
    await known(ks);
    await eventually(() => events.some((e) => e.type === 'key_set_refresh_failed'));
    clock.tick(30 * S);
    await known(ks);
    await eventually(() => events.some((e) => e.type === 'key_set_refreshed'));
    expect(discoveries).to.equal(2);
  });

  describe('rate limiting by the provider', () => {
    it('honours 429 Retry-After: no call before it has passed, and the 503 says how long', async () => {
      endpoint.down(429, { 'retry-after': '120' });
      const ks = keySet();
      const first = await refusal(known(ks));
      expect([first.status, first.headers['Retry-After']]).to.deep.equal([503, '120']);
      clock.tick(60 * S);
      expect((await refusal(known(ks))).headers['Retry-After']).to.equal('60');
      endpoint.up([key.publicJwk]);
      clock.tick(59 * S);
      await refusal(known(ks));
      expect(endpoint.count()).to.equal(1);
      clock.tick(1 * S);
      await known(ks);
      expect(endpoint.count()).to.equal(2);
    });

    it('caps Retry-After at one hour', async () => {
      endpoint.down(503, { 'retry-after': '999999' });
      const ks = keySet();
      expect((await refusal(known(ks))).headers['Retry-After']).to.equal('3600');
    });
  });

  describe('operator controls', () => {
    it('refresh() fetches at once, ignoring max age and cooldown; ready() does not refetch a fresh set', async () => {
      const ks = keySet();
      await ks.ready();
      await ks.ready();
      expect(endpoint.count()).to.equal(1);
      await ks.refresh();
      await ks.refresh();
      expect(endpoint.count()).to.equal(3);
      expect(ks.fetchCount).to.equal(3);
    });

    it('refresh() rejects when the provider fails, and the previous keys keep serving', async () => {
      const ks = keySet();
      await ks.ready();
      endpoint.down(500);
      let failed = false;
      await ks.refresh().catch(() => (failed = true));
      expect(failed).to.equal(true);
      await known(ks);
    });
  });
});
