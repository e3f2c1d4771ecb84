import { expect } from 'chai';
import nock from 'nock';
import { ConfigurationError, requireAudience } from '../../lib/index.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { authenticatedContext, guardedApp } from './support.js';

describe('guards/requireAudience', () => {
  const api = 'https://api.example.com';
  const admin = 'https://admin.example.com';
  let provider: FakeProvider;
  beforeEach(async () => {
    provider = await fakeProvider({ audience: api });
  });
  afterEach(() => nock.cleanAll());

  const app = () => guardedApp(provider, [requireAudience(admin)], { audience: [api, admin] });

  it('passes a token whose aud is the required audience', async () => {
    expect((await app().get(await provider.sign({ aud: admin }))).status).to.equal(200);
  });

  it('passes a token whose aud array contains the required audience', async () => {
    expect((await app().get(await provider.sign({ aud: [api, admin] }))).status).to.equal(200);
  });

  it('passes a token with any one of several required audiences', async () => {
    const either = guardedApp(provider, [requireAudience(['https://other.example.com', admin])], { audience: [api, admin] });
    expect((await either.get(await provider.sign({ aud: admin }))).status).to.equal(200);
  });

  it('answers 401 invalid_token, not 403, for a token accepted by authenticate() but meant for another audience', async () => {
    const guarded = app();
    const reply = await guarded.get(await provider.sign({ aud: api }));
    expect(reply.status).to.equal(401);
    expect(reply.headers['www-authenticate']).to.equal(
      'Bearer realm="api", error="invalid_token", error_description="token audience not accepted for this resource"');
    expect(guarded.runs()).to.equal(0);
  });

  it('refuses an aud that merely contains the audience as a substring', async () => {
    expect((await app().get(await provider.sign({ aud: [api, `${admin}/x`] }))).status).to.equal(401);
  });

  it('carries its requirement with the audience_invalid code on refusal', () => {
    const guard = requireAudience([admin, admin]);
    expect(guard.requirement).to.deep.equal({ kind: 'audience', audiences: [admin] });
    expect(guard.check(authenticatedContext({ aud: api }))).to.include({ status: 401, error: 'invalid_token', code: 'audience_invalid', realm: 'api' });
    expect(guard.check(authenticatedContext({ aud: [api, admin] }))).to.equal(undefined);
  });

  it('throws a ConfigurationError at startup without an audience', () => {
    expect(() => requireAudience([])).to.throw(ConfigurationError);
    expect(() => requireAudience('')).to.throw(ConfigurationError);
    expect(() => requireAudience([42 as unknown as string])).to.throw(ConfigurationError);
  });
});
