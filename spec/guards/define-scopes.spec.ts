import { expect } from 'chai';
import nock from 'nock';
import { anyOf, ConfigurationError, defineScopes, describeRoutes, requireScopes, scopesOf } from '../../lib/index.js';
import Router from '@koa/router';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { guardedApp, insufficient } from './support.js';

describe('guards/defineScopes', () => {
  const scopes = defineScopes(['read:messages', 'write:messages', 'admin'] as const);

  it('lists the declared scopes in order, for scopes_supported', () => {
    expect(scopes.names).to.deep.equal(['read:messages', 'write:messages', 'admin']);
    expect(Object.isFrozen(scopes.names)).to.equal(true);
  });

  it('makes a misspelt scope a compile error and a startup error', () => {
    // @ts-expect-error -- 'read:mesages' is not a declared scope: this line must not compile.
    expect(() => scopes.requireScopes('read:mesages')).to.throw(ConfigurationError, /undeclared scope "read:mesages"/);
    // @ts-expect-error -- one misspelt scope in a list is enough.
    expect(() => scopes.requireScopes(['read:messages', 'wrte:messages'])).to.throw(ConfigurationError, /"wrte:messages"/);
  });

  it('narrows a string to the declared names', () => {
    const input: string = 'admin';
    expect(scopes.has(input)).to.equal(true);
    if (scopes.has(input)) {
      const declared: 'read:messages' | 'write:messages' | 'admin' = input;
      expect(declared).to.equal('admin');
    }
    expect(scopes.has('root')).to.equal(false);
  });

  it('throws a ConfigurationError for an empty list or a name that is not a scope token', () => {
    expect(() => defineScopes([])).to.throw(ConfigurationError);
    expect(() => defineScopes(['read messages'])).to.throw(ConfigurationError);
  });

  describe('its requireScopes', () => {
    let provider: FakeProvider;
    beforeEach(async () => {
      provider = await fakeProvider();
    });
    afterEach(() => nock.cleanAll());

    it('guards like requireScopes', async () => {
      const guard = scopes.requireScopes(['read:messages', 'admin'], { match: 'any' });
      expect(guard.requirement).to.deep.equal({ kind: 'scopes', scopes: ['read:messages', 'admin'], match: 'any' });
      const app = guardedApp(provider, [scopes.requireScopes('write:messages')]);
      expect((await app.get(await provider.sign({ scope: 'write:messages' }))).status).to.equal(200);
      expect((await app.get(await provider.sign({ scope: 'read:messages' }))).status).to.equal(403);
    });
  });

  describe('declared with implications', () => {
    const messages = defineScopes({
      'messages:admin': ['messages:read', 'messages:write'],
      'messages:read': [],
      'messages:write': [],
    });
    let provider: FakeProvider;
    beforeEach(async () => {
      provider = await fakeProvider();
    });
    afterEach(() => nock.cleanAll());

    it('lists the declared names in declaration order', () => {
      expect(messages.names).to.deep.equal(['messages:admin', 'messages:read', 'messages:write']);
      expect(messages.has('messages:admin')).to.equal(true);
    });

    it('lets a token holding the implying scope pass, and one holding the implied scope too', async () => {
      const app = guardedApp(provider, [messages.requireScopes('messages:read')]);
      expect((await app.get(await provider.sign({ scope: 'messages:admin' }))).status).to.equal(200);
      expect((await app.get(await provider.sign({ scope: 'messages:read' }))).status).to.equal(200);
      expect(app.runs()).to.equal(2);
    });

    it('never implies upwards: an implied scope does not satisfy the implying one', async () => {
      const app = guardedApp(provider, [messages.requireScopes('messages:admin')]);
      expect((await app.get(await provider.sign({ scope: 'messages:read messages:write' }))).status).to.equal(403);
    });

    it('satisfies every required scope of match all, and match any, through one implying scope', async () => {
      const all = guardedApp(provider, [messages.requireScopes(['messages:read', 'messages:write'])]);
      expect((await all.get(await provider.sign({ scope: 'messages:admin' }))).status).to.equal(200);
      expect((await all.get(await provider.sign({ scope: 'messages:read' }))).status).to.equal(403);
      const any = guardedApp(provider, [messages.requireScopes(['messages:read', 'messages:write'], { match: 'any' })]);
      expect((await any.get(await provider.sign({ scope: 'messages:admin' }))).status).to.equal(200);
    });

    it('follows implications transitively', async () => {
      const chain = defineScopes({ root: ['admin'], admin: ['read'], read: [], other: [] });
      const app = guardedApp(provider, [chain.requireScopes('read')]);
      expect((await app.get(await provider.sign({ scope: 'root' }))).status).to.equal(200);
      expect((await app.get(await provider.sign({ scope: 'other' }))).status).to.equal(403);
    });

    it('takes implications from the declaration only: plain requireScopes() and the token add none', async () => {
      const plain = guardedApp(provider, [requireScopes('messages:read')]);
      expect((await plain.get(await provider.sign({ scope: 'messages:admin' }))).status).to.equal(403);
      const declared = guardedApp(provider, [messages.requireScopes('messages:read')]);
      // A token cannot declare implications of its own, whatever claims it carries.
      const claims = { scope: 'messages:write', implies: { 'messages:write': ['messages:read'] }, 'messages:write': ['messages:read'] };
      expect((await declared.get(await provider.sign(claims))).status).to.equal(403);
    });

    it('answers 403 naming the scope the route requires, not the implying ones', async () => {
      const app = guardedApp(provider, [messages.requireScopes('messages:read')]);
      const reply = await app.get(await provider.sign({ scope: 'messages:write' }));
      expect(reply.status).to.equal(403);
      expect(reply.headers['www-authenticate']).to.equal(insufficient('requires scope messages:read', 'messages:read'));
    });

    it('composes in anyOf', async () => {
      const app = guardedApp(provider, [anyOf(messages.requireScopes('messages:write'), requireScopes('audit'))]);
      expect((await app.get(await provider.sign({ scope: 'messages:admin' }))).status).to.equal(200);
    });

    it('shows the required names in describeRoutes, with the scopes implying them, and scopesOf lists both', () => {
      const router = new Router();
      router.get('/messages', messages.requireScopes('messages:read'), () => undefined);
      router.get('/admin', messages.requireScopes('messages:admin'), () => undefined);
      const routes = describeRoutes(router);
      expect(routes.map((r) => r.requirements)).to.deep.equal([
        [{ kind: 'scopes', scopes: ['messages:read'], match: 'all', impliedBy: { 'messages:read': ['messages:admin'] } }],
        [{ kind: 'scopes', scopes: ['messages:admin'], match: 'all' }],
      ]);
      expect(scopesOf(routes.flatMap((r) => r.requirements))).to.deep.equal(['messages:read', 'messages:admin']);
    });

    it('lists every transitively implying scope, in declaration order', () => {
      const chain = defineScopes({ root: ['admin'], admin: ['read'], read: [], backup: ['read'] });
      expect(chain.requireScopes('read').requirement).to.deep.equal({ kind: 'scopes', scopes: ['read'], match: 'all', impliedBy: { read: ['root', 'admin', 'backup'] } });
    });

    it('throws a ConfigurationError naming a cycle', () => {
      expect(() => defineScopes({ a: ['b'], b: ['c'], c: ['a'] })).to.throw(ConfigurationError, /a → b → c → a imply each other in a cycle/);
      expect(() => defineScopes({ x: [], a: ['b'], b: ['a'] })).to.throw(ConfigurationError, /a → b → a/);
      expect(() => defineScopes({ self: ['self'] })).to.throw(ConfigurationError, /self → self/);
    });

    it('throws a ConfigurationError for an implied scope that is not declared (a compile error in TypeScript)', () => {
      // @ts-expect-error -- 'messages:raed' is not declared: this line must not compile.
      expect(() => defineScopes({ 'messages:admin': ['messages:raed'], 'messages:read': [] })).to.throw(ConfigurationError, /"messages:admin" implies "messages:raed", which is not declared/);
    });

    it('throws a ConfigurationError for implications that are not an array, or a name that is not a scope token', () => {
      expect(() => defineScopes({ admin: 'read', read: [] } as never)).to.throw(ConfigurationError, /"admin" must list the scopes it implies as an array/);
      expect(() => defineScopes({ 'read messages': [] })).to.throw(ConfigurationError, /RFC 6749 3.3/);
      expect(() => defineScopes({})).to.throw(ConfigurationError);
    });

    it('keeps the compile-time check on its requireScopes', () => {
      // @ts-expect-error -- 'messages:delete' is not declared.
      expect(() => messages.requireScopes('messages:delete')).to.throw(ConfigurationError, /undeclared scope "messages:delete"/);
    });

    it('treats scope names like constructor or __proto__ as plain names', async () => {
      const odd = defineScopes<string>({ ['__proto__']: ['constructor'], constructor: [], toString: [] });
      expect(odd.names).to.deep.equal(['__proto__', 'constructor', 'toString']);
      const app = guardedApp(provider, [odd.requireScopes('constructor')]);
      expect((await app.get(await provider.sign({ scope: '__proto__' }))).status).to.equal(200);
      expect(scopesOf(odd.requireScopes('toString').requirement)).to.deep.equal(['toString']);
    });
  });
});
