import { expect } from 'chai';
import nock from 'nock';
import { ConfigurationError, requireScopes } from '../../lib/index.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { authenticatedContext, guardedApp, insufficient } from './support.js';

describe('guards/requireScopes', () => {
  let provider: FakeProvider;
  beforeEach(async () => {
    provider = await fakeProvider();
  });
  afterEach(() => nock.cleanAll());

  describe("match: 'all' (default)", () => {
    const guard = () => requireScopes(['read:messages', 'write:messages']);

    it('passes a token holding every required scope', async () => {
      const app = guardedApp(provider, [guard()]);
      const reply = await app.get(await provider.sign({ scope: 'openid write:messages read:messages' }));
      expect(reply.status).to.equal(200);
      expect(app.runs()).to.equal(1);
    });

    it('answers 403 insufficient_scope naming every required scope when one is missing', async () => {
      const app = guardedApp(provider, [guard()]);
      const reply = await app.get(await provider.sign({ scope: 'read:messages' }));
      expect(reply.status).to.equal(403);
      expect(reply.headers['www-authenticate']).to.equal(
        insufficient('requires all of the scopes: read:messages, write:messages', 'read:messages write:messages'));
      expect(app.runs()).to.equal(0);
    });

    it('names a single required scope in plain words', async () => {
      const app = guardedApp(provider, [requireScopes('write:messages')]);
      const reply = await app.get(await provider.sign({ scope: 'read:messages' }));
      expect(reply.headers['www-authenticate']).to.equal(insufficient('requires scope write:messages', 'write:messages'));
    });

    it('answers 403 for a token without any scope claim', async () => {
      const app = guardedApp(provider, [requireScopes('read:messages')]);
      const reply = await app.get(await provider.sign({ scope: undefined }));
      expect(reply.status).to.equal(403);
      expect(reply.headers['www-authenticate']).to.equal(insufficient('requires scope read:messages', 'read:messages'));
    });

    it('uses the realm of authenticate()', async () => {
      const app = guardedApp(provider, [requireScopes('admin')], { realm: 'messages' });
      const reply = await app.get(await provider.sign({ scope: 'read:messages' }));
      expect(reply.headers['www-authenticate']).to.equal(insufficient('requires scope admin', 'admin', 'messages'));
    });
  });

  describe("match: 'any'", () => {
    const guard = () => requireScopes(['read:messages', 'messages:admin'], { match: 'any' });

    it('passes a token holding one of the scopes', async () => {
      for (const scope of ['read:messages', 'messages:admin', 'messages:admin read:messages']) {
        const app = guardedApp(provider, [guard()]);
        expect((await app.get(await provider.sign({ scope }))).status, scope).to.equal(200);
      }
    });

    it('answers 403 listing every acceptable scope when the token holds none', async () => {
      const app = guardedApp(provider, [guard()]);
      const reply = await app.get(await provider.sign({ scope: 'profile' }));
      expect(reply.status).to.equal(403);
      expect(reply.headers['www-authenticate']).to.equal(
        insufficient('requires one of the scopes: read:messages, messages:admin', 'read:messages messages:admin'));
    });
  });

  describe('where scopes come from', () => {
    it('reads scp as a space-delimited string (Entra ID)', async () => {
      const app = guardedApp(provider, [requireScopes(['read:messages', 'write:messages'])]);
      expect((await app.get(await provider.sign({ scope: undefined, scp: 'read:messages write:messages' }))).status).to.equal(200);
    });

    it('reads scp as an array (Okta)', async () => {
      const app = guardedApp(provider, [requireScopes(['read:messages', 'write:messages'])]);
      expect((await app.get(await provider.sign({ scope: undefined, scp: ['read:messages', 'write:messages'] }))).status).to.equal(200);
    });

    it('reads the claims listed in scopeClaims, e.g. Auth0 permissions', async () => {
      const app = guardedApp(provider, [requireScopes('write:messages')], { scopeClaims: ['permissions'] });
      expect((await app.get(await provider.sign({ scope: 'openid', permissions: ['write:messages'] }))).status).to.equal(200);
    });

    it('ignores permissions unless authenticate() lists them in scopeClaims', async () => {
      const app = guardedApp(provider, [requireScopes('write:messages')]);
      expect((await app.get(await provider.sign({ scope: 'openid', permissions: ['write:messages'] }))).status).to.equal(403);
    });

    it('combines scope, scp and scopeClaims', async () => {
      const app = guardedApp(provider, [requireScopes(['a', 'b', 'c'])], { scopeClaims: ['permissions'] });
      expect((await app.get(await provider.sign({ scope: 'a', scp: ['b'], permissions: ['c'] }))).status).to.equal(200);
    });
  });

  describe('whole scope tokens only', () => {
    const traps = ['read:messages-admin', 'read', 'xread:messages', 'read:messagesx', 'READ:MESSAGES', 'read:messages:all', 'messages', ':messages'];
    for (const scope of traps) {
      it(`refuses ${scope} for read:messages`, async () => {
        const app = guardedApp(provider, [requireScopes('read:messages')]);
        const reply = await app.get(await provider.sign({ scope }));
        expect(reply.status).to.equal(403);
        expect(app.runs()).to.equal(0);
      });
    }

    it('refuses read:messages for read (a longer granted scope is not a shorter one)', async () => {
      const app = guardedApp(provider, [requireScopes('read')]);
      expect((await app.get(await provider.sign({ scope: 'read:messages' }))).status).to.equal(403);
    });

    it('does not split an scp array element holding a space into two scopes', async () => {
      const app = guardedApp(provider, [requireScopes('write:messages')]);
      expect((await app.get(await provider.sign({ scope: undefined, scp: ['read:messages write:messages'] }))).status).to.equal(403);
    });
  });

  describe('scope claims of the wrong type fail closed', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['a numeric scope', { scope: 42 }],
      ['an array scope (RFC 9068 says string)', { scope: ['read:messages'] }],
      ['an object scp', { scope: undefined, scp: { 'read:messages': true } }],
      ['an scp array with a non-string', { scope: undefined, scp: ['read:messages', 7] }],
      ['a permissions object', { permissions: { read: true } }],
      ['a permissions array with null', { permissions: ['read:messages', null] }],
    ];
    for (const [label, claims] of cases) {
      it(`answers 401 invalid_token for ${label}, never 403 or 500`, async () => {
        const app = guardedApp(provider, [requireScopes('read:messages')], { scopeClaims: ['permissions'] });
        const reply = await app.get(await provider.sign(claims));
        expect(reply.status).to.equal(401);
        expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api", error="invalid_token", error_description="invalid scope claim"');
        expect(app.runs()).to.equal(0);
      });
    }
  });

  describe('as data', () => {
    it('carries its requirement', () => {
      expect(requireScopes('read:messages').requirement).to.deep.equal({ kind: 'scopes', scopes: ['read:messages'], match: 'all' });
      expect(requireScopes(['a', 'b', 'a'], { match: 'any' }).requirement).to.deep.equal({ kind: 'scopes', scopes: ['a', 'b'], match: 'any' });
    });

    it('checks without running anything downstream', () => {
      const guard = requireScopes('write:messages');
      expect(guard.check(authenticatedContext({}, ['write:messages']))).to.equal(undefined);
      const failure = guard.check(authenticatedContext({}, ['read:messages']));
      expect(failure).to.include({ status: 403, code: 'insufficient_scope', realm: 'api' });
    });
  });

  describe('configuration', () => {
    const bad: Array<[string, () => unknown]> = [
      ['no scope', () => requireScopes([])],
      ['an empty scope', () => requireScopes('')],
      ['a scope with a space', () => requireScopes('read:messages write:messages')],
      ['a scope with a quote', () => requireScopes('read"')],
      ['a non-string', () => requireScopes([42 as unknown as string])],
      ['an unknown match', () => requireScopes('a', { match: 'some' as 'any' })],
    ];
    for (const [label, make] of bad) {
      it(`throws a ConfigurationError at startup for ${label}`, () => {
        expect(make).to.throw(ConfigurationError);
      });
    }
  });
});
