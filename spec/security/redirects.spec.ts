import { expect } from 'chai';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import nock from 'nock';
import { clearKeySets, createUserInfoClient, createVerifier, type TokenGuardEvent } from '../../lib/index.js';
import { uniqueIssuer } from '../support/provider.js';
import { rejection } from '../support/rejection.js';
import { guardedApp, send } from './support.js';

type Route = (path: string) => [number, unknown, Record<string, string>?];

// The provider's https URLs are the trust anchor for keys and the bearer token (OIDC Discovery 3,
// RFC 8414 2, RFC 6750 5.3). A redirect is a new URL: one to plain http (what anyone on the path can
// answer, or what an attacker who can place a redirect points at) would hand them the keys. Every hop
// is checked against the https rule, never from https down to http, at most 3 hops; userinfo follows
// none, since the caller's token would go with it. A refused redirect is the provider's fault: 503.
describe('security: redirects from the provider (RFC 8414 2, OIDC Discovery 3, RFC 6750 5.3)', () => {
  let issuer: string;
  let attacker: CryptoKeyPair;
  let attackerJwk: JWK;
  let hits: Map<string, number>;
  const audience = 'https://api.example.com';

  /** Serves an origin with nock, counting requests per URL. */
  const serve = (origin: string, route: Route): void => {
    nock(origin).persist().get(/.*/).reply((path) => {
      const url = `${origin}${path}`;
      hits.set(url, (hits.get(url) ?? 0) + 1);
      const [status, body, headers] = route(path);
      return [status, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/json', ...headers }];
    });
  };
  const hitsOn = (prefix: string): number => [...hits].filter(([url]) => url.startsWith(prefix)).reduce((sum, [, n]) => sum + n, 0);
  const redirect = (location: string): [number, unknown, Record<string, string>] => [302, '', { location }];
  const attackerToken = () => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: issuer, aud: audience, sub: 'user-1', iat: now, exp: now + 300 })
      .setProtectedHeader({ alg: 'ES256', kid: 'attacker', typ: 'at+jwt' }).sign(attacker.privateKey);
  };
  // The attacker's plain-http server, answering whatever it is asked for with its own material.
  const serveAttacker = (origin = 'http://attacker.example'): void => serve(origin, (path) => {
    if (path.includes('openid-configuration')) return [200, { issuer, jwks_uri: `${issuer}jwks`, userinfo_endpoint: `${issuer}userinfo` }];
    if (path.includes('userinfo')) return [200, { sub: 'user-1', email: 'mallory@attacker.example' }];
    return [200, { keys: [attackerJwk] }];
  });
  const expectUnavailable = (reply: Awaited<ReturnType<typeof send>>): void => {
    expect([reply.status, reply.text]).to.deep.equal([503, 'token verification is temporarily unavailable']);
    expect(reply.headers['retry-after']).to.match(/^\d+$/);
  };

  before(async () => {
    attacker = await generateKeyPair('ES256');
    attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: 'attacker', alg: 'ES256', use: 'sig' };
  });
  beforeEach(() => {
    issuer = uniqueIssuer();
    hits = new Map();
  });
  afterEach(() => {
    nock.cleanAll();
    clearKeySets();
  });

  const origin = () => issuer.replace(/\/$/, '');
  const discovery = (jwksPath = 'jwks'): Route => (path) =>
    (path === '/.well-known/openid-configuration' ? [200, { issuer, jwks_uri: `${issuer}${jwksPath}` }] : redirect('http://attacker.example/jwks'));

  describe('discovery and JWKS', () => {
    it('answers 503 for a JWKS that redirects from https to http, never asking the http URL for keys', async () => {
      serve(origin(), discovery());
      serveAttacker();
      const events: TokenGuardEvent[] = [];
      const app = guardedApp({ issuer, audience, onEvent: (e) => events.push(e) });
      expectUnavailable(await send(app, await attackerToken()));
      expect(hitsOn('http://attacker.example')).to.equal(0);
      expect(events.find((e) => e.type === 'key_set_refresh_failed')).to.deep.include({ failure: 'redirect', status: 302 });
    });

    it('answers 503 for a discovery document that redirects from https to http, never reading it', async () => {
      serve(origin(), () => redirect('http://attacker.example/.well-known/openid-configuration'));
      serveAttacker();
      expectUnavailable(await send(guardedApp({ issuer, audience }), await attackerToken()));
      expect(hitsOn('http://attacker.example')).to.equal(0);
    });

    it('refuses an http hop off loopback after an http loopback provider, unless allowInsecureHttp is on', async () => {
      // Plain http is allowed on loopback (development); a hop elsewhere is judged on its own.
      const loopback = 'http://127.0.0.1:9';
      issuer = `${loopback}/`;
      serve(loopback, (path) => (path === '/.well-known/openid-configuration' ? [200, { issuer, jwks_uri: `${issuer}jwks` }] : redirect('http://keys.example/jwks')));
      serveAttacker('http://keys.example');
      expectUnavailable(await send(guardedApp({ issuer, audience }), await attackerToken()));
      expect(hitsOn('http://keys.example')).to.equal(0);
      clearKeySets();
      expect((await send(guardedApp({ issuer, audience, allowInsecureHttp: true }), await attackerToken())).status).to.equal(200);
      expect(hitsOn('http://keys.example')).to.equal(1);
    });

    it('never lets a verifier without allowInsecureHttp use the key set of one with it (one process, one issuer)', async () => {
      const loopback = 'http://127.0.0.1:9';
      issuer = `${loopback}/`;
      serve(loopback, (path) => (path === '/.well-known/openid-configuration' ? [200, { issuer, jwks_uri: `${issuer}jwks` }] : redirect('http://keys.example/jwks')));
      serveAttacker('http://keys.example');
      expect((await send(guardedApp({ issuer, audience, allowInsecureHttp: true }), await attackerToken())).status).to.equal(200);
      expectUnavailable(await send(guardedApp({ issuer, audience }), await attackerToken()));
      expect(hitsOn('http://keys.example')).to.equal(1);
    });

    it('follows an https redirect to another https origin (a CDN) and verifies with its keys', async () => {
      serve(origin(), (path) => (path === '/.well-known/openid-configuration' ? [200, { issuer, jwks_uri: `${issuer}jwks` }] : redirect('https://cdn.example/keys/jwks.json')));
      serve('https://cdn.example', () => [200, { keys: [attackerJwk] }]);
      expect((await send(guardedApp({ issuer, audience }), await attackerToken())).status).to.equal(200);
      expect(hitsOn('https://cdn.example')).to.equal(1);
    });

    it('follows at most 3 hops, then answers 503: a redirect loop costs 4 requests', async () => {
      serve(origin(), (path) => {
        if (path === '/.well-known/openid-configuration') return [200, { issuer, jwks_uri: `${issuer}jwks/0` }];
        return redirect(`${issuer}jwks/${Number(path.split('/').pop()) + 1}`);
      });
      expectUnavailable(await send(guardedApp({ issuer, audience }), await attackerToken()));
      expect(hitsOn(`${issuer}jwks/`)).to.equal(4);
    });
  });

  describe('userinfo', () => {
    const client = () => createUserInfoClient({ issuer, audience, userinfoEndpoint: `${issuer}userinfo` });
    const lookup = async () => client().get({ token: await attackerToken(), claims: { iss: issuer, exp: Math.floor(Date.now() / 1000) + 300, sub: 'user-1' } });

    for (const [label, location] of [
      ['to http', 'http://attacker.example/userinfo'],
      ['to another https origin (the token must never go there)', 'https://other.example/userinfo'],
      ['within its own origin', '/userinfo/v2'],
    ] as const) {
      it(`answers 503 userinfo_unavailable for a userinfo endpoint that redirects ${label}, following none`, async () => {
        serve(origin(), (path) => (path === '/userinfo' ? redirect(location) : [200, { sub: 'user-1', email: 'ada@example.com' }]));
        serveAttacker();
        serveAttacker('https://other.example');
        const error = await rejection(lookup());
        expect([error.status, error.code]).to.deep.equal([503, 'userinfo_unavailable']);
        expect(hitsOn('http://attacker.example') + hitsOn('https://other.example') + hitsOn(`${issuer}userinfo/v2`)).to.equal(0);
      });
    }
  });

  it('keeps refusing a token signed with the http hop\'s key once the provider serves its own keys again: 503, then 401 kid_unknown, never 200', async () => {
    // The https provider moves its keys back in place; only its own keys ever verify.
    let redirecting = true;
    const own = await generateKeyPair('ES256');
    const ownJwk = { ...(await exportJWK(own.publicKey)), kid: 'own', alg: 'ES256' };
    serve(origin(), (path) => {
      if (path === '/.well-known/openid-configuration') return [200, { issuer, jwks_uri: `${issuer}jwks` }];
      return redirecting ? redirect('http://attacker.example/jwks') : [200, { keys: [ownJwk] }];
    });
    serveAttacker();
    const verify = createVerifier({ issuer, audience, cooldown: 0 });
    expect((await rejection(verify(await attackerToken()))).status).to.equal(503);
    redirecting = false;
    expect((await rejection(verify(await attackerToken()))).code).to.equal('kid_unknown');
    expect(hitsOn('http://attacker.example')).to.equal(0);
  });
});
