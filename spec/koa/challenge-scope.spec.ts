// authenticate({ challengeScope }): the scope attribute (RFC 6750 3) on authenticate()'s own 401s, so a
// client's first token asks for what the API needs instead of everything the metadata lists.
import { expect } from 'chai';
import Koa from 'koa';
import { authenticate, ConfigurationError, requireScopes, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { bearer, request } from '../support/http.js';

describe('koa/authenticate challengeScope', () => {
  let issuer: TestIssuer;
  before(async () => {
    issuer = await createTestIssuer({ audience: 'https://api.example.com/mcp' });
  });
  after(() => issuer.close());

  function app(options: Partial<AuthenticateOptions> = {}): Koa<AuthState> {
    const koa = new Koa<AuthState>();
    koa.silent = true;
    koa.use(authenticate({ issuer: issuer.issuer, audience: 'https://api.example.com/mcp', challengeScope: ['messages:read', 'openid'], ...options }));
    koa.use(requireScopes('messages:write'));
    koa.use((ctx) => {
      ctx.body = 'ok';
    });
    return koa;
  }

  it('names the scopes on the 401 of a request without credentials', async () => {
    const reply = await request(app(), '/');
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api", scope="messages:read openid"']);
  });

  it('names them on the 401 of an invalid token, with resource_metadata when on', async () => {
    const expired = await issuer.sign({ exp: Math.floor(Date.now() / 1000) - 3600 });
    const reply = await request(app({ resourceMetadata: true }), '/', { headers: bearer(expired) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, 'Bearer realm="api", error="invalid_token", error_description="token expired", '
      + 'scope="messages:read openid", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"']);
  });

  it('leaves a 403 with the scopes its guard needs', async () => {
    const reply = await request(app(), '/', { headers: bearer(await issuer.sign({ scope: 'messages:read' })) });
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([403, 'Bearer realm="api", error="insufficient_scope", error_description="requires scope messages:write", scope="messages:write"']);
  });

  it('is not there unless configured', async () => {
    const reply = await request(app({ challengeScope: undefined }), '/');
    expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api"');
  });

  it('refuses what is not a list of scope tokens at startup', () => {
    const make = (challengeScope: unknown) => () => authenticate({ issuer: issuer.issuer, audience: 'api', challengeScope: challengeScope as string[] });
    for (const bad of ['messages:read', [], ['two words'], ['quote"'], [''], [1]]) {
      expect(make(bad), JSON.stringify(bad)).to.throw(ConfigurationError, '`challengeScope` must be a non-empty list of scopes');
    }
  });
});
