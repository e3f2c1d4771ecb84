import { expect } from 'chai';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { bearer, request } from '../../spec/support/http.js';
import { createApp } from './app.js';

describe('example: quick start', () => {
  const audience = 'https://api.example.com';
  let issuer: TestIssuer;
  before(async () => {
    issuer = await createTestIssuer({ audience });
  });
  after(() => issuer.close());

  it('answers the protected route with the caller and its scopes', async () => {
    const app = createApp({ issuer: issuer.issuer, audience });
    const reply = await request(app, '/messages', { headers: bearer(await issuer.sign({ sub: 'alice', scope: 'read:messages' })) });
    expect([reply.status, reply.json()]).to.deep.equal([200, { for: 'alice', scopes: ['read:messages'] }]);
  });

  it('answers 401 with a bare Bearer challenge without a token', async () => {
    const app = createApp({ issuer: issuer.issuer, audience });
    app.silent = true;
    const reply = await request(app, '/messages');
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api"']);
  });
});
