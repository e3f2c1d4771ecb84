import { expect } from 'chai';
import { createMultiTenantApp, type MultiTenantApp } from './app.js';
import { startDevIssuer, type DevIssuer } from '../dev-issuer.js';
import { bearer, request } from '../../spec/support/http.js';

describe('example: multi-tenant API with resolveIssuer', () => {
  const audience = 'https://api.example.com';
  let acme: DevIssuer;
  let globex: DevIssuer;
  let stranger: DevIssuer;
  let mt: MultiTenantApp;

  before(async () => {
    [acme, globex, stranger] = await Promise.all([startDevIssuer(audience), startDevIssuer(audience), startDevIssuer(audience)]);
    mt = createMultiTenantApp([{ name: 'acme', issuer: acme.issuer }, { name: 'globex', issuer: globex.issuer, jwksUri: globex.jwksUri }], audience);
    mt.app.silent = true;
  });
  after(() => Promise.all([acme.close(), globex.close(), stranger.close()]));

  const whoami = (token: string) => request(mt.app, '/whoami', { headers: bearer(token) });

  it('serves each tenant with its own issuer and keys', async () => {
    expect((await whoami(await acme.mint())).json()).to.deep.equal({ tenant: 'acme', sub: 'dev-user' });
    expect((await whoami(await globex.mint())).json()).to.deep.equal({ tenant: 'globex', sub: 'dev-user' });
    expect(mt.counters.get('key_set_fetched')).to.equal(2);
  });

  it('refuses an issuer outside the tenant table without contacting it', async () => {
    const reply = await whoami(await stranger.mint());
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api", error="invalid_token", error_description="token issuer not accepted"']);
    expect(mt.counters.get('key_set_fetched')).to.equal(2);
    expect(mt.counters.get('token_rejected:issuer_invalid')).to.equal(1);
  });

  it('never lets one tenant\'s key sign for another tenant', async () => {
    const reply = await whoami(await acme.mint({ iss: globex.issuer }));
    expect(reply.status).to.equal(401);
  });

  it('refreshes every tenant seen so far on demand', async () => {
    await mt.keys.refresh();
    expect(mt.counters.get('key_set_refreshed')).to.equal(2);
  });
});
