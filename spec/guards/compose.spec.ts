import { expect } from 'chai';
import nock from 'nock';
import { allOf, anyOf, ConfigurationError, publicRoute, requireAudience, requireClaim, requireScopes, type Guard } from '../../lib/index.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { guardedApp, insufficient } from './support.js';

describe('guards/compose', () => {
  const api = 'https://api.example.com';
  const adminApi = 'https://admin.example.com';
  let provider: FakeProvider;
  beforeEach(async () => {
    provider = await fakeProvider({ audience: api });
  });
  afterEach(() => nock.cleanAll());

  const app = (guard: Guard) => guardedApp(provider, [guard], { audience: [api, adminApi] });

  describe('anyOf', () => {
    const admin = () => anyOf(requireScopes('admin'), requireClaim('role', 'owner'));

    it('passes when either branch passes', async () => {
      expect((await app(admin()).get(await provider.sign({ scope: 'admin' }))).status).to.equal(200);
      expect((await app(admin()).get(await provider.sign({ scope: 'read:messages', role: 'owner' }))).status).to.equal(200);
    });

    it('runs the downstream handler exactly once when several branches pass', async () => {
      const guarded = app(admin());
      expect((await guarded.get(await provider.sign({ scope: 'admin', role: 'owner' }))).status).to.equal(200);
      expect(guarded.runs()).to.equal(1);
    });

    it('stops at the first branch that passes', async () => {
      let later = 0;
      const guarded = app(anyOf(requireScopes('admin'), requireClaim('role', () => ++later > 0)));
      expect((await guarded.get(await provider.sign({ scope: 'admin', role: 'owner' }))).status).to.equal(200);
      expect(later).to.equal(0);
    });

    it('answers with the 403 that names a scope when every branch fails, whatever the order', async () => {
      for (const guard of [admin(), anyOf(requireClaim('role', 'owner'), requireScopes('admin'))]) {
        const guarded = app(guard);
        const reply = await guarded.get(await provider.sign({ scope: 'read:messages', role: 'member' }));
        expect(reply.status).to.equal(403);
        expect(reply.headers['www-authenticate']).to.equal(insufficient('requires scope admin', 'admin'));
        expect(guarded.runs()).to.equal(0);
      }
    });

    it('prefers a 403 to a 401 from requireAudience when every branch fails', async () => {
      const reply = await app(anyOf(requireAudience(adminApi), requireClaim('role', 'owner'))).get(await provider.sign({ role: 'member' }));
      expect(reply.status).to.equal(403);
      expect(reply.headers['www-authenticate']).to.equal(insufficient('role claim not accepted for this resource'));
    });

    it('answers the 401 of requireAudience when it is the only kind of failure', async () => {
      const reply = await app(anyOf(requireAudience(adminApi), requireAudience('https://ops.example.com'))).get(await provider.sign());
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal(
        'Bearer realm="api", error="invalid_token", error_description="token audience not accepted for this resource"');
    });

    it('evaluates async branches in order', async () => {
      const guarded = app(anyOf(requireClaim('org_id', async () => Promise.resolve(false)), requireClaim('org_id', async (v) => Promise.resolve(v === 'acme'))));
      expect((await guarded.get(await provider.sign({ org_id: 'acme' }))).status).to.equal(200);
      expect((await guarded.get(await provider.sign({ org_id: 'evil' }))).status).to.equal(403);
      expect(guarded.runs()).to.equal(1);
    });
  });

  describe('allOf', () => {
    it('passes only when every branch passes', async () => {
      const guard = () => allOf(requireScopes('write:messages'), requireClaim('email_verified', true));
      expect((await app(guard()).get(await provider.sign({ scope: 'write:messages', email_verified: true }))).status).to.equal(200);
      const unverified = await app(guard()).get(await provider.sign({ scope: 'write:messages', email_verified: false }));
      expect(unverified.status).to.equal(403);
      expect(unverified.headers['www-authenticate']).to.equal(insufficient('email_verified claim not accepted for this resource'));
    });

    it('names every scope the whole allOf requires, so the client asks for all at once', async () => {
      const guard = () => allOf(requireScopes('read:messages'), requireClaim('email_verified', true), requireScopes(['write:messages', 'read:messages']));
      for (const scope of ['profile', 'read:messages']) {
        const reply = await app(guard()).get(await provider.sign({ scope, email_verified: true }));
        expect(reply.status, scope).to.equal(403);
        expect(reply.headers['www-authenticate'], scope).to.equal(
          insufficient('requires all of the scopes: read:messages, write:messages', 'read:messages write:messages'));
      }
    });

    it("keeps a match: 'any' refusal as it is rather than claiming every scope is needed", async () => {
      const guard = allOf(requireScopes(['a', 'b'], { match: 'any' }), requireScopes('c'));
      const reply = await app(guard).get(await provider.sign({ scope: 'c' }));
      expect(reply.headers['www-authenticate']).to.equal(insufficient('requires one of the scopes: a, b', 'a b'));
    });

    it('stops at the first failing branch', async () => {
      let later = 0;
      const reply = await app(allOf(requireScopes('admin'), requireClaim('role', () => ++later > 0))).get(await provider.sign());
      expect(reply.status).to.equal(403);
      expect(later).to.equal(0);
    });
  });

  describe('nested two deep', () => {
    // Moderators with a verified e-mail, or admins holding a token for the admin API.
    const guard = () => anyOf(
      allOf(requireScopes('messages:moderate'), requireClaim('email_verified', true)),
      allOf(requireScopes('admin'), requireAudience(adminApi)),
    );
    const cases: Array<[string, Record<string, unknown>, number]> = [
      ['a verified moderator', { scope: 'messages:moderate', email_verified: true }, 200],
      ['an unverified moderator', { scope: 'messages:moderate', email_verified: false }, 403],
      ['an admin with an admin-API token', { scope: 'admin', aud: adminApi }, 200],
      ['an admin with an API token', { scope: 'admin', aud: api }, 403],
      ['a verified user without either scope', { scope: 'read:messages', email_verified: true }, 403],
    ];
    for (const [label, claims, status] of cases) {
      it(`answers ${status} for ${label}`, async () => {
        const guarded = app(guard());
        expect((await guarded.get(await provider.sign(claims))).status).to.equal(status);
        expect(guarded.runs()).to.equal(status === 200 ? 1 : 0);
      });
    }

    it('names the scope of the first branch when nothing passes', async () => {
      const reply = await app(guard()).get(await provider.sign({ scope: 'read:messages' }));
      expect(reply.headers['www-authenticate']).to.equal(insufficient('requires scope messages:moderate', 'messages:moderate'));
    });

    it('works the other way round: allOf of anyOf', async () => {
      const inverted = () => allOf(anyOf(requireScopes('a'), requireScopes('b')), anyOf(requireClaim('tier', 'gold'), requireScopes('c')));
      expect((await app(inverted()).get(await provider.sign({ scope: 'b', tier: 'gold' }))).status).to.equal(200);
      expect((await app(inverted()).get(await provider.sign({ scope: 'a c' }))).status).to.equal(200);
      const reply = await app(inverted()).get(await provider.sign({ scope: 'b', tier: 'silver' }));
      expect(reply.headers['www-authenticate']).to.equal(insufficient('requires all of the scopes: a, c', 'a c'));
    });

    it('carries the whole tree as data', () => {
      expect(guard().requirement).to.deep.equal({
        kind: 'anyOf',
        requirements: [
          { kind: 'allOf', requirements: [{ kind: 'scopes', scopes: ['messages:moderate'], match: 'all' }, { kind: 'claim', claim: 'email_verified', expected: 'true' }] },
          { kind: 'allOf', requirements: [{ kind: 'scopes', scopes: ['admin'], match: 'all' }, { kind: 'audience', audiences: [adminApi] }] },
        ],
      });
    });
  });

  describe('configuration', () => {
    it('throws a ConfigurationError for no guard, or something that is not a guard', () => {
      expect(() => anyOf()).to.throw(ConfigurationError);
      expect(() => allOf()).to.throw(ConfigurationError);
      expect(() => anyOf(publicRoute() as unknown as Guard)).to.throw(ConfigurationError, /argument 1 is not a guard/);
      expect(() => allOf(requireScopes('a'), ((_ctx: unknown, next: () => Promise<void>) => next()) as unknown as Guard)).to.throw(ConfigurationError, /argument 2/);
    });
  });
});
