// Attacks on an introspecting resource server. RFC 7662 2.1: `token_type_hint` is only a hint, and a
// server that cannot find the token under it "MUST extend its search across all of its supported
// token types", so a refresh token presented as a bearer token introspects as active on many servers.
// RFC 7662 4 makes the resource server responsible for what it accepts and for how long it caches.
import { expect } from 'chai';
import Koa from 'koa';
import { authenticate, clearKeySets, memoryStore, requireScopes, type AuthenticateOptions, type AuthState, type IntrospectorOptions, type KeyStore } from '../../lib/index.js';
import { useServer } from '../introspection/support.js';
import { introspectionServer, type IntrospectionServer } from '../support/introspection-server.js';
import { expectRefusal, guardedApp, send, signRaw } from './support.js';

const now = (): number => Math.floor(Date.now() / 1000);

describe('security: introspection (RFC 7662 2.1, 2.2, 4)', () => {
  const setup = useServer();
  const app = () => guardedApp(setup.optionsFor());

  it('refuses a refresh token that introspects as active (token_type confusion, RFC 7662 2.1/2.2)', async () => {
    const { server } = setup;
    for (const type of ['refresh_token', 'Refresh_Token', 'urn:ietf:params:oauth:token-type:refresh_token']) {
      const token = server.issue({ token_type: type, scope: 'offline_access read:messages' });
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'token type not accepted', token);
    }
  });

  it('refuses a refresh token that Ory Hydra names by token_use, with or without token_type (RFC 7662 2.2: extensions are the server\'s)', async () => {
    const { server } = setup;
    for (const type of ['bearer', undefined]) {
      const token = server.issue({ token_use: 'refresh_token', token_type: type, scope: 'offline offline_access read:messages' });
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'token type not accepted', token);
    }
  });

  it("refuses an active token the server issued for another API (RFC 7662 4: the audience is ours to check)", async () => {
    const { server } = setup;
    const token = server.issue({ aud: 'https://payments.example.com' });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'token audience not accepted', token);
  });

  it('refuses an answer whose active is not the boolean true (a server or proxy that stringifies)', async () => {
    const { server } = setup;
    const token = server.issue();
    server.answer(token, { active: 'true', iss: server.issuer, aud: server.audience, sub: 'user-1' });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'token is not active', token);
  });

  it('refuses an expired answer even if the server calls it active, and never caches past exp (RFC 7662 4)', async () => {
    const { server } = setup;
    const token = server.issue({ exp: now() - 3600 });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'token expired', token);
  });

  it('refuses an answer with token_type DPoP but no cnf.jkt sent as Bearer: not a plain bearer token (RFC 9449 6.2, 7.2)', async () => {
    const { server } = setup;
    const token = server.issue({ token_type: 'DPoP' });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'missing required claim', token);
  });

  it('answers 503 for a plain answer with a repeated member, which a proxy and we could read differently (RFC 8259 4, RFC 7519 4)', async () => {
    const { server } = setup;
    const token = server.issue();
    server.override = () => ({
      status: 200, headers: { 'content-type': 'application/json' },
      body: `{"active":false,"iss":${JSON.stringify(server.issuer)},"aud":${JSON.stringify(server.audience)},"sub":"user-1","active":true}`,
    });
    const reply = await send(app(), token);
    expect([reply.status, reply.headers['retry-after']]).to.deep.equal([503, '5']);
  });

  for (const [where, payload] of [
    ['token_introspection', (iss: string, aud: string, client: string) => `{"iss":"${iss}","aud":"${client}","iat":${now()},"token_introspection":{"active":true,"iss":"${iss}","aud":"${aud}","sub":"user-1","scope":"read:messages","scope":"admin"}}`],
    ['the answer JWT', (iss: string, aud: string, client: string) => `{"iss":"${iss}","aud":"${client}","aud":"${client}","iat":${now()},"token_introspection":{"active":true,"iss":"${iss}","aud":"${aud}","sub":"user-1"}}`],
  ] as const) {
    it(`answers 503 for an RFC 9701 answer with a repeated member in ${where}, signed by the right key (RFC 7515 4, RFC 7519 4)`, async () => {
      const { server } = setup;
      const token = server.issue();
      const header = JSON.stringify({ alg: server.key.alg, kid: server.key.kid, typ: 'token-introspection+jwt' });
      const jwt = await signRaw(server.key, header, payload(server.issuer, server.audience, server.clientId));
      server.override = () => ({ status: 200, headers: { 'content-type': 'application/token-introspection+jwt' }, body: jwt });
      const reply = await send(guardedApp(setup.optionsFor({}, { jwtResponse: true })), token);
      expect([reply.status, reply.headers['retry-after']]).to.deep.equal([503, '5']);
    });
  }

  it('never sends a JWT-shaped token to the introspection endpoint by default: a forged JWT is refused locally', async () => {
    const { server } = setup;
    const forged = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.';
    expectRefusal(await send(app(), forged), 401, 'invalid_token', 'malformed token', forged);
    expect(server.requests).to.have.length(0);
  });

  it('keeps the token, the client secret and the answer out of every refusal', async () => {
    const { server } = setup;
    server.override = () => ({ status: 500, body: JSON.stringify({ error: server.clientSecret }) });
    const token = server.issue();
    const reply = await send(app(), token);
    expect(reply.status).to.equal(503);
    for (const secret of [token, server.clientSecret, 'user-1']) expect(JSON.stringify(reply)).to.not.include(secret);
  });

  describe('RFC 9701 5: a signed answer is vouched for by the server whose endpoint was asked, no other', () => {
    // Tenant A owns the endpoint asked; tenant B is another issuer this API accepts, with its own key set.
    let tenantB: IntrospectionServer;
    beforeEach(async () => {
      tenantB = await introspectionServer();
    });
    afterEach(async () => {
      await tenantB.close();
      clearKeySets(tenantB.issuer);
    });

    /** An admin-only API accepting tokens of A and B, asking A's endpoint for RFC 9701 answers. */
    function adminApp(extra: Partial<AuthenticateOptions>): Koa<AuthState> {
      const { server } = setup;
      const app = new Koa<AuthState>();
      app.silent = true;
      app.use(authenticate({
        issuer: [server.issuer, tenantB.issuer], audience: server.audience, ...extra,
        introspection: { clientId: server.clientId, clientSecret: server.clientSecret, endpoint: server.endpoint, jwtResponse: true, issuer: server.issuer },
      }));
      app.use(requireScopes('admin'));
      app.use((ctx) => {
        ctx.body = { sub: ctx.state.user?.sub };
      });
      return app;
    }
    const byResolver = (): Partial<AuthenticateOptions> => ({ issuer: undefined, resolveIssuer: (iss) => ([setup.server.issuer, tenantB.issuer].includes(iss) ? {} : undefined) });

    for (const [how, extra] of [['several issuers', () => ({})], ['resolveIssuer', byResolver]] as const) {
      it(`refuses an answer signed by tenant B's key (outer iss B) for tenant A's token, with ${how}: 503, never 200`, async () => {
        const { server } = setup;
        const token = server.issue({ scope: 'admin' });
        server.jwt = { key: tenantB.key, claims: { iss: tenantB.issuer } };
        const reply = await send(adminApp(extra()), token);
        expect([reply.status, reply.headers['retry-after']]).to.deep.equal([503, '5']);
      });
    }

    it("refuses an answer signed by the endpoint's own server whose token_introspection.iss names another tenant: 503", async () => {
      const { server } = setup;
      const token = server.issue({ iss: tenantB.issuer, scope: 'admin' });
      const reply = await send(adminApp({}), token);
      expect(reply.status).to.equal(503);
    });

    it("accepts the endpoint's own signed answer, and gives one without an inner iss the signer's", async () => {
      const { server } = setup;
      expect((await send(adminApp({}), server.issue({ scope: 'admin' }))).status).to.equal(200);
      expect((await send(adminApp(byResolver()), server.issue({ scope: 'admin', iss: undefined }))).status).to.equal(200);
    });
  });

  describe('the shared store: one service never reads answers another one checked less', () => {
    /** Two services (introspectors with their own memory) sharing one store, one endpoint and one client. */
    async function twoServices(store: KeyStore, first: Partial<IntrospectorOptions>, second: Partial<IntrospectorOptions>, firstIntrospection = {}, secondIntrospection = {}) {
      const token = setup.server.issue();
      const x = guardedApp(setup.optionsFor({ store, ...first }, firstIntrospection));
      const y = guardedApp(setup.optionsFor({ store, ...second }, secondIntrospection));
      expect((await send(x, token)).status).to.equal(200);
      await new Promise((resolve) => setImmediate(resolve)); // the answer is stored in the background
      return { token, y };
    }

    it('a service asking for signed answers (RFC 9701) never reads the plain answer another service stored', async () => {
      const { server } = setup;
      const { token, y } = await twoServices(memoryStore(), {}, {}, {}, { jwtResponse: true });
      server.override = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ active: true, iss: server.issuer, aud: server.audience }) });
      // Y asks the server itself, which fails to sign: Y's answer is a 503, not the unsigned answer from the store.
      expect((await send(y, token)).status).to.equal(503);
      expect(server.requests).to.have.length(2);
    });

    it('a service with another audience never reads the answer another service stored', async () => {
      const { server } = setup;
      const { token, y } = await twoServices(memoryStore(), {}, { audience: [server.audience, 'https://other.example.com'] });
      expect((await send(y, token)).status).to.equal(200);
      expect(server.requests).to.have.length(2);
    });

    it("a service reads a stored answer for no longer than its own cache.ttl, whatever the writer's", async () => {
      const { server } = setup;
      const store = memoryStore();
      const { token, y } = await twoServices(store, {}, {}, { cache: { ttl: 300 } }, { cache: { ttl: 1 } });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      server.revoke(token);
      expectRefusal(await send(y, token), 401, 'invalid_token', 'token is not active', token);
      expect(server.requests).to.have.length(2);
    });
  });
});
