import { expect } from 'chai';
import { createApp } from './app.js';
import { startDevIssuer, type DevIssuer } from './dev-issuer.js';
import { bearer, request } from '../spec/support/http.js';

describe('example: messages API with the embedded development issuer', () => {
  const audience = 'https://api.example.com';
  let devIssuer: DevIssuer;
  let app: ReturnType<typeof createApp>;

  before(async () => {
    devIssuer = await startDevIssuer(audience);
    app = createApp({ issuer: devIssuer.issuer, audience });
    app.silent = true;
  });
  after(() => devIssuer.close());

  it('serves the public route without a token', async () => {
    expect((await request(app, '/health')).status).to.equal(200);
  });

  it('answers each printed curl command as the banner says', async () => {
    const get = async (token?: string, method = 'GET') => request(app, '/messages', { method, headers: token ? bearer(token) : {} });
    expect((await get()).headers['www-authenticate']).to.equal('Bearer realm="api"');
    expect((await get(await devIssuer.mint({ scope: 'read:messages' }))).status).to.equal(200);
    expect((await get(await devIssuer.mint({ scope: 'read:messages write:messages' }), 'POST')).status).to.equal(201);
    const noScope = await get(await devIssuer.mint({ scope: 'profile' }));
    expect(noScope.status).to.equal(403);
    expect(noScope.headers['www-authenticate']).to.equal('Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="read:messages"');
    const expired = await get(await devIssuer.mint({}, { expired: true }));
    expect([expired.status, expired.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api", error="invalid_token", error_description="token expired"']);
    const forged = await get(await devIssuer.mint({ scope: 'read:messages' }, { badSignature: true }));
    expect([forged.status, forged.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api", error="invalid_token", error_description="invalid signature"']);
  });
});
