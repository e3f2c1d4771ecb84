import { expect } from 'chai';
import nock from 'nock';
import { ConfigurationError, defineScopes } from '../../lib/index.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { guardedApp } from './support.js';

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
});
