import { expect } from 'chai';
import Koa from 'koa';
import nock from 'nock';
import {
  authenticate,
  ConfigurationError,
  createUserResolver,
  renderAuthErrors,
  UnknownUserError,
  type AccessTokenClaims,
  type AuthState,
  type ResolveUser,
} from '../../lib/index.js';
import { bearer, request } from '../support/http.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { rejectionOf } from '../support/rejection.js';

interface User { id: string; name: string }

const claims = (sub: string | undefined, iss = 'https://issuer.example.com/'): AccessTokenClaims =>
  ({ iss, exp: 2_000_000_000, ...(sub === undefined ? {} : { sub }) });

/** A resolver over an in-memory store that counts its calls; `gate` holds every call until released. */
function store(users: Record<string, User> = { 'user-1': { id: 'u1', name: 'Ada' }, 'user-2': { id: 'u2', name: 'Grace' } }) {
  const calls: string[] = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  const resolve: ResolveUser<object, User, unknown> = async (c) => {
    calls.push(`${c.iss} ${c.sub ?? '-'}`);
    if (gate) await gate;
    return c.sub === undefined ? undefined : users[c.sub] ?? null;
  };
  return {
    resolve,
    calls,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release() {
      gate = undefined;
      release?.();
    },
  };
}

describe('users/resolve-user', () => {
  describe('createUserResolver without a cache', () => {
    it('calls resolveUser on every request and returns what it returns', async () => {
      const s = store();
      const resolver = createUserResolver({ resolveUser: s.resolve });
      expect(await resolver(claims('user-1'), {})).to.deep.equal({ id: 'u1', name: 'Ada' });
      expect(await resolver(claims('user-1'), {})).to.deep.equal({ id: 'u1', name: 'Ada' });
      expect(s.calls).to.have.length(2);
    });

    it('passes the claims and the ctx through', async () => {
      const seen: unknown[] = [];
      const ctx = { marker: true };
      const resolver = createUserResolver({ resolveUser: (c, x) => (seen.push(c, x), 'someone') });
      const c = claims('user-1');
      await resolver(c, ctx);
      expect(seen[0]).to.equal(c);
      expect(seen[1]).to.equal(ctx);
    });

    it('refuses null and undefined with a 401 invalid_token "unknown user" carrying the realm', async () => {
      for (const answer of [null, undefined]) {
        const error = await rejectionOf(createUserResolver({ resolveUser: () => answer, realm: 'api' })(claims('user-1'), {}));
        expect(error).to.be.instanceOf(UnknownUserError);
        const e = error as UnknownUserError;
        expect([e.status, e.code, e.message]).to.deep.equal([401, 'user_unknown', 'unknown user']);
        expect(e.headers).to.deep.equal({ 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token", error_description="unknown user"' });
      }
    });

    it('refuses with a 403 without a challenge when unknownUserStatus is 403', async () => {
      const error = await rejectionOf(createUserResolver({ resolveUser: () => null, unknownUserStatus: 403 })(claims('user-1'), {})) as UnknownUserError;
      expect([error.status, error.code]).to.deep.equal([403, 'user_unknown']);
      expect(error.headers).to.deep.equal({});
      expect(error.toJSON()).to.deep.equal({ error: 'access_denied', error_description: 'unknown user' });
    });

    it('accepts falsy users other than null and undefined', async () => {
      expect(await createUserResolver({ resolveUser: () => 0 })(claims('user-1'), {})).to.equal(0);
      expect(await createUserResolver({ resolveUser: () => '' })(claims('user-1'), {})).to.equal('');
    });

    it('lets a thrown error through as the very same object, synchronous or not', async () => {
      const boom = new Error('database down');
      expect(await rejectionOf(createUserResolver({ resolveUser: () => Promise.reject(boom) })(claims('user-1'), {}))).to.equal(boom);
      expect(await rejectionOf(createUserResolver({ resolveUser: () => { throw boom; } })(claims('user-1'), {}))).to.equal(boom);
    });
  });

  describe('createUserResolver with userCache', () => {
    it('calls resolveUser once per issuer + sub while the entry lives', async () => {
      const s = store();
      const resolver = createUserResolver({ resolveUser: s.resolve, userCache: true });
      for (let i = 0; i < 5; i++) await resolver(claims('user-1'), {});
      await resolver(claims('user-2'), {});
      await resolver(claims('user-1', 'https://other-issuer.example.com/'), {});
      expect(s.calls).to.deep.equal([
        'https://issuer.example.com/ user-1',
        'https://issuer.example.com/ user-2',
        'https://other-issuer.example.com/ user-1',
      ]);
    });

    it('returns the cached user to every request, as one shared object', async () => {
      const resolver = createUserResolver({ resolveUser: store().resolve, userCache: true });
      expect(await resolver(claims('user-1'), {})).to.equal(await resolver(claims('user-1'), {}));
    });

    it('coalesces 20 concurrent requests for one user into one call, with the first request\'s ctx', async () => {
      const s = store();
      const ctxs: unknown[] = [];
      const resolver = createUserResolver<object, User, number>({ resolveUser: (c, ctx) => (ctxs.push(ctx), s.resolve(c, ctx)), userCache: true });
      s.hold();
      const pending = Array.from({ length: 20 }, (_, i) => resolver(claims(i % 2 === 0 ? 'user-1' : 'user-2'), i));
      await new Promise((r) => setImmediate(r));
      s.release();
      const users = await Promise.all(pending);
      expect(s.calls).to.have.length(2);
      expect(ctxs).to.deep.equal([0, 1]);
      expect(users.map((u) => u.id)).to.deep.equal(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'u1' : 'u2')));
    });

    it('calls again once the ttl has passed (default 60 s)', async () => {
      let now = 1_700_000_000_000;
      const s = store();
      const resolver = createUserResolver({ resolveUser: s.resolve, userCache: true, now: () => now });
      await resolver(claims('user-1'), {});
      now += 60_000;
      await resolver(claims('user-1'), {});
      expect(s.calls).to.have.length(1);
      now += 1;
      await resolver(claims('user-1'), {});
      expect(s.calls).to.have.length(2);
    });

    it('honours a custom ttl', async () => {
      let now = 1_700_000_000_000;
      const s = store();
      const resolver = createUserResolver({ resolveUser: s.resolve, userCache: { ttl: 5 }, now: () => now });
      await resolver(claims('user-1'), {});
      now += 5_001;
      await resolver(claims('user-1'), {});
      expect(s.calls).to.have.length(2);
    });

    it('keeps at most max users, evicting the least recently used', async () => {
      const users = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, { id, name: id }]));
      const s = store(users);
      const resolver = createUserResolver({ resolveUser: s.resolve, userCache: { max: 2 } });
      await resolver(claims('a'), {});
      await resolver(claims('b'), {});
      await resolver(claims('a'), {}); // a is now the most recent
      await resolver(claims('c'), {}); // evicts b
      await resolver(claims('a'), {});
      await resolver(claims('b'), {});
      expect(s.calls.map((c) => c.split(' ')[1])).to.deep.equal(['a', 'b', 'c', 'b']);
    });

    it('never caches a miss: a user created a moment later is found', async () => {
      const users: Record<string, User> = {};
      const s = store(users);
      const resolver = createUserResolver({ resolveUser: s.resolve, userCache: true });
      expect(await rejectionOf(resolver(claims('new'), {}))).to.be.instanceOf(UnknownUserError);
      users.new = { id: 'n', name: 'New' };
      expect(await resolver(claims('new'), {})).to.deep.equal({ id: 'n', name: 'New' });
      expect(s.calls).to.have.length(2);
    });

    it('never caches an error, and hands the same error to every coalesced request', async () => {
      const boom = new Error('database down');
      let calls = 0;
      const resolver = createUserResolver({
        resolveUser: async () => {
          calls++;
          await new Promise((r) => setImmediate(r));
          if (calls === 1) throw boom;
          return 'user';
        },
        userCache: true,
      });
      const errors = await Promise.all([1, 2, 3].map(() => rejectionOf(resolver(claims('user-1'), {}))));
      expect(errors).to.deep.equal([boom, boom, boom]);
      errors.forEach((e) => expect(e).to.equal(boom));
      expect(await resolver(claims('user-1'), {})).to.equal('user');
      expect(calls).to.equal(2);
    });

    it('recovers after a resolveUser that throws synchronously', async () => {
      let calls = 0;
      const resolver = createUserResolver({
        resolveUser: () => {
          if (++calls === 1) throw new Error('sync');
          return 'user';
        },
        userCache: true,
      });
      await rejectionOf(resolver(claims('user-1'), {}));
      expect(await resolver(claims('user-1'), {})).to.equal('user');
    });

    it('never caches a token without sub', async () => {
      let calls = 0;
      const resolver = createUserResolver({ resolveUser: () => `client ${++calls}`, userCache: true });
      await resolver(claims(undefined), {});
      expect(await resolver(claims(undefined), {})).to.equal('client 2');
    });
  });

  describe('configuration', () => {
    const bad: Array<[string, () => unknown, string]> = [
      ['resolveUser not a function', () => createUserResolver({ resolveUser: 'users' as never }), '`resolveUser` must be a function'],
      ['userCache.max of 0', () => createUserResolver({ resolveUser: () => 1, userCache: { max: 0 } }), '`userCache.max` must be a positive integer'],
      ['userCache.max not an integer', () => createUserResolver({ resolveUser: () => 1, userCache: { max: 1.5 } }), '`userCache.max` must be a positive integer'],
      ['userCache.ttl negative', () => createUserResolver({ resolveUser: () => 1, userCache: { ttl: -1 } }), '`userCache.ttl` must be a positive number of seconds'],
      ['unknownUserStatus 404', () => createUserResolver({ resolveUser: () => 1, unknownUserStatus: 404 as never }), '`unknownUserStatus` must be 401 or 403'],
    ];
    for (const [label, build, message] of bad) {
      it(`throws a ConfigurationError at startup for ${label}`, () => {
        expect(build).to.throw(ConfigurationError, message);
      });
    }
  });

  describe('through authenticate()', () => {
    let provider: FakeProvider;
    const users = new Map<string, User>([['user-1', { id: 'u1', name: 'Ada' }]]);
    let calls: number;

    function appWith(options: { userCache?: boolean; unknownUserStatus?: 401 | 403; resolveUser?: ResolveUser<object, User, unknown>; optional?: boolean }) {
      const app = new Koa<AuthState<AccessTokenClaims, User>>();
      app.silent = true;
      app.use(authenticate({
        issuer: provider.issuer,
        audience: provider.audience,
        resolveUser: (c) => {
          calls++;
          return users.get(c.sub!) ?? null;
        },
        ...options,
      }));
      app.use((ctx) => {
        // Typed through the generic: ctx.state.user is a User, not claims.
        const user: User | undefined = ctx.state.user;
        ctx.body = { user: user ?? null, sub: ctx.state.auth?.claims.sub ?? null };
      });
      return app;
    }

    beforeEach(async () => {
      provider = await fakeProvider();
      calls = 0;
    });
    afterEach(() => nock.cleanAll());

    it('sets ctx.state.user to the resolved user and keeps the claims on ctx.state.auth.claims', async () => {
      const reply = await request(appWith({}), '/', { headers: bearer(await provider.sign()) });
      expect(reply.status).to.equal(200);
      expect(reply.json()).to.deep.equal({ user: { id: 'u1', name: 'Ada' }, sub: 'user-1' });
    });

    it('answers 401 invalid_token "unknown user" when resolveUser finds nobody', async () => {
      const reply = await request(appWith({}), '/', { headers: bearer(await provider.sign({ sub: 'stranger' })) });
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api", error="invalid_token", error_description="unknown user"');
      expect(reply.text).to.equal('unknown user');
    });

    it('answers 403 without a challenge when unknownUserStatus is 403, and access_denied as JSON', async () => {
      const token = await provider.sign({ sub: 'stranger' });
      const reply = await request(appWith({ unknownUserStatus: 403 }), '/', { headers: bearer(token) });
      expect(reply.status).to.equal(403);
      expect(reply.headers['www-authenticate']).to.equal(undefined);
      const json = new Koa();
      json.use(renderAuthErrors()).use(appWith({ unknownUserStatus: 403 }).middleware[0]!);
      const rendered = await request(json, '/', { headers: bearer(token) });
      expect([rendered.status, rendered.json()]).to.deep.equal([403, { error: 'access_denied', error_description: 'unknown user' }]);
    });

    it('answers 500 for a thrown error, which reaches the app unchanged and carries nothing about the token', async () => {
      const boom = new Error('database down');
      const app = appWith({ resolveUser: () => Promise.reject(boom) });
      const seen: unknown[] = [];
      app.on('error', (error) => seen.push(error));
      const token = await provider.sign();
      const reply = await request(app, '/', { headers: bearer(token) });
      expect(reply.status).to.equal(500);
      expect(reply.text).to.equal('Internal Server Error');
      expect(reply.headers['www-authenticate']).to.equal(undefined);
      expect(seen).to.have.length(1);
      expect(seen[0]).to.equal(boom);
      // Koa's own handler sets `status`; we add nothing (no realm, no code, no token).
      expect(Object.keys(boom)).to.deep.equal(['status']);
      expect(JSON.stringify(reply.headers) + reply.text + boom.message + String(boom.stack)).not.to.include(token.split('.')[1]!);
    });

    it('never calls resolveUser for a token that failed verification', async () => {
      const reply = await request(appWith({}), '/', { headers: bearer(await provider.sign({ exp: 1 })) });
      expect(reply.status).to.equal(401);
      expect(calls).to.equal(0);
    });

    it('never calls resolveUser for an optional request without credentials', async () => {
      const reply = await request(appWith({ optional: true }), '/');
      expect([reply.status, reply.json(), calls]).to.deep.equal([200, { user: null, sub: null }, 0]);
    });

    it('with userCache, calls resolveUser once across requests carrying different tokens of one user', async () => {
      const app = appWith({ userCache: true });
      for (let i = 0; i < 3; i++) {
        const reply = await request(app, '/', { headers: bearer(await provider.sign({ jti: `t${i}` })) });
        expect(reply.json()).to.deep.equal({ user: { id: 'u1', name: 'Ada' }, sub: 'user-1' });
      }
      expect(calls).to.equal(1);
    });

    it('with userCache, calls resolveUser once for 10 concurrent requests of one user', async () => {
      const app = appWith({ userCache: true });
      const token = await provider.sign();
      const replies = await Promise.all(Array.from({ length: 10 }, () => request(app, '/', { headers: bearer(token) })));
      expect(replies.map((r) => r.status)).to.deep.equal(Array.from({ length: 10 }, () => 200));
      expect(calls).to.equal(1);
    });
  });
});
