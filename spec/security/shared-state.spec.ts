import { expect } from 'chai';
import Koa from 'koa';
import { authenticate, createVerifier, GrantedScopes, parseScopes, requireScopes, type AuthState } from '../../lib/index.js';
import { bearer, request } from '../support/http.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { refuseStrayNetwork } from './support.js';

// A verified token is cached and shared by every request that carries it (and its parts, by every
// token that parses alike): whatever a request can reach must be immutable at run time, in plain
// JavaScript as well as in TypeScript, or one request's middleware changes what the next one is granted.
describe('security: a request cannot change what another request is granted (shared verified tokens)', () => {
  let provider: FakeProvider;

  beforeEach(async () => {
    provider = await fakeProvider();
  });
  refuseStrayNetwork();

  it('answers 403 to a scope-less token after a middleware tried to add "admin" to another scope-less token', async () => {
    const attempts: string[] = [];
    const app = new Koa<AuthState>();
    app.silent = true;
    app.use(authenticate({ issuer: provider.issuer, audience: provider.audience }));
    app.use(async (ctx, next) => {
      // A buggy middleware: grants admin to the request it sees.
      try {
        (ctx.state.auth!.scopes as Set<string>).add('admin');
      } catch (error) {
        attempts.push((error as Error).message);
      }
      await next();
    });
    app.use(requireScopes('admin'));
    app.use((ctx) => {
      ctx.body = 'admin area';
    });
    const first = await provider.sign({ sub: 'alice', scope: undefined });
    const second = await provider.sign({ sub: 'bob', scope: undefined });
    expect((await request(app, '/', { headers: bearer(first) })).status).to.equal(403);
    expect((await request(app, '/', { headers: bearer(second) })).status).to.equal(403);
    expect((await request(app, '/', { headers: bearer(first) })).status).to.equal(403);
    expect(attempts).to.have.length(3);
    expect(attempts[0]).to.include('read-only');
  });

  it('gives every token a scope set of its own, empty ones included, across verifiers', async () => {
    const options = { issuer: provider.issuer, audience: provider.audience };
    const one = createVerifier(options);
    const other = createVerifier(options);
    const a = await one(await provider.sign({ sub: 'alice', scope: undefined }));
    const b = await other(await provider.sign({ sub: 'bob', scope: undefined }));
    const c = await one(await provider.sign({ sub: 'carol', scope: undefined }));
    expect(a.scopes).not.to.equal(b.scopes);
    expect(a.scopes).not.to.equal(c.scopes);
    expect(parseScopes({}, [])).not.to.equal(parseScopes({}, []));
  });

  it('refuses add, delete and clear on the scopes of a token, at run time, and keeps them', async () => {
    const verify = createVerifier({ issuer: provider.issuer, audience: provider.audience });
    const { scopes, claims } = await verify(await provider.sign({ sub: 'alice', scope: 'read:messages' }));
    const mutable = scopes as Set<string>;
    expect(() => mutable.add('admin')).to.throw(TypeError, 'read-only');
    expect(() => mutable.delete('read:messages')).to.throw(TypeError, 'read-only');
    expect(() => mutable.clear()).to.throw(TypeError, 'read-only');
    expect(Object.isFrozen(scopes)).to.equal(true);
    expect(() => Object.assign(claims, { scope: 'admin' })).to.throw(TypeError);
    expect([...scopes]).to.deep.equal(['read:messages']);
    expect(scopes).to.be.instanceOf(GrantedScopes).and.instanceOf(Set);
  });
});
