// One DPoP client must not be able to lock every other one out by filling the replay store (RFC 9449
// 11.1 asks the server to remember proofs; it does not ask it to let one key take all the memory). One
// key's valid proofs flood an app with a small replay store; the flooding key is refused with 429 and
// Retry-After once over its share, and another client's valid proof still passes.
import { expect } from 'chai';
import Koa from 'koa';
import { authenticate, memoryStore, type AuthState, type DpopOptions } from '../../lib/index.js';
import { nonceSource } from '../../lib/dpop/nonce.js';
import { createDpopKey, createTestIssuer, type TestDpopKey, type TestIssuer } from '../../lib/testing/index.js';
import { inject } from './inject.js';

const AUDIENCE = 'https://api.example.com';
const HTU = 'http://api.example.com/';
const FLOOD = 60; // bounded: the quota under test is 10, the store 40

describe('security: one DPoP key cannot fill the replay store (RFC 9449 11.1)', function () {
  this.timeout(30_000);
  let issuer: TestIssuer;
  let flooder: TestDpopKey;
  let other: TestDpopKey;

  before(async () => {
    issuer = await createTestIssuer({ audience: AUDIENCE });
    [flooder, other] = await Promise.all([createDpopKey(), createDpopKey('EdDSA')]);
  });
  after(() => issuer.close());

  function appWith(dpop: DpopOptions, extra: { store?: ReturnType<typeof memoryStore> } = {}): Koa<AuthState> {
    const app = new Koa<AuthState>();
    app.silent = true;
    app.use(authenticate({ issuer: issuer.issuer, audience: AUDIENCE, dpop, ...extra }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    return app;
  }
  const send = async (app: Koa<AuthState>, key: TestDpopKey, token: string) =>
    inject(app, '/', ['Host', 'api.example.com', 'Authorization', `DPoP ${token}`, 'DPoP', await key.proof({ method: 'GET', url: HTU, accessToken: token })]);

  /** Floods with fresh valid proofs of one key; the number accepted before the first refusal, and that refusal. */
  async function flood(app: Koa<AuthState>, key: TestDpopKey, token: string) {
    for (let i = 0; i < FLOOD; i++) {
      const reply = await send(app, key, token);
      if (reply.status !== 200) return { accepted: i, reply };
    }
    return { accepted: FLOOD, reply: undefined };
  }

  for (const [where, extra] of [['in memory', {}], ['with a shared replay store (the quota holds per process)', { store: memoryStore() }]] as const) {
    it(`${where}: the flooding key gets 429 with Retry-After past its quota, another client still gets 200`, async () => {
      const app = appWith({ replayCache: { max: 40, maxPerKey: 10 } }, extra);
      const [floodToken, otherToken] = await Promise.all([issuer.sign({}, { dpopKey: flooder }), issuer.sign({}, { dpopKey: other })]);
      const { accepted, reply } = await flood(app, flooder, floodToken);
      expect(accepted).to.equal(10);
      const retryAfter = Number(reply!.headers['retry-after']);
      expect({ status: reply!.status, body: reply!.body, challenge: reply!.headers['www-authenticate'] }).to.deep.equal({
        status: 429, body: 'too many DPoP proofs for this key', challenge: undefined,
      });
      // within the replay window: iatWindow 300 + 2 x clockTolerance 5, to one slice of it
      expect(retryAfter).to.be.within(1, 310 + 20);
      expect((await send(app, other, otherToken)).status).to.equal(200);
      expect((await send(app, flooder, floodToken)).status).to.equal(429);
      expect((await send(app, other, otherToken)).status).to.equal(200);
    });
  }

  it('nonce state (RFC 9449 8): one client\'s flood of made-up and expired nonces changes nothing for another, nor counts against its own key', async () => {
    const secret = 'a-nonce-secret-of-at-least-thirty-two-bytes';
    const app = appWith({ nonce: { secret }, replayCache: { max: 40, maxPerKey: 3 } });
    const nonces = nonceSource([new TextEncoder().encode(secret)], 300);
    const [floodToken, otherToken] = await Promise.all([issuer.sign({}, { dpopKey: flooder }), issuer.sign({}, { dpopKey: other })]);
    const withNonce = async (key: TestDpopKey, token: string, nonce: string | undefined) =>
      inject(app, '/', ['Host', 'api.example.com', 'Authorization', `DPoP ${token}`, 'DPoP', await key.proof({ method: 'GET', url: HTU, accessToken: token, nonce })]);
    // Two steps either side of now, so that a step boundary crossed during the flood leaves them refused (one
    // step ahead would become the current step then, and be accepted).
    const bad = [undefined, 'made.up', nonces.current(Date.now() - 600_000), nonces.current(Date.now() + 600_000), `${nonces.current()}x`, 'x'.repeat(64)];
    for (let i = 0; i < 60; i++) {
      const reply = await withNonce(flooder, floodToken, bad[i % bad.length]);
      expect([reply.status, nonces.accepts(reply.headers['dpop-nonce'])]).to.deep.equal([401, true]);
    }
    expect((await withNonce(other, otherToken, nonces.current())).status).to.equal(200);
    for (let i = 0; i < 3; i++) expect((await withNonce(flooder, floodToken, nonces.current())).status).to.equal(200);
  });

  it('a replay does not count against the key it replays: a captured proof sent again and again locks nobody out', async () => {
    const app = appWith({ replayCache: { max: 40, maxPerKey: 3 } });
    const token = await issuer.sign({}, { dpopKey: flooder });
    const captured = await flooder.proof({ method: 'GET', url: HTU, accessToken: token });
    const raw = ['Host', 'api.example.com', 'Authorization', `DPoP ${token}`, 'DPoP', captured];
    expect((await inject(app, '/', raw)).status).to.equal(200);
    for (let i = 0; i < 20; i++) expect((await inject(app, '/', raw)).status).to.equal(401);
    expect((await send(app, flooder, token)).status).to.equal(200);
  });
});
