// ctx.state.auth.signal: an AbortSignal that aborts when the token expires (exp + clockTolerance), for
// streams and sockets that outlive the request that opened them.
import { expect } from 'chai';
import Koa from 'koa';
import { authenticate, type AuthenticateOptions, type AuthInfo, type AuthState } from '../../lib/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { bearer, request } from '../support/http.js';

const audience = 'https://api.example.com';
const now = (): number => Math.floor(Date.now() / 1000);

describe('koa/authenticate: ctx.state.auth.signal aborts at the token\'s expiry', function () {
  this.timeout(10_000);
  let issuer: TestIssuer;
  let seen: AuthInfo[];
  let aborts: Promise<number>[];

  before(async () => {
    issuer = await createTestIssuer({ audience, introspection: true });
  });
  after(() => issuer.close());
  beforeEach(() => {
    seen = [];
    aborts = [];
  });

  function appWith(options: Partial<AuthenticateOptions> = {}, read = true): Koa<AuthState> {
    const app = new Koa<AuthState>();
    app.silent = true;
    app.use(authenticate({ issuer: issuer.issuer, audience, ...options }));
    app.use((ctx) => {
      const auth = ctx.state.auth!;
      seen.push(auth);
      if (read) {
        const { signal } = auth;
        aborts.push(new Promise((resolve) => signal.addEventListener('abort', () => resolve(Date.now()), { once: true })));
      }
      ctx.body = 'ok';
    });
    return app;
  }

  it('aborts at exp + clockTolerance for a JWT, not before', async () => {
    const exp = now() + 1;
    const reply = await request(appWith({ clockTolerance: 1 }), '/', { headers: bearer(await issuer.sign({ exp })) });
    expect(reply.status).to.equal(200);
    expect(seen[0]!.signal.aborted).to.equal(false);
    const at = await aborts[0]!;
    expect(at).to.be.within((exp + 1) * 1000, (exp + 1) * 1000 + 1000);
    expect(seen[0]!.signal.reason).to.have.property('name', 'TimeoutError');
  });

  it('aborts at exp + clockTolerance for an introspected token', async () => {
    const exp = now() + 1;
    const { clientId, clientSecret } = issuer.introspection!;
    const reply = await request(appWith({ clockTolerance: 1, introspection: { clientId, clientSecret } }), '/', { headers: bearer(issuer.issueOpaque({ exp })) });
    expect(reply.status).to.equal(200);
    const at = await aborts[0]!;
    expect(at).to.be.within((exp + 1) * 1000, (exp + 1) * 1000 + 1000);
  });

  it('hands a cached token\'s requests one auth object and one signal: nothing made per request', async () => {
    const app = appWith();
    const token = await issuer.sign({ exp: now() + 600 });
    await request(app, '/', { headers: bearer(token) });
    await request(app, '/', { headers: bearer(token) });
    expect(seen[1]).to.equal(seen[0]);
    expect(seen[1]!.signal).to.equal(seen[0]!.signal);
    expect(seen[0]!.signal.aborted).to.equal(false);
  });

  it('keeps the auth object as it was when nobody reads signal (same object, frozen, signal not enumerable)', async () => {
    const app = appWith({}, false);
    const token = await issuer.sign({ exp: now() + 600 });
    await request(app, '/', { headers: bearer(token) });
    await request(app, '/', { headers: bearer(token) });
    expect(seen[1]).to.equal(seen[0]);
    expect(Object.isFrozen(seen[0])).to.equal(true);
    expect(Object.keys(seen[0]!)).to.not.include('signal');
  });

  it("reads as a plain verdict: its keys in order, signal only through the getter, a prototype nobody can change", async () => {
    const app = appWith({}, false);
    const token = await issuer.sign({ exp: now() + 600 });
    await request(app, '/', { headers: bearer(token) });
    const auth = seen[0]!;
    expect(Object.keys(auth)).to.deep.equal(['token', 'source', 'header', 'claims', 'scopes']);
    expect(Object.getOwnPropertyNames({ ...auth })).to.deep.equal(['token', 'source', 'header', 'claims', 'scopes']);
    expect(JSON.parse(JSON.stringify(auth))).to.have.keys('token', 'source', 'header', 'claims', 'scopes');
    const prototype = Object.getPrototypeOf(auth) as object;
    expect(Object.isFrozen(prototype)).to.equal(true);
    expect(() => Object.defineProperty(prototype, 'signal', { get: () => undefined })).to.throw(TypeError);
    expect(auth.signal).to.be.instanceOf(AbortSignal);
  });

  it('never aborts for an introspected token without exp (a JWT always has one)', async () => {
    const { clientId, clientSecret } = issuer.introspection!;
    const reply = await request(appWith({ introspection: { clientId, clientSecret } }), '/', { headers: bearer(issuer.issueOpaque({ exp: undefined })) });
    expect(reply.status).to.equal(200);
    expect(seen[0]!.signal.aborted).to.equal(false);
  });
});
