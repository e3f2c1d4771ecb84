import { expect } from 'chai';
import Koa from 'koa';
import { SignJWT, type JWK } from 'jose';
import { authenticate, createIntrospector, createVerifier, type TokenGuardEvent } from '../../lib/index.js';
import { resetWarnings, warnOnce } from '../../lib/warnings.js';
import { request } from '../support/http.js';
import { signingKey, uniqueIssuer, type SigningKey } from '../support/provider.js';
import { rejection } from '../support/rejection.js';
import { warningsDuring } from '../support/warnings.js';

type Route = (url: string) => Response | Promise<Response>;

/** A provider as a `fetch`: each URL's answer by exact match, 404 otherwise; counts calls. */
function provider(routes: Record<string, Route>): { fetch: typeof fetch; calls: () => number } {
  let calls = 0;
  const fetchFn: typeof fetch = (input) => {
    calls++;
    const url = input instanceof Request ? input.url : input.toString();
    const route = routes[url];
    return Promise.resolve(route === undefined ? new Response('', { status: 404 }) : route(url));
  };
  return { fetch: fetchFn, calls: () => calls };
}

const json = (body: unknown): Route => () => Response.json(body);
const audience = 'https://api.example.com';
const REQUESTS = 20;

async function tokenFor(issuer: string, key: SigningKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: issuer, aud: audience, sub: 'user-1', iat: now, exp: now + 300 })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }).sign(key.privateKey);
}

/** `REQUESTS` verifications with cooldown 0 (so every one asks the provider again): statuses, Retry-After, events, warnings. */
async function verifyMany(options: { issuer: string; fetch: typeof fetch; algorithms?: string[]; jwksUri?: string }, token: string) {
  const events: TokenGuardEvent[] = [];
  const verify = createVerifier({ audience, cooldown: 0, ...options, onEvent: (e) => events.push(e) });
  const answers: string[] = [];
  const warnings = await warningsDuring(async () => {
    for (let i = 0; i < REQUESTS; i++) {
      const error = await rejection(verify(token));
      answers.push([error.status, error.headers['Retry-After'], error.code].filter((part) => part !== undefined).join(' '));
    }
  });
  return { events, answers, warnings };
}

describe('keys/warnings: our configuration mistakes print their fix once; the provider\'s outages print none', () => {
  let key: SigningKey;
  before(async () => {
    key = await signingKey('ES256', 'warn-1');
  });
  beforeEach(() => resetWarnings());

  describe('the issuer', () => {
    it('without the trailing slash the metadata has: one KOA_TOKEN_GUARD_ISSUER_MISMATCH saying to add it, over 20 requests that stay 503', async () => {
      const named = uniqueIssuer();
      const configured = named.slice(0, -1);
      const { fetch, calls } = provider({ [`${configured}/.well-known/openid-configuration`]: json({ issuer: named, jwks_uri: `${named}jwks` }) });
      const { events, answers, warnings } = await verifyMany({ issuer: configured, fetch }, await tokenFor(configured, key));
      expect(answers).to.deep.equal(Array(REQUESTS).fill('503 1 key_source_unavailable'));
      expect(calls()).to.equal(REQUESTS);
      expect(warnings).to.have.length(1);
      expect(warnings[0]!.code).to.equal('KOA_TOKEN_GUARD_ISSUER_MISMATCH');
      expect(warnings[0]!.message).to.equal(`koa-token-guard: the discovery document at "${configured}/.well-known/openid-configuration" names the issuer "${named}", not the configured "${configured}"; set \`issuer\` to "${named}" (with the trailing slash), copied exactly: tokens carry it in \`iss\`. Until then requests get 503.`);
      const failed = events.filter((e) => e.type === 'key_set_refresh_failed');
      expect(failed).to.have.length(REQUESTS);
      expect(failed[0]).to.deep.equal({ type: 'key_set_refresh_failed', source: `issuer ${configured}`, reason: 'cold', failure: 'issuer_mismatch', status: undefined, retryIn: 0, stale: false, mistake: 'KOA_TOKEN_GUARD_ISSUER_MISMATCH' });
    });

    it('with a trailing slash the metadata lacks: says to drop it; the request is still 503 with Retry-After 30 (the default cooldown)', async () => {
      const named = uniqueIssuer('/tenant');
      const configured = `${named}/`;
      const { fetch } = provider({ [`${named}/.well-known/openid-configuration`]: json({ issuer: named, jwks_uri: `${named}/jwks` }) });
      const app = new Koa();
      app.use(authenticate({ issuer: configured, audience, fetch }));
      app.use((ctx) => {
        ctx.body = 'ok';
      });
      const token = await tokenFor(configured, key);
      const replies: string[] = [];
      const warnings = await warningsDuring(async () => {
        for (let i = 0; i < 5; i++) {
          const reply = await request(app, '/', { headers: { authorization: `Bearer ${token}` } });
          replies.push(`${reply.status} ${reply.headers['retry-after']}`);
        }
      });
      expect(replies).to.deep.equal(Array(5).fill('503 30'));
      expect(warnings.map((w) => w.code)).to.deep.equal(['KOA_TOKEN_GUARD_ISSUER_MISMATCH']);
      expect(warnings[0]!.message).to.include(`set \`issuer\` to "${named}" (without the trailing slash)`);
    });

    it('once per key set: two issuers with the mistake print one warning each', async () => {
      const warnings = await warningsDuring(async () => {
        for (const named of [uniqueIssuer(), uniqueIssuer()]) {
          const configured = named.slice(0, -1);
          const { fetch } = provider({ [`${configured}/.well-known/openid-configuration`]: json({ issuer: named, jwks_uri: `${named}jwks` }) });
          await verifyMany({ issuer: configured, fetch }, await tokenFor(configured, key));
        }
      });
      expect(warnings.map((w) => w.code)).to.deep.equal(['KOA_TOKEN_GUARD_ISSUER_MISMATCH', 'KOA_TOKEN_GUARD_ISSUER_MISMATCH']);
    });

    it('prints what the provider named quoted, capped and without control characters', async () => {
      const issuer = uniqueIssuer();
      const hostile = `https://evil.example/\u001b[2J\u202e\r\nWarning: all good${'x'.repeat(5000)}`;
      const { fetch } = provider({ [`${issuer}.well-known/openid-configuration`]: json({ issuer: hostile, jwks_uri: `${issuer}jwks` }) });
      const { warnings } = await verifyMany({ issuer, fetch }, await tokenFor(issuer, key));
      expect(warnings).to.have.length(1);
      const { message } = warnings[0]!;
      expect(message.length).to.be.below(1000);
      expect(message).to.match(/^[\x20-\x7e]+$/);
      expect(message).to.include('"https://evil.example/\\u001b[2J\\u202e\\r\\nWarning: all goodxxx');
    });

    it('no discovery document at any placement (4xx): one KOA_TOKEN_GUARD_DISCOVERY_NOT_FOUND naming where it looked', async () => {
      const issuer = uniqueIssuer('/realms/wrong');
      const { fetch } = provider({});
      const { answers, warnings } = await verifyMany({ issuer, fetch }, await tokenFor(issuer, key));
      expect(answers).to.deep.equal(Array(REQUESTS).fill('503 1 key_source_unavailable'));
      expect(warnings.map((w) => w.code)).to.deep.equal(['KOA_TOKEN_GUARD_DISCOVERY_NOT_FOUND']);
      expect(warnings[0]!.message).to.include(`no discovery document for the issuer "${issuer}" at "${issuer}/.well-known/openid-configuration"`);
      expect(warnings[0]!.message).to.include('(HTTP 404); check that `issuer` is the provider\'s issuer URL exactly, or set `jwksUri`');
    });
  });

  describe('the metadata', () => {
    it('without a jwks_uri: one KOA_TOKEN_GUARD_METADATA_INCOMPLETE saying to set jwksUri', async () => {
      const issuer = uniqueIssuer();
      const { fetch } = provider({ [`${issuer}.well-known/openid-configuration`]: json({ issuer }) });
      const { answers, warnings, events } = await verifyMany({ issuer, fetch }, await tokenFor(issuer, key));
      expect(answers).to.deep.equal(Array(REQUESTS).fill('503 1 key_source_unavailable'));
      expect(warnings.map((w) => w.code)).to.deep.equal(['KOA_TOKEN_GUARD_METADATA_INCOMPLETE']);
      expect(warnings[0]!.message).to.include('names no usable "jwks_uri" (none)').and.include('set `jwksUri`');
      expect(events.find((e) => e.type === 'key_set_refresh_failed')).to.deep.include({ failure: 'shape', mistake: 'KOA_TOKEN_GUARD_METADATA_INCOMPLETE' });
    });

    for (const [name, jwksUri] of [['an http jwks_uri for an https issuer', 'http://keys.example.com/jwks'], ['an http jwks_uri on loopback for an https issuer', 'http://127.0.0.1:1/jwks']] as const) {
      it(`with ${name}: one KOA_TOKEN_GUARD_INSECURE_URL`, async () => {
        const issuer = uniqueIssuer();
        const { fetch } = provider({ [`${issuer}.well-known/openid-configuration`]: json({ issuer, jwks_uri: jwksUri }) });
        const { answers, warnings } = await verifyMany({ issuer, fetch }, await tokenFor(issuer, key));
        expect(answers).to.deep.equal(Array(REQUESTS).fill('503 1 key_source_unavailable'));
        expect(warnings.map((w) => w.code)).to.deep.equal(['KOA_TOKEN_GUARD_INSECURE_URL']);
        expect(warnings[0]!.message).to.include(`names the "jwks_uri" "${jwksUri}", plain http, which is refused`).and.include('Set `jwksUri` to the provider\'s https JWKS URL');
      });
    }

    it('redirecting from https down to http: one KOA_TOKEN_GUARD_INSECURE_URL', async () => {
      const issuer = uniqueIssuer();
      const { fetch } = provider({
        [`${issuer}.well-known/openid-configuration`]: json({ issuer, jwks_uri: `${issuer}jwks` }),
        [`${issuer}jwks`]: () => new Response('', { status: 301, headers: { location: 'http://keys.example.com/jwks' } }),
      });
      const { answers, warnings } = await verifyMany({ issuer, fetch }, await tokenFor(issuer, key));
      expect(answers).to.deep.equal(Array(REQUESTS).fill('503 1 key_source_unavailable'));
      expect(warnings.map((w) => w.code)).to.deep.equal(['KOA_TOKEN_GUARD_INSECURE_URL']);
      expect(warnings[0]!.message).to.include(`"${issuer}jwks" redirects to "http://keys.example.com/jwks", from https down to plain http`);
    });
  });

  describe('the key set', () => {
    const jwksOf = (keys: JWK[]) => {
      const issuer = uniqueIssuer();
      return { issuer, ...provider({ [`${issuer}.well-known/openid-configuration`]: json({ issuer, jwks_uri: `${issuer}jwks` }), [`${issuer}jwks`]: json({ keys }) }) };
    };

    it('with keys for other algorithms only: one KOA_TOKEN_GUARD_NO_USABLE_KEY naming what the keys fit, key_set_unusable; tokens stay 401', async () => {
      const rsa = await signingKey('RS256', 'warn-rsa');
      const { issuer, fetch } = jwksOf([rsa.publicJwk]);
      const { answers, warnings, events } = await verifyMany({ issuer, fetch, algorithms: ['ES256', 'EdDSA'] }, await tokenFor(issuer, key));
      expect(answers).to.deep.equal(Array(REQUESTS).fill('401 kid_unknown'));
      expect(warnings.map((w) => w.code)).to.deep.equal(['KOA_TOKEN_GUARD_NO_USABLE_KEY']);
      expect(warnings[0]!.message).to.equal(`koa-token-guard: no key of "issuer ${issuer}" fits the allowed algorithms: its one key fits RS256 only; add the one the provider signs with to \`algorithms\` (ES256, EdDSA now). Until then every token of it is refused (401 signing key not found).`);
      expect(events.filter((e) => e.type === 'key_set_unusable')[0]).to.deep.equal({ type: 'key_set_unusable', source: `issuer ${issuer}`, keys: 1, offered: ['RS256'], allowed: ['ES256', 'EdDSA'] });
    });

    it('with keys that cannot verify signatures at all (encryption keys): says so', async () => {
      const { issuer, fetch } = jwksOf([{ ...key.publicJwk, use: 'enc' }, { ...key.publicJwk, kid: 'b', use: 'enc' }]);
      const { warnings } = await verifyMany({ issuer, fetch }, await tokenFor(issuer, key));
      expect(warnings.map((w) => w.code)).to.deep.equal(['KOA_TOKEN_GUARD_NO_USABLE_KEY']);
      expect(warnings[0]!.message).to.include('its 2 keys cannot verify signatures');
    });

    it('empty, or with a fitting key: no warning (an empty JWKS is the provider\'s state)', async () => {
      for (const keys of [[], [key.publicJwk]]) {
        const { issuer, fetch } = jwksOf(keys);
        const verify = createVerifier({ issuer, audience, fetch, algorithms: ['ES256'] });
        const token = await tokenFor(issuer, key);
        expect(await warningsDuring(async () => void (await verify(token).catch(() => undefined)))).to.deep.equal([]);
      }
    });
  });

  describe('introspection', () => {
    const rows = [
      ['no introspection_endpoint', undefined, 'KOA_TOKEN_GUARD_METADATA_INCOMPLETE', 'names no "introspection_endpoint" (none)'],
      ['an http introspection_endpoint off loopback', 'http://as.example.com/introspect', 'KOA_TOKEN_GUARD_INSECURE_URL', 'names the "introspection_endpoint" "http://as.example.com/introspect", plain http, which is refused'],
    ] as const;
    for (const [name, endpoint, code, says] of rows) {
      it(`metadata with ${name}: one ${code} saying to set introspection.endpoint, every request 503`, async () => {
        const issuer = uniqueIssuer();
        const { fetch } = provider({
          [`${issuer}.well-known/openid-configuration`]: json({ issuer, jwks_uri: `${issuer}jwks`, introspection_endpoint: endpoint }),
          [`${issuer}jwks`]: json({ keys: [key.publicJwk] }),
        });
        const events: TokenGuardEvent[] = [];
        const introspect = createIntrospector({ issuer, audience, fetch, onEvent: (e) => events.push(e), introspection: { clientId: 'api', clientSecret: 's' } });
        const statuses: number[] = [];
        const warnings = await warningsDuring(async () => {
          for (let i = 0; i < REQUESTS; i++) statuses.push((await rejection(introspect(`opaque-${i}`))).status);
        });
        expect(statuses).to.deep.equal(Array(REQUESTS).fill(503));
        expect(warnings.map((w) => w.code)).to.deep.equal([code]);
        expect(warnings[0]!.message).to.include(says).and.include('`introspection.endpoint`');
        expect(events.filter((e) => e.type === 'introspection_failed')).to.deep.equal(Array(REQUESTS).fill(
          { type: 'introspection_failed', source: `introspection ${issuer}`, failure: 'shape', status: undefined, mistake: code },
        ));
      });
    }
  });

  it('at most 20 sources warned per code (tenants accepted by resolveIssuer cannot flood the log), then one line saying so', async () => {
    const warnings = await warningsDuring(async () => {
      for (let i = 0; i < 100; i++) warnOnce({ code: 'KOA_TOKEN_GUARD_ISSUER_MISMATCH', fix: `tenant ${i}` }, `issuer https://t${i}.example.com/`);
      warnOnce({ code: 'KOA_TOKEN_GUARD_NO_USABLE_KEY', fix: 'another code' }, 'issuer https://t0.example.com/');
      await Promise.resolve();
    });
    expect(warnings.map((w) => w.message)).to.deep.equal([
      ...Array.from({ length: 20 }, (_, i) => `koa-token-guard: tenant ${i}`),
      'koa-token-guard: 20 sources warned; further ones are not (events still report them)',
      'koa-token-guard: another code',
    ]);
  });

  describe("the provider's outages: events only, no warning", () => {
    const outages: [string, (issuer: string) => Record<string, Route>][] = [
      ['discovery answering 503', (issuer) => ({ [`${issuer}.well-known/openid-configuration`]: () => new Response('', { status: 503 }) })],
      ['discovery answering 500', (issuer) => ({ [`${issuer}.well-known/openid-configuration`]: () => new Response('', { status: 500 }) })],
      ['discovery answering 429', (issuer) => ({ [`${issuer}.well-known/openid-configuration`]: () => new Response('', { status: 429 }) })],
      ['discovery answering HTML', (issuer) => ({ [`${issuer}.well-known/openid-configuration`]: () => new Response('<html>') })],
      ['the JWKS answering 502', (issuer) => ({ [`${issuer}.well-known/openid-configuration`]: json({ issuer, jwks_uri: `${issuer}jwks` }), [`${issuer}jwks`]: () => new Response('', { status: 502 }) })],
      ['the network failing', (issuer) => ({ [`${issuer}.well-known/openid-configuration`]: () => Promise.reject(new TypeError('fetch failed')) })],
      ['a redirect without Location', (issuer) => ({ [`${issuer}.well-known/openid-configuration`]: () => new Response('', { status: 302 }) })],
    ];
    for (const [name, routes] of outages) {
      it(name, async () => {
        const issuer = uniqueIssuer();
        const { fetch } = provider(routes(issuer));
        const { answers, warnings, events } = await verifyMany({ issuer, fetch }, await tokenFor(issuer, key));
        expect(answers).to.deep.equal(Array(REQUESTS).fill('503 1 key_source_unavailable'));
        expect(warnings).to.deep.equal([]);
        const failed = events.filter((e) => e.type === 'key_set_refresh_failed');
        expect(failed).to.have.length(REQUESTS);
        expect(failed.every((e) => !('mistake' in e))).to.equal(true);
      });
    }

    it('a timeout', async () => {
      const issuer = uniqueIssuer();
      const never: typeof fetch = (_input, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
      const verify = createVerifier({ issuer, audience, fetch: never, fetchTimeout: 0.05 });
      const token = await tokenFor(issuer, key);
      const warnings = await warningsDuring(async () => {
        expect((await rejection(verify(token))).status).to.equal(503);
      });
      expect(warnings).to.deep.equal([]);
    });
  });
});
