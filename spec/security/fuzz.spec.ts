// Property-based fuzzing of the whole request path: random and mutated tokens and Authorization headers
// against an app guarded by authenticate(), through Koa's own error handling. FUZZ_RUNS=200000 for a
// long run; FUZZ_SEED to replay one (fast-check prints the seed and the shrunk case of any failure).
import { expect } from 'chai';
import fc from 'fast-check';
import { base64url, SignJWT } from 'jose';
import Koa from 'koa';
import nock from 'nock';
import { isNumericDate } from '../../lib/core/numeric-date.js';
import { AuthError, authenticate, type AuthState } from '../../lib/index.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { Costliest, cpuCosts, cpuOf } from './cpu.js';
import { inject } from './inject.js';
import { ERROR_DESCRIPTIONS, trapProcessErrors } from './support.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20_251_123);
const CHALLENGE = /^Bearer realm="api"(?:, error="(invalid_request|invalid_token)", error_description="([^"]*)")?$/;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const now = () => Math.floor(Date.now() / 1000);
/**
 * No request may cost more than this many times the costliest normal refusal (a genuinely signed token
 * whose signature was altered: one signature check). Legitimate work per refusal varies by well under
 * 2x; an attacker-chosen key or a parsing blow-up costs tens of times more. Each is the cheapest of
 * interleaved rounds (noise only adds cost), which keeps this VM's noise well inside the margin.
 */
const MAX_COST_RATIO = 5;

describe('security: fuzzing the request path (fast-check)', function () {
  // A time limit, not a benchmark: 10,000 cases take a few seconds; only a hang or a regression gets near it.
  this.timeout(Math.max(30_000, RUNS * 5));

  let provider: FakeProvider;
  let app: Koa<AuthState>;
  let genuine: string[];
  const unexpected: unknown[] = [];
  const trap = trapProcessErrors(unexpected);

  before(async () => {
    provider = await fakeProvider({ algs: ['ES256', 'RS256'] });
    app = new Koa<AuthState>();
    app.silent = true;
    // Koa emits every error; only one that is not ours, or a 5xx, is a finding.
    app.on('error', (error: unknown) => {
      if (!(error instanceof AuthError) || error.status >= 500) unexpected.push(error);
    });
    app.use(authenticate({ issuer: provider.issuer, audience: provider.audience, allowQueryToken: true }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    genuine = [
      await provider.sign({ scope: 'read:messages write:messages' }),
      await provider.sign({}, { key: provider.keys[1] }),
      await provider.sign({ exp: now() - 3600 }),
      await provider.sign({ aud: [provider.audience, 'https://other.example.com'], client_id: 'c' }, { header: { typ: 'JWT' } }),
    ];
    trap.start();
  });
  after(() => {
    trap.stop();
    nock.cleanAll();
  });

  const json = (value: unknown): string => base64url.encode(JSON.stringify(value) ?? 'null');

  // Header and claim values an attacker would try, mixed with random JSON.
  const anyValue = fc.oneof(
    fc.constantFrom(null, true, 0, -1, 1e308, '', ' ', 'none', 'NONE', 'HS256', 'RS256', 'ES256', 'ES512', 'PS256', 'EdDSA', 'JWT', 'at+jwt',
      '../../../etc/passwd', "' OR 1=1 --", '\u0000', 'es256-1', 'rs256-1', ['b64'], [], {}, { kty: 'oct', k: 'AAAA' }),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const header = fc.record({
    alg: anyValue, kid: anyValue, typ: anyValue, cty: anyValue, crit: anyValue, b64: anyValue, jwk: anyValue, jku: anyValue, x5u: anyValue, x5c: anyValue,
  }, { requiredKeys: [] }).chain((h) => fc.dictionary(fc.string({ maxLength: 6 }), anyValue, { maxKeys: 3 }).map((extra) => ({ ...extra, ...h })));
  const claims = fc.record({
    iss: fc.oneof(fc.constant('ISSUER'), anyValue), aud: fc.oneof(fc.constant('AUDIENCE'), anyValue),
    exp: fc.oneof(fc.integer({ min: -10_000, max: 10_000 }).map((d) => now() + d), anyValue),
    nbf: anyValue, iat: anyValue, sub: anyValue, scope: anyValue, scp: anyValue, client_id: anyValue,
  }, { requiredKeys: [] });
  const signature = fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((b) => base64url.encode(b)),
    fc.nat({ max: 3 }).map((i) => genuine[i]!.split('.')[2]!),
    fc.constant(''),
    fc.constant(base64url.encode(new Uint8Array(64))), // r = s = 0 (CVE-2022-21449)
  );

  /** A forged token built from parts: random headers and claims (with the real issuer and audience sometimes), any signature. */
  const forged = fc.tuple(header, claims, signature).map(([h, c, s]) => {
    const claimsWithTargets = { ...c, ...(c.iss === 'ISSUER' ? { iss: provider.issuer } : {}), ...(c.aud === 'AUDIENCE' ? { aud: provider.audience } : {}) };
    return `${json(h)}.${json(claimsWithTargets)}.${s}`;
  });

  /** A genuine token with a few edits: flips, insertions, deletions, swapped or duplicated segments. */
  const mutation = fc.oneof(
    fc.tuple(fc.constant('set' as const), fc.nat(), fc.constantFrom(...`${B64URL}.=+/ %`)),
    fc.tuple(fc.constant('insert' as const), fc.nat(), fc.string({ minLength: 1, maxLength: 4, unit: fc.constantFrom(...`${B64URL}.=`) })),
    fc.tuple(fc.constant('delete' as const), fc.nat(), fc.integer({ min: 1, max: 8 })),
    fc.tuple(fc.constant('segments' as const), fc.nat(), fc.nat()),
    // Aimed at the encoding: another spelling of the same bytes (padding bits, '=' padding, whitespace).
    fc.tuple(fc.constant('tail' as const), fc.nat(), fc.integer({ min: 1, max: 15 })),
    fc.tuple(fc.constant('pad' as const), fc.nat(), fc.constantFrom('=', '==', ' ', '\t')),
  );
  const mutated = fc.tuple(fc.nat({ max: 3 }), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([i, edits]) => {
    let token = genuine[i]!;
    for (const [kind, at, arg] of edits) {
      const p = at % (token.length + 1);
      if (kind === 'set') token = token.slice(0, p) + arg + token.slice(p + 1);
      else if (kind === 'insert') token = token.slice(0, p) + arg + token.slice(p);
      else if (kind === 'delete') token = token.slice(0, p) + token.slice(p + arg);
      else if (kind === 'tail' || kind === 'pad') {
        const parts = token.split('.');
        const i = at % parts.length;
        const last = B64URL.indexOf(parts[i]!.at(-1) ?? 'A');
        parts[i] = kind === 'pad' ? parts[i]! + arg : parts[i]!.slice(0, -1) + B64URL[last ^ arg]!;
        token = parts.join('.');
      } else {
        const parts = token.split('.');
        const a = at % parts.length;
        const b = arg % parts.length;
        if (a === b) parts.splice(a, 0, parts[a]!);
        else [parts[a], parts[b]] = [parts[b]!, parts[a]!];
        token = parts.join('.');
      }
    }
    return token;
  });

  const randomText = fc.string({ maxLength: 300, unit: fc.constantFrom(...`${B64URL}.=+/~ \t`) });
  const token = fc.oneof({ weight: 4, arbitrary: mutated }, { weight: 4, arbitrary: forged }, { weight: 1, arbitrary: randomText });

  // Authorization header lines: odd schemes and spacing, repeats, and the token in the query instead.
  const request = fc.tuple(
    token,
    fc.constantFrom('Bearer ', 'bearer ', 'BEARER ', 'Bearer  ', ' Bearer ', 'Bearer\t', 'Basic ', 'Bearer', '', 'Bearer a '),
    fc.nat({ max: 9 }),
    fc.boolean(),
  ).map(([t, scheme, repeat, inQuery]) => {
    const raw = ['Host', 'api.example.com'];
    if (inQuery) return { path: `/?access_token=${encodeURIComponent(t)}`, raw: repeat === 0 ? [...raw, 'Authorization', `Bearer ${t}`] : raw, token: t };
    const lines = repeat === 9 ? 2 : 1;
    for (let i = 0; i < lines; i++) raw.push('Authorization', `${scheme}${t}`);
    return { path: '/', raw, token: t };
  });

  it(`refuses ${RUNS} random and mutated requests: never accepted, never 5xx, never an unexpected error, never a leaked token`, async () => {
    const started = Date.now();
    const descriptions = new Set<string>();
    const costliest = new Costliest<{ path: string; raw: string[] }>(12);
    await fc.assert(fc.asyncProperty(request, async ({ path, raw, token: t }) => {
      // Whitespace around the credentials is not part of the header value (RFC 9110 5.5): still the genuine token.
      fc.pre(!genuine.includes(t.trim()));
      let reply!: Awaited<ReturnType<typeof inject>>;
      costliest.note(await cpuOf(async () => {
        reply = await inject(app, path, raw);
      }), { path, raw });
      expect(reply.status, 'status').to.be.oneOf([400, 401]);
      const challenge = String(reply.headers['www-authenticate']);
      const match = CHALLENGE.exec(challenge);
      expect(match, challenge).not.to.equal(null);
      if (match![2] !== undefined) {
        expect(ERROR_DESCRIPTIONS.has(match![2]), match![2]).to.equal(true);
        descriptions.add(match![2]);
      }
      for (const part of t.split('.')) if (part.length >= 12) expect(reply.body + challenge).not.to.include(part);
    }), { numRuns: RUNS, seed: SEED, verbose: 1 });
    expect(unexpected).to.deep.equal([]);
    // Garbage drives no traffic to the provider: one discovery, one JWKS, and an unknown-kid refetch per cooldown at most.
    expect(provider.discoveryCount()).to.be.at.most(1);
    expect(provider.jwksCount()).to.be.at.most(1 + Math.ceil((Date.now() - started) / 30_000));
    // The fuzz reached deep into verification, not just the header parser (with enough cases to tell).
    if (RUNS >= 1000) for (const d of ['malformed token', 'signing algorithm not allowed', 'invalid signature', 'signing key not found', 'malformed Authorization header']) {
      expect(descriptions, d).to.include(d);
    }
    // The CPU guard: the costliest cases, measured again, against a normal refusal measured alike.
    const altered = (token: string): string => `${token.slice(0, -6)}${token.slice(-6, -5) === 'A' ? 'B' : 'A'}${token.slice(-5)}`;
    for (const { path, raw } of costliest.values) {
      const costs = await cpuCosts({
        rs256: () => inject(app, '/', ['Authorization', `Bearer ${altered(genuine[0]!)}`]),
        es256: () => inject(app, '/', ['Authorization', `Bearer ${altered(genuine[1]!)}`]),
        fuzzed: () => inject(app, path, raw),
      }, 10, 3);
      const normal = Math.max(costs.rs256, costs.es256);
      expect(costs.fuzzed / normal, `${raw.join(' ').slice(0, 200)}: ${costs.fuzzed} us against ${normal} us`).to.be.at.most(MAX_COST_RATIO);
    }
  });

  it('classifies genuinely signed tokens with random claims exactly: accepted only when every claim is right', async () => {
    const runs = Math.max(500, Math.floor(RUNS / 10));
    await fc.assert(fc.asyncProperty(claims, fc.boolean(), async (c, at) => {
      const payload: Record<string, unknown> = { ...c };
      if (c.iss === 'ISSUER') payload.iss = provider.issuer;
      if (c.aud === 'AUDIENCE') payload.aud = provider.audience;
      for (const key of Object.keys(payload)) if (payload[key] === undefined) delete payload[key];
      const key = provider.keys[0]!;
      const t = await new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...(at ? { typ: 'at+jwt' } : {}) }).sign(key.privateKey);
      const reply = await inject(app, '/', ['Authorization', `Bearer ${t}`]);
      const time = (v: unknown): boolean => v === undefined || isNumericDate(v);
      const t0 = now();
      const valid = payload.iss === provider.issuer
        && (payload.aud === provider.audience || (Array.isArray(payload.aud) && payload.aud.includes(provider.audience)))
        && isNumericDate(payload.exp) && payload.exp > t0 + 5
        && time(payload.nbf) && (payload.nbf === undefined || (payload.nbf as number) <= t0 - 5)
        && time(payload.iat) && (payload.iat === undefined || (payload.iat as number) <= t0 - 5)
        && ['sub', 'client_id'].every((name) => payload[name] === undefined || typeof payload[name] === 'string')
        && (payload.scope === undefined || typeof payload.scope === 'string')
        && (payload.scp === undefined || typeof payload.scp === 'string' || (Array.isArray(payload.scp) && payload.scp.every((s) => typeof s === 'string')));
      fc.pre(valid || (typeof payload.exp !== 'number' || Math.abs(payload.exp - t0) > 10)); // nothing at the tolerance's edge
      expect(reply.status, JSON.stringify(payload)).to.equal(valid ? 200 : 401);
    }), { numRuns: runs, seed: SEED, verbose: 1 });
    expect(unexpected).to.deep.equal([]);
  });
});
