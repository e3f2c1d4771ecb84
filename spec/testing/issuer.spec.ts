import { expect } from 'chai';
import Koa from 'koa';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { authenticate, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { createTestIssuer, createTestKey, type TestAlgorithm, type TestIssuer } from '../../lib/testing/index.js';
import { bearer, request, type Reply } from '../support/http.js';

const audience = 'https://api.example.com';

function appFor(options: AuthenticateOptions): Koa<AuthState> {
  const app = new Koa<AuthState>();
  app.silent = true;
  app.use(authenticate(options));
  app.use((ctx) => {
    ctx.body = { sub: ctx.state.user?.sub, scopes: [...ctx.state.auth!.scopes] };
  });
  return app;
}

const call = (app: Koa<AuthState>, token: string): Promise<Reply> => request(app, '/', { headers: bearer(token) });
const challenge = (description: string): string => `Bearer realm="api", error="invalid_token", error_description="${description}"`;

describe('testing/createTestIssuer', () => {
  let issuer: TestIssuer;
  afterEach(async () => issuer?.close());

  describe('loopback mode (the default)', () => {
    it('serves discovery and JWKS over real HTTP on 127.0.0.1 for authenticate({ issuer, audience }) alone', async () => {
      issuer = await createTestIssuer({ audience });
      expect(issuer.issuer).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(issuer.jwksUri).to.equal(`${issuer.issuer}.well-known/jwks.json`);
      const metadata = await (await fetch(`${issuer.issuer}.well-known/openid-configuration`)).json() as Record<string, unknown>;
      expect(metadata).to.deep.equal({ issuer: issuer.issuer, jwks_uri: issuer.jwksUri, response_types_supported: [], grant_types_supported: [] });
      const reply = await call(appFor({ issuer: issuer.issuer, audience }), await issuer.sign({ scope: 'read:messages' }));
      expect([reply.status, reply.json()]).to.deep.equal([200, { sub: 'test-user', scopes: ['read:messages'] }]);
      expect(issuer.requests).to.deep.equal({ discovery: 2, jwks: 1 });
    });

    it('serves the RFC 8414 placement for an issuer with a path', async () => {
      issuer = await createTestIssuer({ audience, path: '/realms/main' });
      expect(issuer.issuer).to.match(/^http:\/\/127\.0\.0\.1:\d+\/realms\/main$/);
      const origin = new URL(issuer.issuer).origin;
      const reply = await fetch(`${origin}/.well-known/oauth-authorization-server/realms/main`);
      expect(((await reply.json()) as { issuer: string }).issuer).to.equal(issuer.issuer);
      expect((await call(appFor({ issuer: issuer.issuer, audience }), await issuer.sign())).status).to.equal(200);
    });

    it('gives every issuer its own URL, so key sets never mix', async () => {
      issuer = await createTestIssuer();
      const other = await createTestIssuer();
      try {
        expect(other.issuer).not.to.equal(issuer.issuer);
      } finally {
        await other.close();
      }
    });

    it('starts a later issuer on the same port with fresh key sets after close()', async () => {
      const first = await createTestIssuer({ audience });
      const port = Number(new URL(first.issuer).port);
      expect((await call(appFor({ issuer: first.issuer, audience }), await first.sign())).status).to.equal(200);
      await first.close();
      issuer = await createTestIssuer({ audience, port });
      expect(issuer.issuer).to.equal(first.issuer);
      expect((await call(appFor({ issuer: issuer.issuer, audience }), await issuer.sign())).status).to.equal(200);
      expect(issuer.requests.jwks).to.equal(1);
    });

    it('refuses an issuer URL, which only nock mode can choose', async () => {
      let error: unknown;
      try {
        await createTestIssuer({ issuer: 'https://id.example.com/' });
      } catch (e) {
        error = e;
      }
      expect((error as Error).message).to.contain('`issuer` is for nock mode');
    });
  });

  describe('sign()', () => {
    beforeEach(async () => {
      issuer = await createTestIssuer({ audience });
    });

    it('mints an RFC 9068 access token with iss, aud, sub, client_id, scope, iat, exp and jti by default', async () => {
      const token = await issuer.sign();
      const claims = decodeJwt(token);
      expect(Object.keys(claims).sort()).to.deep.equal(['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub']);
      expect(claims).to.include({ iss: issuer.issuer, aud: audience, sub: 'test-user', client_id: 'test-client', scope: 'openid' });
      expect(claims.exp! - claims.iat!).to.equal(300);
      expect(decodeProtectedHeader(token)).to.deep.equal({ alg: 'ES256', typ: 'at+jwt', kid: issuer.signingKey.kid });
      expect((await call(appFor({ issuer: issuer.issuer, audience, typ: 'strict' }), token)).status).to.equal(200);
    });

    it('lets claims override the defaults and an undefined claim remove one', async () => {
      const claims = decodeJwt(await issuer.sign({ sub: 'alice', scope: undefined, permissions: ['read:messages'] }));
      expect(claims.sub).to.equal('alice');
      expect(claims).not.to.have.property('scope');
      expect(claims.permissions).to.deep.equal(['read:messages']);
    });

    it('takes issuer-wide claims, typ and lifetime from the options', async () => {
      const custom = await createTestIssuer({ claims: { sub: 'svc', scope: 'a b' }, typ: null, expiresIn: 60 });
      try {
        const token = await custom.sign();
        const claims = decodeJwt(token);
        expect(claims).to.include({ sub: 'svc', scope: 'a b' });
        expect(claims).not.to.have.property('aud');
        expect(claims.exp! - claims.iat!).to.equal(60);
        expect(decodeProtectedHeader(token)).not.to.have.property('typ');
      } finally {
        await custom.close();
      }
    });

    for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA'] as TestAlgorithm[]) {
      it(`signs ${alg} tokens that authenticate() accepts`, async () => {
        const one = await createTestIssuer({ audience, algorithms: [alg] });
        try {
          const token = await one.sign();
          expect(decodeProtectedHeader(token).alg).to.equal(alg);
          expect((await call(appFor({ issuer: one.issuer, audience }), token)).status).to.equal(200);
        } finally {
          await one.close();
        }
      });
    }

    it('chooses among several published keys by alg', async () => {
      const two = await createTestIssuer({ audience, algorithms: ['ES256', 'EdDSA'] });
      try {
        const token = await two.sign({}, { alg: 'EdDSA' });
        expect(decodeProtectedHeader(token)).to.include({ alg: 'EdDSA', kid: two.keys[1]!.kid });
        expect((await call(appFor({ issuer: two.issuer, audience }), token)).status).to.equal(200);
      } finally {
        await two.close();
      }
    });

    it('generates and publishes a key for an algorithm the issuer lacks on first use, once, without making it current', async () => {
      const app = appFor({ issuer: issuer.issuer, audience, cooldown: 0 });
      expect((await call(app, await issuer.sign())).status).to.equal(200);
      const [first, second] = await Promise.all([issuer.sign({}, { alg: 'PS384' }), issuer.sign({}, { alg: 'PS384' })]);
      expect(issuer.keys.map((k) => k.alg)).to.deep.equal(['ES256', 'PS384']);
      expect(issuer.signingKey.alg).to.equal('ES256');
      expect(decodeProtectedHeader(first)).to.include({ alg: 'PS384', kid: issuer.keys[1]!.kid });
      expect(decodeProtectedHeader(second).kid).to.equal(issuer.keys[1]!.kid);
      const jwks = await (await fetch(issuer.jwksUri)).json() as { keys: Array<{ alg: string }> };
      expect(jwks.keys.map((k) => k.alg)).to.deep.equal(['ES256', 'PS384']);
      // The app already holds the old key set: the unknown kid makes it fetch the new one.
      expect((await call(appFor({ issuer: issuer.issuer, audience, algorithms: ['PS384'] }), first)).status).to.equal(200);
    });

    it('still refuses an algorithm the kit cannot sign with', async () => {
      let error: unknown;
      try {
        await issuer.sign({}, { alg: 'HS256' as TestAlgorithm });
      } catch (e) {
        error = e;
      }
      expect((error as Error).message).to.match(/^koa-token-guard\/testing: unsupported algorithm "HS256"/);
    });

    it('mints expired, not-yet-valid, wrongly signed and unknown-kid tokens that authenticate() refuses for that reason', async () => {
      const app = appFor({ issuer: issuer.issuer, audience });
      const cases: Array<[string, Promise<string>]> = [
        ['token expired', issuer.sign({}, { expired: true })],
        ['token not yet valid', issuer.sign({}, { notYetValid: true })],
        ['invalid signature', issuer.sign({}, { wrongSignature: true })],
        ['signing key not found', issuer.sign({}, { kid: 'made-up' })],
        ['token type not accepted', issuer.sign({}, { header: { typ: 'id+jwt' } })],
      ];
      for (const [description, token] of cases) {
        const reply = await call(app, await token);
        expect([reply.status, reply.headers['www-authenticate']], description).to.deep.equal([401, challenge(description)]);
      }
    });

    it('leaves the kid out with kid: null and adds extra header fields', async () => {
      const token = await issuer.sign({}, { kid: null, header: { x5t: 'abc' } });
      expect(decodeProtectedHeader(token)).to.deep.equal({ alg: 'ES256', typ: 'at+jwt', x5t: 'abc' });
      expect((await call(appFor({ issuer: issuer.issuer, audience }), token)).status).to.equal(200);
    });
  });

  describe('rotation', () => {
    it('publishes a rotated key that the app picks up after its cooldown', async () => {
      issuer = await createTestIssuer({ audience });
      const app = appFor({ issuer: issuer.issuer, audience, cooldown: 0 });
      const before = await issuer.sign();
      expect((await call(app, before)).status).to.equal(200);
      const next = await issuer.rotate();
      expect(issuer.keys.map((k) => k.kid)).to.deep.equal([issuer.keys[0]!.kid, next.kid]);
      expect(issuer.signingKey).to.equal(next);
      const after = await issuer.sign();
      expect(decodeProtectedHeader(after).kid).to.equal(next.kid);
      expect((await call(app, after)).status).to.equal(200);
      expect((await call(app, before)).status).to.equal(200);
      expect(issuer.requests.jwks).to.equal(2);
    });

    it('stops publishing a removed key, so the tokens it signed fail', async () => {
      issuer = await createTestIssuer({ audience });
      const old = issuer.signingKey;
      await issuer.rotate();
      issuer.removeKey(old);
      const reply = await call(appFor({ issuer: issuer.issuer, audience }), await issuer.sign({}, { key: old }));
      expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, challenge('signing key not found')]);
    });

    it('shares keys between issuers with the keys option', async () => {
      const key = await createTestKey('ES256', { kid: 'shared' });
      issuer = await createTestIssuer({ audience, keys: [key] });
      expect(issuer.signingKey).to.equal(key);
      expect(issuer.keys[0]!.publicJwk).to.include({ kid: 'shared', alg: 'ES256', use: 'sig' });
      expect((await call(appFor({ issuer: issuer.issuer, audience }), await issuer.sign())).status).to.equal(200);
    });

    it('publishes exactly the JWKs given to setJwks()', async () => {
      issuer = await createTestIssuer({ audience });
      issuer.setJwks([{ ...issuer.signingKey.publicJwk, use: 'enc' }]);
      const reply = await call(appFor({ issuer: issuer.issuer, audience }), await issuer.sign());
      expect(reply.headers['www-authenticate']).to.equal(challenge('signing key not found'));
    });
  });

  describe('outages', () => {
    it('answers 500 while out and recovers', async () => {
      issuer = await createTestIssuer({ audience });
      const app = appFor({ issuer: issuer.issuer, audience, cooldown: 0 });
      issuer.outage({ status: 500 });
      const token = await issuer.sign();
      const down = await call(app, token);
      expect([down.status, down.headers['retry-after']]).to.deep.equal([503, '1']);
      issuer.recover();
      expect((await call(app, token)).status).to.equal(200);
    });

    it('sends Retry-After and fails only the JWKS when told to', async () => {
      issuer = await createTestIssuer({ audience });
      issuer.outage({ status: 503, retryAfter: 42, endpoint: 'jwks' });
      const down = await call(appFor({ issuer: issuer.issuer, audience }), await issuer.sign());
      expect([down.status, down.headers['retry-after']]).to.deep.equal([503, '42']);
      expect(issuer.requests).to.deep.equal({ discovery: 1, jwks: 1 });
    });

    it('hangs until the client times out, and answers held requests on recover()', async () => {
      issuer = await createTestIssuer({ audience });
      issuer.outage({ hang: true });
      const app = appFor({ issuer: issuer.issuer, audience, fetchTimeout: 0.2, cooldown: 0 });
      const token = await issuer.sign();
      expect((await call(app, token)).status).to.equal(503);
      const held = fetch(`${issuer.issuer}.well-known/openid-configuration`);
      issuer.recover();
      expect((await held).status).to.equal(200);
      expect((await call(app, token)).status).to.equal(200);
    });
  });

  describe('nock mode', () => {
    it('intercepts discovery and JWKS of an https issuer, and close() removes exactly its interceptors', async () => {
      issuer = await createTestIssuer({ mode: 'nock', audience });
      expect(issuer.issuer).to.match(/^https:\/\/issuer-\d+\.koa-token-guard\.test\/$/);
      expect((await call(appFor({ issuer: issuer.issuer, audience }), await issuer.sign())).status).to.equal(200);
      expect(issuer.requests).to.deep.equal({ discovery: 1, jwks: 1 });
      await issuer.close();
      let failure: unknown;
      try {
        await fetch(issuer.jwksUri);
      } catch (error) {
        failure = error;
      }
      // The root hooks disable the network, so without the interceptor nock itself refuses the request.
      expect((failure as Error).message).to.match(/^Nock: No match for request/);
    });

    it('hangs and recovers through nock too', async () => {
      issuer = await createTestIssuer({ mode: 'nock', audience, path: '/tenant/v2.0' });
      issuer.outage({ hang: true });
      const app = appFor({ issuer: issuer.issuer, audience, fetchTimeout: 0.2, cooldown: 0 });
      const token = await issuer.sign();
      expect((await call(app, token)).status).to.equal(503);
      issuer.recover();
      expect((await call(app, token)).status).to.equal(200);
    });
  });
});
