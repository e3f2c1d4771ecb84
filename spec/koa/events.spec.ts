import { expect } from 'chai';
import Koa from 'koa';
import nock from 'nock';
import { authenticate, keySets, type TokenGuardEvent } from '../../lib/index.js';
import { bearer, request } from '../support/http.js';
import { fakeProvider } from '../support/provider.js';

describe('koa/authenticate events and key set controls', () => {
  afterEach(() => nock.cleanAll());

  it('reports each refused request once, with its code, whether refused by the middleware or the verifier', async () => {
    const provider = await fakeProvider();
    const events: TokenGuardEvent[] = [];
    const auth = authenticate({ issuer: provider.issuer, audience: provider.audience, onEvent: (e) => events.push(e) });
    const app = new Koa();
    app.silent = true;
    app.use(auth).use((ctx) => {
      ctx.body = 'ok';
    });
    await keySets(auth).ready();
    expect((await request(app, '/')).status).to.equal(401);
    expect((await request(app, '/', { headers: bearer('nope') })).status).to.equal(401);
    expect((await request(app, '/', { headers: bearer(await provider.sign()) })).status).to.equal(200);
    expect(events.filter((e) => e.type === 'token_rejected')).to.deep.equal([
      { type: 'token_rejected', code: 'credentials_missing', status: 401 },
      { type: 'token_rejected', code: 'token_malformed', status: 401 },
    ]);
    expect(provider.jwksCount()).to.equal(1); // pre-warmed: the first request made no provider call
  });
});
