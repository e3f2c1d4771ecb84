// Smoke check of the benchmark targets (not a benchmark): each app the bench loads answers 200 to a
// valid token and refuses a request without one, so `npm run bench` never measures a broken route.
import { expect } from 'chai';
import { app, type Target } from '../../bench/server.js';
import { benchKeys, signTokens, startIssuer, type BenchKey, type LoopbackIssuer } from '../../bench/support.js';
import { bearer, request } from '../support/http.js';

describe('bench targets (smoke)', () => {
  let keys: BenchKey[];
  let issuer: LoopbackIssuer;
  before(async () => {
    keys = await benchKeys();
    issuer = await startIssuer(keys);
  });
  after(() => issuer.close());

  const algsOf: Partial<Record<Target, string[]>> = {
    'koa': ['ES256'], 'ours': ['ES256', 'RS256', 'EdDSA'], 'ours-nocache': ['ES256'], 'jose': ['ES256', 'RS256', 'EdDSA'], 'koa-jwt': ['ES256', 'RS256'],
  };
  for (const [target, algs] of Object.entries(algsOf) as [Target, string[]][]) {
    it(`${target} answers 200 to ${algs.join(', ')} tokens carrying the scope${target === 'koa' ? '' : ', and 401 without a token'}`, async () => {
      const koa = app(target, issuer);
      for (const alg of algs) {
        const [token] = await signTokens(keys.find((k) => k.alg === alg)!, issuer.issuer, 1);
        const reply = await request(koa, '/messages', { headers: bearer(token!) });
        expect([reply.status, reply.text]).to.deep.equal([200, '{"messages":[]}']);
      }
      if (target !== 'koa') expect((await request(koa, '/messages')).status).to.equal(401);
    });
  }
});
