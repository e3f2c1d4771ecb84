import { expect } from 'chai';
import { createApp } from './app.js';
import { startDevIssuer, type DevIssuer } from './dev-issuer.js';
import { bearer, request } from '../spec/support/http.js';

describe('example: GET /me with resolveUser and an in-memory user store', () => {
  const audience = 'https://api.example.com';
  let devIssuer: DevIssuer;
  let app: ReturnType<typeof createApp>;

  before(async () => {
    devIssuer = await startDevIssuer(audience);
    app = createApp({ issuer: devIssuer.issuer, audience });
    app.silent = true;
  });
  after(() => devIssuer.close());

  it('answers the caller\'s own user record, with the token\'s sub and scopes beside it', async () => {
    const reply = await request(app, '/me', { headers: bearer(await devIssuer.mint({ scope: 'profile' })) });
    expect(reply.status).to.equal(200);
    expect(reply.json()).to.deep.equal({ user: { id: 1, name: 'Dev User', role: 'admin' }, sub: 'dev-user', scopes: ['profile'] });
  });

  it('answers 401 invalid_token "unknown user" for a valid token of someone not in the store', async () => {
    const reply = await request(app, '/me', { headers: bearer(await devIssuer.mint({ sub: 'stranger' })) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api", error="invalid_token", error_description="unknown user"']);
  });

  it('answers 401 with a bare challenge without a token', async () => {
    const reply = await request(app, '/me');
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api"']);
  });
});
