// One spec per README provider recipe: a token shaped like that provider's (issuer form, typ header,
// where scopes live, which audience claim), fed through authenticate() configured as the recipe says.
import { expect } from 'chai';
import Koa from 'koa';
import { authenticate, requireScopes, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { createTestIssuer, createTestKey, type TestClaims, type TestIssuer, type TestKey } from '../../lib/testing/index.js';
import { bearer, request, type Reply } from '../support/http.js';

// Every claim the kit would add by default is dropped, so each token carries exactly its provider's claims.
const ONLY = { sub: undefined, client_id: undefined, scope: undefined, jti: undefined, aud: undefined };

function appFor(options: AuthenticateOptions, scope: string): Koa<AuthState> {
  const app = new Koa<AuthState>();
  app.silent = true;
  app.use(authenticate(options));
  app.use(requireScopes(scope));
  app.use((ctx) => {
    ctx.body = { sub: ctx.state.user!.sub, scopes: [...ctx.state.auth!.scopes].sort() };
  });
  return app;
}

const call = async (app: Koa<AuthState>, token: string): Promise<Reply> => request(app, '/', { headers: bearer(token) });
const refused = (reply: Reply): [number, string | undefined] => [reply.status, reply.headers['www-authenticate']];
const invalid = (description: string): [number, string] => [401, `Bearer realm="api", error="invalid_token", error_description="${description}"`];
const forbidden = (scope: string): [number, string] => [403, `Bearer realm="api", error="insufficient_scope", error_description="requires scope ${scope}", scope="${scope}"`];

describe('e2e/providers: the README recipes', () => {
  let rsa: TestKey;
  const issuers: TestIssuer[] = [];
  let n = 0;

  /** A nock-mode issuer at the provider's real URL shape (a unique tenant, so key sets never mix). */
  async function provider(issuer: (tenant: string) => string, typ: string | null): Promise<TestIssuer> {
    const tenant = `t${++n}${process.pid}`;
    const created = await createTestIssuer({ mode: 'nock', issuer: issuer(tenant), keys: [rsa], typ });
    issuers.push(created);
    return created;
  }
  const sign = (issuer: TestIssuer, claims: TestClaims): Promise<string> => issuer.sign({ ...ONLY, ...claims });

  before(async () => {
    rsa = await createTestKey('RS256', { kid: 'provider-rsa' });
  });
  afterEach(async () => {
    await Promise.all(issuers.splice(0).map((i) => i.close()));
  });

  it('Auth0: RBAC permissions array as scopes, aud array with /userinfo, typ JWT', async () => {
    const auth0 = await provider((t) => `https://${t}.us.auth0.com/`, 'JWT');
    const api = 'https://api.example.com';
    const app = appFor({ issuer: auth0.issuer, audience: api, scopeClaims: ['permissions'] }, 'write:messages');
    const claims = { sub: 'auth0|5f7c8ec7c33c6c004bbafe82', aud: [api, `${auth0.issuer}userinfo`], azp: 'spa-client-id', scope: 'openid profile' };
    const granted = await call(app, await sign(auth0, { ...claims, permissions: ['read:messages', 'write:messages'] }));
    expect([granted.status, granted.json()]).to.deep.equal([200, { sub: claims.sub, scopes: ['openid', 'profile', 'read:messages', 'write:messages'] }]);
    expect(refused(await call(app, await sign(auth0, { ...claims, permissions: ['read:messages'] })))).to.deep.equal(forbidden('write:messages'));
    // Machine-to-machine tokens (client credentials) carry the grant in scope and gty.
    const m2m = await sign(auth0, { sub: 'svc-client-id@clients', aud: api, azp: 'svc-client-id', gty: 'client-credentials', scope: 'write:messages', permissions: ['write:messages'] });
    expect((await call(app, m2m)).status).to.equal(200);
  });

  it('Okta: custom authorization server issuer, scp array, cid, no typ header', async () => {
    const okta = await provider((t) => `https://${t}.okta.com/oauth2/default`, null);
    const app = appFor({ issuer: okta.issuer, audience: 'api://default' }, 'read:messages');
    const claims = { ver: 1, jti: 'AT.x1', aud: 'api://default', cid: '0oa1b2c3d4', uid: '00u1b2c3d4', sub: 'alice@example.com' };
    const granted = await call(app, await sign(okta, { ...claims, scp: ['openid', 'read:messages'] }));
    expect([granted.status, granted.json()]).to.deep.equal([200, { sub: 'alice@example.com', scopes: ['openid', 'read:messages'] }]);
    expect(refused(await call(app, await sign(okta, { ...claims, scp: ['openid'] })))).to.deep.equal(forbidden('read:messages'));
    expect(refused(await call(app, await sign(okta, { ...claims, aud: 'api://other', scp: ['read:messages'] })))).to.deep.equal(invalid('token audience not accepted'));
  });

  describe('Microsoft Entra ID (v2 tokens)', () => {
    const clientId = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
    const entra = (tenant: string): string => `https://login.microsoftonline.com/${tenant}/v2.0`;
    const shape = (issuer: TestIssuer, extra: TestClaims): TestClaims => ({
      aud: clientId, tid: new URL(issuer.issuer).pathname.split('/')[1], azp: 'c0ffee00-client', ver: '2.0', oid: '7d1c-oid', sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ', ...extra,
    });

    it('reads delegated scp (space-delimited) and app-only roles with scopeClaims: [roles]', async () => {
      const tenant = await provider(entra, 'JWT');
      const options = { issuer: tenant.issuer, audience: clientId, scopeClaims: ['roles'] };
      const delegated = await call(appFor(options, 'Messages.Read'), await sign(tenant, shape(tenant, { scp: 'Messages.Read User.Read' })));
      expect([delegated.status, (delegated.json() as { scopes: string[] }).scopes]).to.deep.equal([200, ['Messages.Read', 'User.Read']]);
      const appOnly = await call(appFor(options, 'Messages.Read.All'), await sign(tenant, shape(tenant, { roles: ['Messages.Read.All'] })));
      expect(appOnly.status).to.equal(200);
      expect(refused(await call(appFor(options, 'Messages.Read.All'), await sign(tenant, shape(tenant, { scp: 'Messages.Read' }))))).to.deep.equal(forbidden('Messages.Read.All'));
    });

    it('accepts a multi-tenant app\'s listed tenants (one issuer each) and refuses any other tenant', async () => {
      const [a, b, stranger] = [await provider(entra, 'JWT'), await provider(entra, 'JWT'), await provider(entra, 'JWT')];
      const app = appFor({ issuer: [a.issuer, b.issuer], audience: clientId }, 'Messages.Read');
      for (const tenant of [a, b]) expect((await call(app, await sign(tenant, shape(tenant, { scp: 'Messages.Read' })))).status).to.equal(200);
      expect(refused(await call(app, await sign(stranger, shape(stranger, { scp: 'Messages.Read' }))))).to.deep.equal(invalid('token issuer not accepted'));
      expect(stranger.requests).to.deep.equal({ discovery: 0, jwks: 0 });
    });
  });

  it('Keycloak: realm issuer, audience from an audience mapper, azp names the client', async () => {
    const keycloak = await provider((t) => `https://keycloak.example.com/realms/${t}`, 'JWT');
    const app = appFor({ issuer: keycloak.issuer, audience: 'messages-api' }, 'read:messages');
    const claims = {
      typ: 'Bearer', azp: 'messages-frontend', sid: 'a1b2', sub: 'f3b7c2a4-0000-4000-8000-000000000001', preferred_username: 'alice',
      scope: 'openid profile email read:messages', realm_access: { roles: ['default-roles-main'] }, resource_access: { account: { roles: ['view-profile'] } },
    };
    const granted = await call(app, await sign(keycloak, { ...claims, aud: ['messages-api', 'account'] }));
    expect(granted.status).to.equal(200);
    // Without an audience mapper Keycloak only puts "account" in aud: the token is not meant for this API.
    expect(refused(await call(app, await sign(keycloak, { ...claims, aud: 'account' })))).to.deep.equal(invalid('token audience not accepted'));
  });

  describe('AWS Cognito (access tokens have no aud)', () => {
    const appClient = '1example23456789';
    const cognito = (pool: string): string => `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_${pool}`;
    const access = { token_use: 'access', scope: 'messages-api/read', client_id: appClient, username: 'alice', version: 2, sub: 'aaaaaaaa-bbbb-cccc-dddd-example', 'cognito:groups': ['readers'] };

    it('checks the app client id in client_id with audienceClaim', async () => {
      const pool = await provider(cognito, null);
      const app = appFor({ issuer: pool.issuer, audience: appClient, audienceClaim: 'client_id' }, 'messages-api/read');
      expect((await call(app, await sign(pool, access))).status).to.equal(200);
      expect(refused(await call(app, await sign(pool, { ...access, client_id: 'another-client' })))).to.deep.equal(invalid('token audience not accepted'));
      // A Cognito ID token has aud (the client id) but no client_id: never accepted as an access token.
      const idToken = await sign(pool, { token_use: 'id', aud: appClient, sub: access.sub, email: 'alice@example.com' });
      expect(refused(await call(app, idToken))).to.deep.equal(invalid('missing required claim'));
    });

    it('refuses Cognito access tokens without audienceClaim, since they carry no aud', async () => {
      const pool = await provider(cognito, null);
      const app = appFor({ issuer: pool.issuer, audience: appClient }, 'messages-api/read');
      expect(refused(await call(app, await sign(pool, access)))).to.deep.equal(invalid('missing required claim'));
    });
  });

  it('AuthAction: tenant.region issuer, API identifier audience, RS256', async () => {
    const authaction = await provider((t) => `https://${t}.eu.authaction.com/`, 'JWT');
    const api = 'https://api.example.com';
    const app = appFor({ issuer: authaction.issuer, audience: api }, 'read:messages');
    const claims = { sub: 'user-7f3a', aud: api, scope: 'openid read:messages' };
    expect((await call(app, await sign(authaction, claims))).status).to.equal(200);
    expect(refused(await call(app, await sign(authaction, { ...claims, scope: 'openid' })))).to.deep.equal(forbidden('read:messages'));
  });
});
