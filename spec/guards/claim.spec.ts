import { expect } from 'chai';
import nock from 'nock';
import { ConfigurationError, requireClaim, type AuthError } from '../../lib/index.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { authenticatedContext, guardedApp, insufficient } from './support.js';

describe('guards/requireClaim', () => {
  let provider: FakeProvider;
  beforeEach(async () => {
    provider = await fakeProvider();
  });
  afterEach(() => nock.cleanAll());

  describe('with a value', () => {
    it('passes a token whose claim equals the value', async () => {
      const app = guardedApp(provider, [requireClaim('role', 'owner')]);
      expect((await app.get(await provider.sign({ role: 'owner' }))).status).to.equal(200);
    });

    it('answers 403 insufficient_scope naming the claim, never its value, and no scope attribute', async () => {
      const app = guardedApp(provider, [requireClaim('role', 'owner')]);
      const reply = await app.get(await provider.sign({ role: 'member-of-acme' }));
      expect(reply.status).to.equal(403);
      expect(reply.headers['www-authenticate']).to.equal(insufficient('role claim not accepted for this resource'));
      expect(JSON.stringify(reply.headers) + reply.text).not.to.include('member-of-acme').and.not.to.include('owner');
      expect(app.runs()).to.equal(0);
    });

    it('refuses a token without the claim, or with it null', async () => {
      for (const claims of [{}, { role: null }]) {
        const app = guardedApp(provider, [requireClaim('role', 'owner')]);
        expect((await app.get(await provider.sign(claims))).status).to.equal(403);
      }
    });

    it('compares strictly: "true" is not true, "1" is not 1', async () => {
      const verified = guardedApp(provider, [requireClaim('email_verified', true)]);
      expect((await verified.get(await provider.sign({ email_verified: true }))).status).to.equal(200);
      expect((await verified.get(await provider.sign({ email_verified: 'true' }))).status).to.equal(403);
      const level = guardedApp(provider, [requireClaim('level', 1)]);
      expect((await level.get(await provider.sign({ level: 1 }))).status).to.equal(200);
      expect((await level.get(await provider.sign({ level: '1' }))).status).to.equal(403);
    });

    it('passes an array claim containing the value, and refuses one that does not', async () => {
      const app = guardedApp(provider, [requireClaim('roles', 'owner')]);
      expect((await app.get(await provider.sign({ roles: ['member', 'owner'] }))).status).to.equal(200);
      expect((await app.get(await provider.sign({ roles: ['member', 'owners'] }))).status).to.equal(403);
    });

    it('never matches a value inside an object claim', async () => {
      const app = guardedApp(provider, [requireClaim('role', 'owner')]);
      expect((await app.get(await provider.sign({ role: { owner: true } }))).status).to.equal(403);
      expect((await app.get(await provider.sign({ role: [['owner']] }))).status).to.equal(403);
    });
  });

  describe('with a list of values', () => {
    it('passes a claim equal to one of them', async () => {
      const app = guardedApp(provider, [requireClaim('acr', ['urn:mfa', 'urn:hw'])]);
      expect((await app.get(await provider.sign({ acr: 'urn:hw' }))).status).to.equal(200);
      expect((await app.get(await provider.sign({ acr: 'urn:pwd' }))).status).to.equal(403);
    });
  });

  describe('with a predicate', () => {
    it('passes when it returns true, with the value and all claims', async () => {
      const seen: unknown[] = [];
      const app = guardedApp(provider, [requireClaim('org_id', (value, claims) => {
        seen.push(value, claims.sub);
        return value === 'acme';
      })]);
      expect((await app.get(await provider.sign({ org_id: 'acme' }))).status).to.equal(200);
      expect(seen).to.deep.equal(['acme', 'user-1']);
    });

    it('awaits an async predicate', async () => {
      const app = guardedApp(provider, [requireClaim('org_id', async (value) => {
        await new Promise((resolve) => setImmediate(resolve));
        return value === 'acme';
      })]);
      expect((await app.get(await provider.sign({ org_id: 'acme' }))).status).to.equal(200);
      const reply = await app.get(await provider.sign({ org_id: 'evil' }));
      expect(reply.status).to.equal(403);
      expect(reply.headers['www-authenticate']).to.equal(insufficient('org_id claim not accepted for this resource'));
    });

    it('receives the Koa context as third argument, with the route\'s params', async () => {
      const seen: unknown[] = [];
      const app = guardedApp(provider, [requireClaim('org_id', (value, _claims, ctx) => {
        seen.push(ctx.path, ctx.method, ctx.params);
        return value === 'acme';
      })]);
      expect((await app.get(await provider.sign({ org_id: 'acme' }))).status).to.equal(200);
      expect(seen).to.deep.equal(['/route', 'GET', {}]);
    });

    it('refuses on any answer but true', async () => {
      for (const answer of [false, 'yes', 1, undefined]) {
        const app = guardedApp(provider, [requireClaim('org_id', () => answer as boolean)]);
        expect((await app.get(await provider.sign({ org_id: 'acme' }))).status, String(answer)).to.equal(403);
      }
    });

    it('is not called when the claim is absent', async () => {
      let calls = 0;
      const app = guardedApp(provider, [requireClaim('org_id', () => ++calls > 0)]);
      expect((await app.get(await provider.sign())).status).to.equal(403);
      expect(calls).to.equal(0);
    });

    it('lets an error thrown by the predicate propagate as the application bug it is (500)', async () => {
      const app = guardedApp(provider, [requireClaim('org_id', () => {
        throw new Error('database down');
      })]);
      expect((await app.get(await provider.sign({ org_id: 'acme' }))).status).to.equal(500);
    });
  });

  describe('as data', () => {
    it('describes the expectation without running it', () => {
      expect(requireClaim('role', 'owner').requirement).to.deep.equal({ kind: 'claim', claim: 'role', expected: '"owner"' });
      expect(requireClaim('acr', ['urn:mfa', 2, true]).requirement).to.deep.equal({ kind: 'claim', claim: 'acr', expected: 'one of "urn:mfa", 2, true' });
      expect(requireClaim('org_id', () => true).requirement).to.deep.equal({ kind: 'claim', claim: 'org_id', expected: 'predicate' });
      expect(requireClaim('org_id', 'org_4f9a', { description: 'the tenant' }).requirement).to.deep.equal({ kind: 'claim', claim: 'org_id', expected: 'the tenant' });
    });

    it('refuses with the stable code claim_requirement_failed', () => {
      const failure = requireClaim('role', 'owner').check(authenticatedContext({ role: 'member' })) as AuthError;
      expect(failure).to.include({ status: 403, error: 'insufficient_scope', code: 'claim_requirement_failed', realm: 'api' });
    });
  });

  describe('configuration', () => {
    const bad: Array<[string, () => unknown]> = [
      ['an empty name', () => requireClaim('', 'x')],
      ['an object value', () => requireClaim('role', { a: 1 } as unknown as string)],
      ['an empty list', () => requireClaim('role', [])],
      ['undefined', () => requireClaim('role', undefined as unknown as string)],
      ['NaN', () => requireClaim('level', Number.NaN)],
    ];
    for (const [label, make] of bad) {
      it(`throws a ConfigurationError at startup for ${label}`, () => {
        expect(make).to.throw(ConfigurationError);
      });
    }
  });
});
