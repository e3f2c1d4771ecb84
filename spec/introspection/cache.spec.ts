import { expect } from 'chai';
import { install } from '@sinonjs/fake-timers';
import type { KeyStore } from '../../lib/index.js';
import { answerKey } from '../../lib/introspection/cache.js';
import { rejection } from '../support/rejection.js';
import { useServer } from './support.js';

const now = (): number => Math.floor(Date.now() / 1000);

describe('introspection/cache', () => {
  const setup = useServer();
  type InstalledClock = ReturnType<typeof install>;
  let clock: InstalledClock | undefined;
  const fakeDate = (): InstalledClock => (clock = install({ toFake: ['Date'], now: Date.now() }));
  afterEach(() => {
    clock?.uninstall();
    clock = undefined;
  });

  it('100 concurrent requests with one new token make exactly 1 introspection call, and all pass', async () => {
    const { server } = setup;
    server.delay = 50;
    const token = server.issue();
    const introspect = setup.introspectorFor();
    const results = await Promise.all(Array.from({ length: 100 }, () => introspect(token)));
    expect(server.requests).to.have.length(1);
    expect(results.every((r) => r.claims.sub === 'user-1')).to.be.true;
  });

  it('100 concurrent requests with one dead token make 1 call and each gets its own 401 token_inactive', async () => {
    const { server } = setup;
    server.delay = 50;
    const introspect = setup.introspectorFor();
    const errors = await Promise.all(Array.from({ length: 100 }, () => rejection(introspect('dead-token'))));
    expect(server.requests).to.have.length(1);
    expect(new Set(errors).size).to.equal(100);
    expect(errors.every((e) => e.code === 'token_inactive')).to.be.true;
  });

  it('serves a token seen before from memory, the same frozen result', async () => {
    const { server } = setup;
    const token = server.issue();
    const introspect = setup.introspectorFor();
    const first = await introspect(token);
    expect(await introspect(token)).to.equal(first);
    expect(server.requests).to.have.length(1);
  });

  it('lets a revoked token pass for at most cache.ttl, then refuses it', async () => {
    const { server } = setup;
    const token = server.issue();
    const introspect = setup.introspectorFor({}, { cache: { ttl: 30 } });
    await introspect(token);
    server.revoke(token);
    const date = fakeDate();
    date.tick(29_000);
    expect((await introspect(token)).source).to.equal('introspection');
    date.tick(1_001);
    expect((await rejection(introspect(token))).code).to.equal('token_inactive');
    expect(server.requests).to.have.length(2);
  });

  it('keeps an active answer no longer than its exp (plus clockTolerance)', async () => {
    const { server } = setup;
    const date = fakeDate();
    const token = server.issue({ exp: now() + 10 });
    const introspect = setup.introspectorFor({ clockTolerance: 5 });
    await introspect(token);
    date.tick(14_000);
    await introspect(token);
    expect(server.requests).to.have.length(1);
    date.tick(2_000);
    expect((await rejection(introspect(token))).code).to.equal('token_expired');
    expect(server.requests).to.have.length(2);
  });

  // Defect 5 of issue 19: with maxTokenAge 10 and clockTolerance 5, a cached answer passed at ages 18, 22 and 30 s.
  it('keeps an active answer no longer than iat + maxTokenAge + clockTolerance, as the JWT cache does', async () => {
    const { server } = setup;
    const date = fakeDate();
    const iat = now();
    const token = server.issue({ iat, exp: iat + 300 });
    const introspect = setup.introspectorFor({ maxTokenAge: 10, clockTolerance: 5 });
    await introspect(token);
    date.setSystemTime((iat + 15) * 1000 + 999);
    expect((await introspect(token)).source).to.equal('introspection');
    expect(server.requests).to.have.length(1);
    const codes = [];
    for (const age of [18, 22, 30]) {
      date.setSystemTime((iat + age) * 1000);
      codes.push((await rejection(introspect(token))).code);
    }
    expect(codes).to.deep.equal(['token_too_old', 'token_too_old', 'token_too_old']);
  });

  it('stores an active answer in the shared store no longer than iat + maxTokenAge + clockTolerance either', async () => {
    const { server } = setup;
    const ttls: number[] = [];
    const store: KeyStore = { get: () => Promise.resolve(undefined), set: (key, _value, ttl) => {
      if (key.startsWith('koa-token-guard:introspection:')) ttls.push(ttl);
      return Promise.resolve();
    } };
    // The clock stands still half a second into iat's second: the ttl is exact, whatever second the spec runs in.
    const iat = now();
    fakeDate().setSystemTime(iat * 1000 + 500);
    const token = server.issue({ iat, exp: iat + 300 });
    await setup.introspectorFor({ store, maxTokenAge: 10, clockTolerance: 5 })(token);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ttls).to.deep.equal([15.5]);
  });

  it('remembers an inactive answer for inactiveTtl only, so a replayed dead token cannot hammer the server', async () => {
    const { server } = setup;
    const introspect = setup.introspectorFor({}, { cache: { inactiveTtl: 5 } });
    const date = fakeDate();
    for (let i = 0; i < 10; i++) expect((await rejection(introspect('dead-token'))).code).to.equal('token_inactive');
    expect(server.requests).to.have.length(1);
    date.tick(5_001);
    await rejection(introspect('dead-token'));
    expect(server.requests).to.have.length(2);
  });

  it('does not remember refusals with inactiveTtl: 0, nor anything with cache: false', async () => {
    const { server } = setup;
    const token = server.issue();
    const noNegative = setup.introspectorFor({}, { cache: { inactiveTtl: 0 } });
    await rejection(noNegative('dead-token'));
    await rejection(noNegative('dead-token'));
    expect(server.requests).to.have.length(2);
    const uncached = setup.introspectorFor({}, { cache: false });
    await uncached(token);
    await uncached(token);
    expect(server.requests).to.have.length(4);
  });

  it('does not remember an answer that is not valid yet (nbf within the tolerance): asks until it is', async () => {
    const { server } = setup;
    const token = server.issue({ nbf: now() + 3 });
    const introspect = setup.introspectorFor({ clockTolerance: 5 });
    await introspect(token);
    await introspect(token);
    expect(server.requests).to.have.length(2);
  });

  it('keeps serving cached tokens however many made-up tokens are refused (refusals live in their own LRU)', async () => {
    const { server } = setup;
    const token = server.issue();
    const introspect = setup.introspectorFor({}, { cache: { max: 10 } });
    await introspect(token);
    for (let i = 0; i < 50; i++) await rejection(introspect(`made-up-${i}`));
    expect(server.requests).to.have.length(51);
    await introspect(token);
    expect(server.requests).to.have.length(51);
  });

  it('keys answers by a SHA-256 bound to endpoint and client, never by the token', () => {
    const key = answerKey('https://as.example.com/introspect\u0000api', 'opaque-token-value');
    expect(key).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(key).to.not.include('opaque');
    expect(answerKey('https://as.example.com/introspect\u0000other-api', 'opaque-token-value')).to.not.equal(key);
  });
});
