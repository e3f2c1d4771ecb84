import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import { authenticate, requireScopes, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { nonceSource } from '../../lib/dpop/nonce.js';
import { createDpopKey, createTestIssuer, type TestDpopKey, type TestIssuer } from '../../lib/testing/index.js';
import { ALGS, dpop, serve, type Served } from './support.js';

const AUDIENCE = 'https://api.example.com';
const SECRET = 'a-nonce-secret-of-at-least-thirty-two-bytes';

describe('dpop/authenticate: DPoP-bound tokens through authenticate() (RFC 9449)', () => {
  let issuer: TestIssuer;
  let key: TestDpopKey;
  let other: TestDpopKey;
  const served: Served[] = [];

  before(async () => {
    issuer = await createTestIssuer({ audience: AUDIENCE });
    key = await createDpopKey();
    other = await createDpopKey('EdDSA');
  });
  after(() => issuer.close());
  afterEach(async () => {
    await Promise.all(served.splice(0).map((s) => s.close()));
  });

  async function start(dpopOptions: AuthenticateOptions['dpop'], extra: Partial<AuthenticateOptions> = {}, setup?: (app: Koa<AuthState>) => void): Promise<Served> {
    const app = new Koa<AuthState>();
    app.silent = true;
    setup?.(app);
    const router = new Router<AuthState>();
    router.get('/messages', (ctx) => {
      ctx.body = { sub: ctx.state.user?.sub, dpop: ctx.state.auth?.dpop ?? null };
    });
    router.post('/messages', requireScopes('write:messages'), (ctx) => {
      ctx.body = { sub: ctx.state.user?.sub };
    });
    app.use(authenticate({ issuer: issuer.issuer, audience: AUDIENCE, ...(dpopOptions === undefined ? {} : { dpop: dpopOptions }), ...extra }));
    app.use(router.routes());
    const s = await serve(app);
    served.push(s);
    return s;
  }

  describe('accepts', () => {
    it('a bound token with a proof of its key: 200 and ctx.state.auth.dpop.jkt', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { dpopKey: key });
      const proof = await key.proof({ method: 'GET', url: `${s.origin}/messages`, accessToken: token });
      const reply = await s.send('/messages', { headers: dpop(token, proof) });
      expect(reply.status).to.equal(200);
      expect(reply.json()).to.deep.equal({ sub: 'test-user', dpop: { jkt: key.jkt } });
    });

    it('an EdDSA proof key (RFC 8037) by default', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { dpopKey: other });
      const proof = await other.proof({ method: 'GET', url: `${s.origin}/messages?page=2`, accessToken: token });
      expect((await s.send('/messages?page=2', { headers: dpop(token, proof) })).status).to.equal(200);
    });

    it('an unbound token with Bearer while DPoP is not required', async () => {
      const s = await start({});
      const token = await issuer.sign();
      expect((await s.send('/messages', { headers: { authorization: `Bearer ${token}` } })).json()).to.deep.equal({ sub: 'test-user', dpop: null });
    });

    it('the scheme in any case', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { dpopKey: key });
      const proof = await key.proof({ method: 'GET', url: `${s.origin}/messages`, accessToken: token });
      expect((await s.send('/messages', { headers: { authorization: `dpop ${token}`, DPoP: proof } })).status).to.equal(200);
    });
  });

  describe('ctx.state.auth of a DPoP request', () => {
    it('is frozen, with dpop.jkt and signal, and one object per token: a middleware cannot change what the next request of the token sees', async () => {
      const seen: unknown[] = [];
      const s = await start({}, {}, (app) => app.use(async (ctx, next) => {
        await next();
        const auth = ctx.state.auth!;
        seen.push(auth);
        expect(Object.isFrozen(auth)).to.equal(true);
        expect(() => {
          (auth as { dpop?: unknown }).dpop = { jkt: 'another' };
        }).to.throw(TypeError);
        expect(auth.signal).to.be.instanceOf(AbortSignal);
        expect(auth.signal.aborted).to.equal(false);
      }));
      const token = await issuer.sign({}, { dpopKey: key });
      for (let i = 0; i < 2; i++) {
        const reply = await s.send('/messages', { headers: dpop(token, await key.proof({ method: 'GET', url: `${s.origin}/messages`, accessToken: token })) });
        expect(reply.status).to.equal(200);
        expect(reply.json()).to.deep.equal({ sub: 'test-user', dpop: { jkt: key.jkt } });
      }
      expect(seen).to.have.length(2);
      expect(seen[0]).to.equal(seen[1]);
    });
  });

  describe('challenges (RFC 9449 7.1)', () => {
    it('a request without credentials gets Bearer first, then DPoP algs', async () => {
      const s = await start({});
      const reply = await s.send('/messages');
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal(`Bearer realm="api", DPoP algs="${ALGS}"`);
    });

    it('names the configured algorithms only', async () => {
      const s = await start({ algorithms: ['ES256', 'EdDSA'] });
      expect((await s.send('/messages')).headers['www-authenticate']).to.equal('Bearer realm="api", DPoP algs="ES256 EdDSA"');
    });

    it('with required: true offers DPoP only', async () => {
      const s = await start({ required: true });
      expect((await s.send('/messages')).headers['www-authenticate']).to.equal(`DPoP algs="${ALGS}"`);
    });

    it('without dpop, challenges stay Bearer only', async () => {
      const s = await start(undefined);
      expect((await s.send('/messages')).headers['www-authenticate']).to.equal('Bearer realm="api"');
    });

    it('an invalid token sent with DPoP is refused in a DPoP challenge', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { dpopKey: key, expired: true });
      const proof = await key.proof({ method: 'GET', url: `${s.origin}/messages`, accessToken: token });
      const reply = await s.send('/messages', { headers: dpop(token, proof) });
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal(`DPoP error="invalid_token", error_description="token expired", algs="${ALGS}"`);
    });

    it('an invalid Bearer token keeps its Bearer challenge first, DPoP algs after', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { expired: true });
      const reply = await s.send('/messages', { headers: { authorization: `Bearer ${token}` } });
      expect(reply.headers['www-authenticate']).to.equal(`Bearer realm="api", error="invalid_token", error_description="token expired", DPoP algs="${ALGS}"`);
    });

    it('a guard refusing a DPoP request answers with a DPoP insufficient_scope challenge', async () => {
      const s = await start({});
      const token = await issuer.sign({ scope: 'read:messages' }, { dpopKey: key });
      const proof = await key.proof({ method: 'POST', url: `${s.origin}/messages`, accessToken: token });
      const reply = await s.send('/messages', { method: 'POST', headers: dpop(token, proof) });
      expect(reply.status).to.equal(403);
      expect(reply.headers['www-authenticate']).to.equal(`DPoP error="insufficient_scope", error_description="requires scope write:messages", scope="write:messages", algs="${ALGS}"`);
    });

    it('a bad proof is invalid_dpop_proof in a DPoP challenge, with nothing of the proof in the answer', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { dpopKey: key });
      const proof = await key.proof({ method: 'GET', url: `${s.origin}/elsewhere`, accessToken: token });
      const reply = await s.send('/messages', { headers: dpop(token, proof) });
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal(`DPoP error="invalid_dpop_proof", error_description="DPoP proof htu mismatch", algs="${ALGS}"`);
      for (const part of proof.split('.')) expect(JSON.stringify(reply.headers) + reply.text).not.to.include(part);
    });
  });

  describe('downgrades (RFC 9449 7.2)', () => {
    it('refuses a bound token presented with Bearer', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { dpopKey: key });
      const reply = await s.send('/messages', { headers: { authorization: `Bearer ${token}` } });
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal(`Bearer realm="api", error="invalid_token", error_description="token bound to a DPoP key needs a DPoP proof", DPoP algs="${ALGS}"`);
    });

    it('refuses a bound token with Bearer even when a valid proof rides along', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { dpopKey: key });
      const proof = await key.proof({ method: 'GET', url: `${s.origin}/messages`, accessToken: token });
      expect((await s.send('/messages', { headers: { authorization: `Bearer ${token}`, dpop: proof } })).status).to.equal(401);
    });

    it('refuses a bound token when dpop is not configured: its binding cannot be checked', async () => {
      const s = await start(undefined);
      const token = await issuer.sign({}, { dpopKey: key });
      const reply = await s.send('/messages', { headers: { authorization: `Bearer ${token}` } });
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api", error="invalid_token", error_description="token bound to a DPoP key not accepted here"');
    });

    it('refuses an unbound token presented with DPoP', async () => {
      const s = await start({});
      const token = await issuer.sign();
      const proof = await key.proof({ method: 'GET', url: `${s.origin}/messages`, accessToken: token });
      const reply = await s.send('/messages', { headers: dpop(token, proof) });
      expect(reply.headers['www-authenticate']).to.equal(`DPoP error="invalid_token", error_description="token not bound to a DPoP key", algs="${ALGS}"`);
    });

    it('with required: true refuses an unbound Bearer token', async () => {
      const s = await start({ required: true });
      const token = await issuer.sign();
      const reply = await s.send('/messages', { headers: { authorization: `Bearer ${token}` } });
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal(`DPoP error="invalid_token", error_description="DPoP proof required", algs="${ALGS}"`);
    });

    it('refuses a token whose cnf.jkt is not a string', async () => {
      const s = await start({});
      const token = await issuer.sign({ cnf: { jkt: 42 } });
      expect((await s.send('/messages', { headers: { authorization: `Bearer ${token}` } })).status).to.equal(401);
    });
  });

  describe('the proof', () => {
    it('is required with the DPoP scheme', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { dpopKey: key });
      const reply = await s.send('/messages', { headers: { authorization: `DPoP ${token}` } });
      expect(reply.headers['www-authenticate']).to.equal(`DPoP error="invalid_dpop_proof", error_description="DPoP proof missing", algs="${ALGS}"`);
    });

    it('must be exactly one DPoP header: two, or two joined by a comma, are refused', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { dpopKey: key });
      const url = `${s.origin}/messages`;
      const [a, b] = [await key.proof({ method: 'GET', url, accessToken: token }), await key.proof({ method: 'GET', url, accessToken: token })];
      for (const header of [[a, b], `${a}, ${b}`]) {
        const reply = await s.send('/messages', { headers: dpop(token, header) });
        expect(reply.status).to.equal(401);
        expect(reply.headers['www-authenticate']).to.equal(`DPoP error="invalid_dpop_proof", error_description="more than one DPoP proof", algs="${ALGS}"`);
      }
    });

    it('is never cached: the same proof twice is a replay, while the token stays cached', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { dpopKey: key });
      const proof = await key.proof({ method: 'GET', url: `${s.origin}/messages`, accessToken: token });
      expect((await s.send('/messages', { headers: dpop(token, proof) })).status).to.equal(200);
      const again = await s.send('/messages', { headers: dpop(token, proof) });
      expect(again.headers['www-authenticate']).to.equal(`DPoP error="invalid_dpop_proof", error_description="DPoP proof already used", algs="${ALGS}"`);
    });

    it('is checked against the token it came with on every request: ath of another token is refused while the token is cached (RFC 9449 4.3 step 11)', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { dpopKey: key });
      const another = await issuer.sign({ jti: 'another' }, { dpopKey: key });
      const url = `${s.origin}/messages`;
      expect((await s.send('/messages', { headers: dpop(token, await key.proof({ method: 'GET', url, accessToken: token })) })).status).to.equal(200);
      const reply = await s.send('/messages', { headers: dpop(token, await key.proof({ method: 'GET', url, accessToken: another })) });
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal(`DPoP error="invalid_dpop_proof", error_description="DPoP proof ath mismatch", algs="${ALGS}"`);
      expect((await s.send('/messages', { headers: dpop(another, await key.proof({ method: 'GET', url, accessToken: another })) })).status).to.equal(200);
    });

    it('by another key than cnf.jkt is refused', async () => {
      const s = await start({});
      const token = await issuer.sign({}, { dpopKey: key });
      const proof = await other.proof({ method: 'GET', url: `${s.origin}/messages`, accessToken: token });
      const reply = await s.send('/messages', { headers: dpop(token, proof) });
      expect(reply.headers['www-authenticate']).to.equal(`DPoP error="invalid_dpop_proof", error_description="DPoP proof key does not match the token", algs="${ALGS}"`);
    });
  });

  describe('htu as the client saw it', () => {
    it('uses the original URL under a router mounted at a prefix', async () => {
      const app = new Koa<AuthState>();
      app.silent = true;
      const inner = new Router<AuthState>();
      inner.get('/items', (ctx) => {
        ctx.body = 'ok';
      });
      const outer = new Router<AuthState>({ prefix: '/v1' });
      outer.use(authenticate({ issuer: issuer.issuer, audience: AUDIENCE, dpop: {} }));
      outer.use('/shop', inner.routes());
      app.use(outer.routes());
      const s = await serve(app);
      served.push(s);
      const token = await issuer.sign({}, { dpopKey: key });
      const proof = await key.proof({ method: 'GET', url: `${s.origin}/v1/shop/items`, accessToken: token });
      expect((await s.send('/v1/shop/items', { headers: dpop(token, proof) })).status).to.equal(200);
    });

    it('honours X-Forwarded-Proto and X-Forwarded-Host only when the app trusts its proxy', async () => {
      const token = await issuer.sign({}, { dpopKey: key });
      const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' };
      const trusting = await start({}, {}, (app) => {
        app.proxy = true;
      });
      const outside = await key.proof({ method: 'GET', url: 'https://api.example.com/messages', accessToken: token });
      expect((await trusting.send('/messages', { headers: { ...dpop(token, outside), ...forwarded } })).status).to.equal(200);
      const plain = await start({});
      const spoofed = await key.proof({ method: 'GET', url: 'https://api.example.com/messages', accessToken: token });
      const reply = await plain.send('/messages', { headers: { ...dpop(token, spoofed), ...forwarded } });
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.include('DPoP proof htu mismatch');
    });
  });

  describe('server nonces (RFC 9449 8)', () => {
    it('a proof without a nonce gets use_dpop_nonce and a DPoP-Nonce to retry with', async () => {
      const s = await start({ nonce: { secret: SECRET } });
      const token = await issuer.sign({}, { dpopKey: key });
      const url = `${s.origin}/messages`;
      const first = await s.send('/messages', { headers: dpop(token, await key.proof({ method: 'GET', url, accessToken: token })) });
      expect(first.status).to.equal(401);
      expect(first.headers['www-authenticate']).to.equal(`DPoP error="use_dpop_nonce", error_description="DPoP nonce required", algs="${ALGS}"`);
      const nonce = first.headers['dpop-nonce'] as string;
      expect(nonce).to.match(/^[a-z0-9]+\.[A-Za-z0-9_-]{22}$/);
      const retry = await s.send('/messages', { headers: dpop(token, await key.proof({ method: 'GET', url, accessToken: token, nonce })) });
      expect(retry.status).to.equal(200);
      expect(retry.headers['dpop-nonce']).to.equal(undefined);
    });

    it('a success with a nonce in its last step carries a fresh DPoP-Nonce', async () => {
      const s = await start({ nonce: { secret: SECRET, lifetime: 300 } });
      const token = await issuer.sign({}, { dpopKey: key });
      const nonces = nonceSource([new TextEncoder().encode(SECRET)], 300);
      const older = nonces.current(Date.now() - 300_000);
      const reply = await s.send('/messages', { headers: dpop(token, await key.proof({ method: 'GET', url: `${s.origin}/messages`, accessToken: token, nonce: older })) });
      expect(reply.status).to.equal(200);
      expect(reply.headers['dpop-nonce']).to.equal(nonces.current());
    });

    it('a made-up nonce is use_dpop_nonce too', async () => {
      const s = await start({ nonce: { secret: SECRET } });
      const token = await issuer.sign({}, { dpopKey: key });
      const proof = await key.proof({ method: 'GET', url: `${s.origin}/messages`, accessToken: token, nonce: 'abc.AAAAAAAAAAAAAAAAAAAAAA' });
      const reply = await s.send('/messages', { headers: dpop(token, proof) });
      expect(reply.headers['www-authenticate']).to.equal(`DPoP error="use_dpop_nonce", error_description="DPoP nonce expired or invalid", algs="${ALGS}"`);
    });
  });
});
