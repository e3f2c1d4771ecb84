import { expect } from 'chai';
import nock from 'nock';
import { allOf, requireClaim, requireToken } from '../../lib/index.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { guardedApp, insufficient } from './support.js';

describe('guards/requireToken', () => {
  let provider: FakeProvider;
  beforeEach(async () => {
    provider = await fakeProvider();
  });
  afterEach(() => nock.cleanAll());

  it('passes any verified token, whatever its scopes', async () => {
    const app = guardedApp(provider, [requireToken()]);
    expect((await app.get(await provider.sign({ scope: undefined }))).status).to.equal(200);
    expect(app.runs()).to.equal(1);
  });

  it('answers 401 with the bare challenge under authenticate({ optional: true }) without a token', async () => {
    const app = guardedApp(provider, [requireToken()], { optional: true });
    const reply = await app.get();
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api"']);
    expect((await app.get(await provider.sign())).status).to.equal(200);
  });

  it('carries its requirement and composes', async () => {
    expect(requireToken().requirement).to.deep.equal({ kind: 'token' });
    const app = guardedApp(provider, [allOf(requireToken(), requireClaim('email_verified', true))]);
    const reply = await app.get(await provider.sign());
    expect(reply.headers['www-authenticate']).to.equal(insufficient('email_verified claim not accepted for this resource'));
  });
});
