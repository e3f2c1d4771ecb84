import { expect } from 'chai';
import nock from 'nock';
import {
  ConfigurationError,
  createUserInfoClient,
  createVerifier,
  InsufficientScopeError,
  InvalidTokenError,
  UserInfoClient,
  UserInfoUnavailableError,
  type TokenForUserInfo,
} from '../../lib/index.js';
import { fakeProvider, uniqueIssuer } from '../support/provider.js';
import { rejection } from '../support/rejection.js';
import { fakeUserInfo, type FakeUserInfo } from '../support/userinfo.js';

const NOW = 1_700_000_000_000;

describe('users/userinfo', () => {
  afterEach(() => nock.cleanAll());

  describe('UserInfoClient', () => {
    let endpoint: FakeUserInfo;
    let now: number;
    const tokenOf = (token: string, sub: string | null = 'user-1', exp = NOW / 1000 + 300): TokenForUserInfo =>
      ({ token, claims: { iss: 'https://issuer.example.com/', exp, ...(sub === null ? {} : { sub }) } });
    const client = (overrides: { max?: number; ttl?: number; timeout?: number; maxBytes?: number } = {}) => new UserInfoClient({
      endpointFor: () => Promise.resolve(endpoint.url),
      fetch: globalThis.fetch,
      timeout: overrides.timeout ?? 5,
      maxBytes: overrides.maxBytes ?? 65_536,
      cache: { max: overrides.max ?? 1000, ttl: overrides.ttl },
      retryAfter: 30,
      realm: 'api',
      now: () => now,
    });

    beforeEach(() => {
      now = NOW;
      endpoint = fakeUserInfo(`${uniqueIssuer()}userinfo`);
    });

    it('calls the endpoint with the caller\'s token as a bearer and returns the frozen answer', async () => {
      const info = await client().get(tokenOf('token-a'));
      expect(info).to.deep.equal({ sub: 'user-1', email: 'ada@example.com' });
      expect(Object.isFrozen(info)).to.equal(true);
      expect(endpoint.authorizations).to.deep.equal(['Bearer token-a']);
    });

    it('deep-freezes nested claims such as address', async () => {
      endpoint.answer(() => [200, { sub: 'user-1', address: { country: 'NZ' } }]);
      const info = await client().get(tokenOf('token-a'));
      expect(Object.isFrozen(info.address)).to.equal(true);
    });

    it('caches per token until the token\'s exp, then asks again', async () => {
      const c = client();
      await c.get(tokenOf('token-a'));
      now += 299_999;
      await c.get(tokenOf('token-a'));
      expect(endpoint.count()).to.equal(1);
      now += 2;
      await c.get(tokenOf('token-a'));
      expect(endpoint.count()).to.equal(2);
    });

    it('caps the lifetime with userinfoCache.ttl', async () => {
      const c = client({ ttl: 10 });
      await c.get(tokenOf('token-a'));
      now += 10_001;
      await c.get(tokenOf('token-a'));
      expect(endpoint.count()).to.equal(2);
    });

    it('does not cache the answer for a token already past its exp', async () => {
      const c = client();
      await c.get(tokenOf('token-a', 'user-1', NOW / 1000 - 1));
      await c.get(tokenOf('token-a', 'user-1', NOW / 1000 - 1));
      expect(endpoint.count()).to.equal(2);
    });

    it('never shares an answer between two tokens of one user', async () => {
      const c = client();
      await c.get(tokenOf('token-a'));
      await c.get(tokenOf('token-b'));
      await c.get(tokenOf('token-a'));
      await c.get(tokenOf('token-b'));
      expect(endpoint.authorizations).to.deep.equal(['Bearer token-a', 'Bearer token-b']);
    });

    it('shares one request among 25 concurrent lookups of one token, and one per token', async () => {
      const c = client();
      const lookups = Array.from({ length: 50 }, (_, i) => c.get(tokenOf(i % 2 === 0 ? 'token-a' : 'token-b')));
      const infos = await Promise.all(lookups);
      expect(endpoint.count()).to.equal(2);
      expect(c.fetchCount).to.equal(2);
      expect(new Set(infos).size).to.equal(2);
    });

    it('keeps at most userinfoCache.max tokens, evicting the least recently used', async () => {
      const c = client({ max: 2 });
      for (const t of ['a', 'b', 'a', 'c', 'a', 'b']) await c.get(tokenOf(`token-${t}`));
      expect(endpoint.authorizations).to.deep.equal(['Bearer token-a', 'Bearer token-b', 'Bearer token-c', 'Bearer token-b']);
    });

    it('keeps another user\'s cached answer while one user floods the cache with new tokens: 4 tokens per issuer and subject', async () => {
      // One client minting tokens (client_credentials: every token has its sub) would otherwise evict
      // everyone else's answer, each eviction one more userinfo call for them.
      endpoint.answer((authorization) => [200, { sub: authorization === 'Bearer victim' ? 'user-2' : 'user-1' }]);
      const c = client({ max: 10 });
      await c.get(tokenOf('victim', 'user-2'));
      for (let i = 0; i < 50; i++) await c.get(tokenOf(`flood-${i}`));
      for (let i = 0; i < 50; i++) await c.get(tokenOf('flood-49')); // one token, many requests
      await c.get(tokenOf('victim', 'user-2'));
      expect(endpoint.authorizations.filter((a) => a === 'Bearer victim')).to.have.length(1);
      // The flooder's own latest tokens stay cached; its older ones make room.
      for (const i of [46, 47, 48, 49]) await c.get(tokenOf(`flood-${i}`));
      await c.get(tokenOf('flood-45'));
      expect(endpoint.count()).to.equal(1 + 50 + 1);
    });

    it('refuses a token without sub with 401 invalid_token, without calling the endpoint', async () => {
      const error = await rejection(client().get(tokenOf('token-a', null)));
      expect([error.status, error.code, error.message]).to.deep.equal([401, 'claim_missing', 'missing required claim']);
      expect(endpoint.count()).to.equal(0);
    });

    const mismatches: Array<[string, unknown]> = [
      ['another sub', { sub: 'user-2', email: 'mallory@example.com' }],
      ['no sub', { email: 'ada@example.com' }],
      ['a numeric sub', { sub: 1 }],
    ];
    for (const [label, body] of mismatches) {
      it(`refuses an answer with ${label} with 401 invalid_token userinfo_sub_mismatch (OIDC Core 5.3.2)`, async () => {
        endpoint.answer(() => [200, body]);
        const error = await rejection(client().get(tokenOf('token-a')));
        expect(error).to.be.instanceOf(InvalidTokenError);
        expect([error.status, error.code, error.realm]).to.deep.equal([401, 'userinfo_sub_mismatch', 'api']);
        expect(error.headers).to.deep.equal({ 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token", error_description="user information does not match the token"' });
      });
    }

    it('maps a provider 401 to 401 invalid_token userinfo_rejected', async () => {
      endpoint.answer(() => [401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' }]);
      const error = await rejection(client().get(tokenOf('token-a')));
      expect(error).to.be.instanceOf(InvalidTokenError);
      expect([error.status, error.code, error.message]).to.deep.equal([401, 'userinfo_rejected', 'token not accepted by the identity provider']);
    });

    it('maps a provider 403 to 403 insufficient_scope naming openid', async () => {
      endpoint.answer(() => [403, { error: 'insufficient_scope' }]);
      const error = await rejection(client().get(tokenOf('token-a')));
      expect(error).to.be.instanceOf(InsufficientScopeError);
      expect([error.status, error.code]).to.deep.equal([403, 'userinfo_forbidden']);
      expect(error.headers['WWW-Authenticate']).to.equal('Bearer realm="api", error="insufficient_scope", error_description="insufficient scope for user information", scope="openid"');
    });

    const unavailable: Array<[string, () => void, number]> = [
      ['a 500', () => endpoint.answer(() => [500, 'oops']), 30],
      ['a 502', () => endpoint.answer(() => [502, 'bad gateway']), 30],
      ['a 503 with Retry-After: 120', () => endpoint.answer(() => [503, 'busy', { 'retry-after': '120' }]), 120],
      ['a 429 with Retry-After: 7', () => endpoint.answer(() => [429, 'slow down', { 'retry-after': '7' }]), 7],
      ['a 404 (misconfigured endpoint)', () => endpoint.answer(() => [404, 'not found']), 30],
      ['a non-JSON 200', () => endpoint.answer(() => [200, '<html>signed-in</html>']), 30],
      ['a JSON array', () => endpoint.answer(() => [200, [{ sub: 'user-1' }]]), 30],
      ['an answer over the size limit', () => endpoint.answer(() => [200, { sub: 'user-1', blob: 'x'.repeat(70_000) }]), 30],
    ];
    for (const [label, arrange, retryAfter] of unavailable) {
      it(`answers 503 userinfo_unavailable with Retry-After ${retryAfter} for ${label}, never 401`, async () => {
        arrange();
        const error = await rejection(client().get(tokenOf('token-a')));
        expect(error).to.be.instanceOf(UserInfoUnavailableError);
        expect([error.status, error.code, error.message]).to.deep.equal([503, 'userinfo_unavailable', 'user information is temporarily unavailable']);
        expect(error.headers).to.deep.equal({ 'Retry-After': String(retryAfter) });
        expect(error.toJSON()).to.deep.equal({ error: 'temporarily_unavailable', error_description: 'user information is temporarily unavailable' });
      });
    }

    it('answers 503 when the endpoint cannot be reached', async () => {
      nock.cleanAll();
      const url = new URL(endpoint.url);
      nock(url.origin).get(url.pathname).replyWithError({ code: 'ECONNREFUSED' });
      expect((await rejection(client().get(tokenOf('token-a')))).code).to.equal('userinfo_unavailable');
    });

    it('answers 503 when the endpoint does not answer within the timeout', async () => {
      endpoint.delay(300);
      const error = await rejection(client({ timeout: 0.05 }).get(tokenOf('token-a')));
      expect([error.status, error.code]).to.deep.equal([503, 'userinfo_unavailable']);
    });

    it('never caches a refusal or a failure: the next lookup asks again and can succeed', async () => {
      let n = 0;
      endpoint.answer(() => (++n === 1 ? [500, 'oops'] : n === 2 ? [200, { sub: 'user-2' }] : [200, { sub: 'user-1' }]));
      const c = client();
      expect((await rejection(c.get(tokenOf('token-a')))).code).to.equal('userinfo_unavailable');
      expect((await rejection(c.get(tokenOf('token-a')))).code).to.equal('userinfo_sub_mismatch');
      expect((await c.get(tokenOf('token-a'))).sub).to.equal('user-1');
      await c.get(tokenOf('token-a'));
      expect(endpoint.count()).to.equal(3);
    });

    it('keeps the token out of every error it raises', async () => {
      const token = 'secret-token-value';
      for (const answer of [[500, 'oops'], [401, 'no'], [200, { sub: 'user-2' }]] as const) {
        endpoint.answer(() => [answer[0], answer[1]]);
        const error = await rejection(client().get(tokenOf(token)));
        let text = '';
        for (let e: unknown = error; e instanceof Error; e = e.cause) text += `${e.message} ${String(e.stack)} ${JSON.stringify(e)}`;
        expect(text).not.to.include(token);
      }
    });
  });

  describe('createUserInfoClient: where the endpoint comes from', () => {
    it('uses the issuer\'s discovery userinfo_endpoint from the key set, with no extra discovery request', async () => {
      const provider = await fakeProvider();
      const endpoint = fakeUserInfo(`${provider.issuer}userinfo`);
      const options = { issuer: provider.issuer, audience: provider.audience };
      const verify = createVerifier(options);
      const client = createUserInfoClient(options);
      const verified = await verify(await provider.sign());
      expect((await client.get(verified)).email).to.equal('ada@example.com');
      expect([provider.discoveryCount(), provider.jwksCount(), endpoint.count()]).to.deep.equal([1, 1, 1]);
    });

    it('discovers on first use when nothing was verified yet (a coalesced discovery)', async () => {
      const provider = await fakeProvider();
      const endpoint = fakeUserInfo(`${provider.issuer}userinfo`);
      const client = createUserInfoClient({ issuer: provider.issuer, audience: provider.audience });
      const claims = { iss: provider.issuer, sub: 'user-1', exp: Math.floor(Date.now() / 1000) + 60 };
      await Promise.all([client.get({ token: 'a', claims }), client.get({ token: 'b', claims })]);
      expect([provider.discoveryCount(), endpoint.count()]).to.deep.equal([1, 2]);
    });

    it('answers 503 userinfo_unavailable when discovery fails', async () => {
      const issuer = uniqueIssuer();
      nock(issuer).get('/.well-known/openid-configuration').reply(500);
      const client = createUserInfoClient({ issuer, audience: 'https://api.example.com' });
      const error = await rejection(client.get({ token: 'a', claims: { iss: issuer, sub: 'user-1', exp: 2_000_000_000 } }));
      expect([error.status, error.code]).to.deep.equal([503, 'userinfo_unavailable']);
      expect(Number(error.headers['Retry-After'])).to.be.within(1, 30);
    });

    it('uses userinfoEndpoint when given, instead of discovery', async () => {
      const provider = await fakeProvider({ discovery: false });
      const endpoint = fakeUserInfo('https://profile.example.com/me');
      const client = createUserInfoClient({ issuer: provider.issuer, audience: provider.audience, jwksUri: provider.jwksUri, userinfoEndpoint: endpoint.url });
      await client.get({ token: 'a', claims: { iss: provider.issuer, sub: 'user-1', exp: 2_000_000_000 } });
      expect([provider.discoveryCount(), endpoint.count()]).to.deep.equal([0, 1]);
    });

    it('throws a ConfigurationError at first use with jwksUri and no userinfoEndpoint', async () => {
      const client = createUserInfoClient({ issuer: 'https://issuer.example.com/', audience: 'a', jwksUri: 'https://issuer.example.com/jwks' });
      const lookup = client.get({ token: 'a', claims: { iss: 'https://issuer.example.com/', sub: 'user-1', exp: 2_000_000_000 } });
      let error: unknown;
      await lookup.catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(ConfigurationError);
      expect((error as Error).message).to.include('needs `userinfoEndpoint`');
    });

    it('throws a ConfigurationError at first use when the discovery metadata names no userinfo_endpoint', async () => {
      const provider = await fakeProvider({ discovery: false });
      nock(provider.issuer).get('/.well-known/openid-configuration').reply(200, { issuer: provider.issuer, jwks_uri: provider.jwksUri });
      const client = createUserInfoClient({ issuer: provider.issuer, audience: provider.audience });
      let error: unknown;
      await client.get({ token: 'a', claims: { iss: provider.issuer, sub: 'user-1', exp: 2_000_000_000 } }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(ConfigurationError);
      expect((error as Error).message).to.include('names no usable `userinfo_endpoint`');
    });

    it('refuses a discovered plain-http userinfo_endpoint of an https issuer off loopback', async () => {
      const provider = await fakeProvider({ discovery: false });
      nock(provider.issuer).get('/.well-known/openid-configuration')
        .reply(200, { issuer: provider.issuer, jwks_uri: provider.jwksUri, userinfo_endpoint: 'http://idp.example.com/userinfo' });
      const client = createUserInfoClient({ issuer: provider.issuer, audience: provider.audience });
      let error: unknown;
      await client.get({ token: 'a', claims: { iss: provider.issuer, sub: 'user-1', exp: 2_000_000_000 } }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(ConfigurationError);
      expect((error as Error).message).to.include('names no usable `userinfo_endpoint`');
    });

    it('allows http userinfoEndpoint on loopback for development', () => {
      expect(() => createUserInfoClient({ issuer: 'https://issuer.example.com/', audience: 'a', userinfoEndpoint: 'http://127.0.0.1:4000/userinfo' })).not.to.throw();
    });

    it('finds the userinfo_endpoint of an issuer accepted by resolveIssuer, which is not listed up front', async () => {
      const provider = await fakeProvider();
      const endpoint = fakeUserInfo(`${provider.issuer}userinfo`);
      const options = { resolveIssuer: (iss: string) => (iss === provider.issuer ? {} : undefined), audience: provider.audience };
      const verified = await createVerifier(options)(await provider.sign());
      expect((await createUserInfoClient(options).get(verified)).email).to.equal('ada@example.com');
      expect([provider.discoveryCount(), endpoint.count()]).to.deep.equal([1, 1]);
    });

    const bad: Array<[string, Record<string, unknown>, string]> = [
      ['a relative userinfoEndpoint', { userinfoEndpoint: '/userinfo' }, '`userinfoEndpoint` must be an absolute https URL'],
      ['a non-http userinfoEndpoint', { userinfoEndpoint: 'ftp://example.com/userinfo' }, '`userinfoEndpoint` must be an absolute https URL'],
      ['a plain-http userinfoEndpoint off loopback (the bearer token would cross the network in clear)', { userinfoEndpoint: 'http://idp.example.com/userinfo' }, '`userinfoEndpoint` must be an absolute https URL (http only on loopback'],
      ['userinfoCache.max of 0', { userinfoCache: { max: 0 } }, '`userinfoCache.max` must be a positive integer'],
      ['userinfoCache.ttl of 0', { userinfoCache: { ttl: 0 } }, '`userinfoCache.ttl` must be a positive number of seconds'],
    ];
    for (const [label, extra, message] of bad) {
      it(`throws a ConfigurationError at startup for ${label}`, () => {
        expect(() => createUserInfoClient({ issuer: 'https://issuer.example.com/', audience: 'a', ...extra })).to.throw(ConfigurationError, message);
      });
    }
  });
});
