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
    const call = async (path: string, token?: string, method = 'GET') => request(app, path, { method, headers: token ? bearer(token) : {} });
    expect((await call('/messages')).headers['www-authenticate']).to.equal('Bearer realm="api"');
    expect((await call('/messages', await devIssuer.mint({ scope: 'read:messages' }))).status).to.equal(200);
    expect((await call('/messages', await devIssuer.mint({ scope: 'read:messages write:messages' }), 'POST')).status).to.equal(201);
    const noScope = await call('/messages', await devIssuer.mint({ scope: 'profile' }));
    expect(noScope.status).to.equal(403);
    expect(noScope.headers['www-authenticate']).to.equal('Bearer realm="api", error="insufficient_scope", error_description="requires scope read:messages", scope="read:messages"');
    const expired = await call('/messages', await devIssuer.mint({}, { expired: true }));
    expect([expired.status, expired.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api", error="invalid_token", error_description="token expired"']);
    const forged = await call('/messages', await devIssuer.mint({ scope: 'read:messages' }, { badSignature: true }));
    expect([forged.status, forged.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api", error="invalid_token", error_description="invalid signature"']);

    expect((await call('/messages/1', await devIssuer.mint({ scope: 'admin' }), 'DELETE')).status).to.equal(204);
    expect((await call('/messages/2', await devIssuer.mint({ scope: 'read:messages', role: 'owner' }), 'DELETE')).status).to.equal(204);
    const writer = await call('/messages/3', await devIssuer.mint({ scope: 'read:messages write:messages' }), 'DELETE');
    expect([writer.status, writer.headers['www-authenticate']]).to.deep.equal(
      [403, 'Bearer realm="api", error="insufficient_scope", error_description="requires scope admin", scope="admin"']);

    expect((await call('/admin/stats', await devIssuer.mint({ scope: 'admin' }))).status).to.equal(200);
    const owner = await call('/admin/stats', await devIssuer.mint({ scope: 'read:messages', role: 'owner' }));
    expect([owner.status, owner.headers['www-authenticate']]).to.deep.equal(
      [403, 'Bearer realm="api", error="insufficient_scope", error_description="requires scope admin", scope="admin"']);
    expect((await call('/admin/stats')).status).to.equal(401);
  });
});
