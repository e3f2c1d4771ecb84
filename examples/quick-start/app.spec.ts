import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createTestIssuer, type TestIssuer } from 'koa-token-guard/testing';
import { bearer, request } from '../../spec/support/http.js';
import { createApp } from './app.js';

describe('example: quick start', () => {
  const audience = 'https://api.example.com';
  let issuer: TestIssuer;
  before(async () => {
    issuer = await createTestIssuer({ audience });
  });
  after(() => issuer.close());

  it('is the README quick start, line for line', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Quick start'));
    const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(snippet).to.equal(readFileSync(new URL('./app.ts', import.meta.url), 'utf8'));
  });

  it('answers the protected route with the caller and its scopes', async () => {
    const app = createApp({ issuer: issuer.issuer, audience });
    const reply = await request(app, '/messages', { headers: bearer(await issuer.sign({ sub: 'alice', scope: 'read:messages' })) });
    expect([reply.status, reply.json()]).to.deep.equal([200, { for: 'alice', scopes: ['read:messages'] }]);
  });

  it('answers 403 insufficient_scope, naming read:messages, to a token without that scope', async () => {
    const app = createApp({ issuer: issuer.issuer, audience });
    app.silent = true;
    const reply = await request(app, '/messages', { headers: bearer(await issuer.sign({ sub: 'alice', scope: 'profile' })) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([
      403,
      'Bearer realm="api", error="insufficient_scope", error_description="requires scope read:messages", scope="read:messages"',
    ]);
  });

  it('answers 401 with a bare Bearer challenge without a token', async () => {
    const app = createApp({ issuer: issuer.issuer, audience });
    app.silent = true;
    const reply = await request(app, '/messages');
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api"']);
  });
});
