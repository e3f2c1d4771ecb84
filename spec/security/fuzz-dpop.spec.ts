// The fuzz spec extended to DPoP (RFC 9449): random, forged and mutated proofs and DPoP header lines
// with genuine and mutated bound tokens, against an app with DPoP and server nonces on. FUZZ_RUNS and
// FUZZ_SEED work as in fuzz.spec.ts (this spec runs a tenth of FUZZ_RUNS, at least 500).
import { expect } from 'chai';
import fc from 'fast-check';
import { base64url } from 'jose';
import Koa from 'koa';
import nock from 'nock';
import { AuthError, authenticate, type AuthState } from '../../lib/index.js';
import { nonceSource } from '../../lib/dpop/nonce.js';
import { accessTokenHash } from '../../lib/dpop/proof.js';
import { createDpopKey, type TestDpopKey } from '../../lib/testing/index.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { inject } from './inject.js';
import { ERROR_DESCRIPTIONS, trapProcessErrors } from './support.js';

const RUNS = Math.max(500, Math.floor(Number(process.env.FUZZ_RUNS ?? 10_000) / 10));
const SEED = Number(process.env.FUZZ_SEED ?? 20_251_201);
const ALGS = 'RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519';
const SECRET = 'a-nonce-secret-of-at-least-thirty-two-bytes';
const CHALLENGE = new RegExp(`^(?:Bearer realm="api"(?:, error="(?:invalid_request|invalid_token)", error_description="([^"]*)")?, DPoP algs="${ALGS}"`
  + `|DPoP error="(?:invalid_dpop_proof|use_dpop_nonce|invalid_token|invalid_request)", error_description="([^"]*)", algs="${ALGS}")$`);
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const URL_ = 'http://api.example.com/';
const now = () => Math.floor(Date.now() / 1000);

describe('security: fuzzing DPoP headers and proofs (fast-check)', function () {
  this.timeout(Math.max(30_000, RUNS * 20));

  let provider: FakeProvider;
  let app: Koa<AuthState>;
  let key: TestDpopKey;
  let token: string;
  let genuine: string[];
  const nonce = nonceSource([new TextEncoder().encode(SECRET)], 300).current();
  const unexpected: unknown[] = [];
  const trap = trapProcessErrors(unexpected);

  before(async () => {
    provider = await fakeProvider({ algs: ['ES256'] });
    key = await createDpopKey();
    app = new Koa<AuthState>();
    app.silent = true;
    app.on('error', (error: unknown) => {
      if (!(error instanceof AuthError) || error.status >= 500) unexpected.push(error);
    });
    app.use(authenticate({ issuer: provider.issuer, audience: provider.audience, dpop: { nonce: { secret: SECRET } } }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    token = await provider.sign({ cnf: { jkt: key.jkt } });
    genuine = await Promise.all([0, 1, 2].map(() => key.proof({ method: 'GET', url: URL_, accessToken: token, nonce })));
    // Each genuine proof is used once here: any later copy of one is a replay.
    for (const proof of genuine) expect((await inject(app, '/', ['Host', 'api.example.com', 'Authorization', `DPoP ${token}`, 'DPoP', proof])).status).to.equal(200);
    trap.start();
  });
  after(() => {
    trap.stop();
    nock.cleanAll();
  });

  const json = (value: unknown): string => base64url.encode(JSON.stringify(value) ?? 'null');
  const anyValue = fc.oneof(
    fc.constantFrom(null, true, 0, -1, 1e308, '', 'none', 'HS256', 'ES256', 'RS256', 'EdDSA', 'dpop+jwt', 'DPOP+JWT', 'jwt', 'GET', 'get', URL_,
      'http://api.example.com', 'http://API.example.com:80/', 'http://evil.example/', '\u0000', [], {}, { kty: 'oct', k: 'AAAA' }),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const jwk = fc.oneof(
    fc.constant(null).map(() => key.publicJwk),
    fc.record({ kty: fc.constantFrom('EC', 'RSA', 'OKP', 'oct', 'x'), crv: anyValue, x: anyValue, y: anyValue, n: anyValue, e: anyValue, d: anyValue }, { requiredKeys: [] }),
    anyValue,
  );
  const header = fc.record({ alg: fc.oneof(fc.constant('ES256'), anyValue), typ: fc.oneof(fc.constant('dpop+jwt'), anyValue), jwk, jku: anyValue, x5u: anyValue, crit: anyValue, b64: anyValue }, { requiredKeys: [] });
  const claims = fc.record({
    jti: fc.oneof(fc.uuid(), anyValue), htm: fc.oneof(fc.constant('GET'), anyValue), htu: fc.oneof(fc.constant(URL_), anyValue),
    iat: fc.oneof(fc.integer({ min: -1000, max: 1000 }).map((d) => now() + d), anyValue),
    ath: fc.oneof(fc.constant(null).map(() => accessTokenHash(token)), anyValue), nonce: fc.oneof(fc.constant(nonce), anyValue),
  }, { requiredKeys: [] });
  const signature = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => base64url.encode(b)),
    fc.nat({ max: 2 }).map((i) => genuine[i]!.split('.')[2]!),
    fc.constant(base64url.encode(new Uint8Array(64))), // r = s = 0 (CVE-2022-21449)
  );
  const forged = fc.tuple(header, claims, signature).map(([h, c, s]) => `${json(h)}.${json(c)}.${s}`);
  const mutated = fc.tuple(fc.nat({ max: 2 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom(...`${B64URL}.=,; `)), { minLength: 1, maxLength: 4 })).map(([i, edits]) => {
    let proof = genuine[i]!;
    for (const [at, c] of edits) {
      const p = at % (proof.length + 1);
      proof = proof.slice(0, p) + c + proof.slice(p + 1);
    }
    return proof;
  });
  const proof = fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 4, arbitrary: forged }, { weight: 1, arbitrary: fc.nat({ max: 2 }).map((i) => genuine[i]!) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200, unit: fc.constantFrom(...`${B64URL}.=,; \t`) }) });
  const request = fc.tuple(
    fc.constantFrom('DPoP ', 'dpop ', 'DPOP  ', 'Bearer ', 'DPoP', ' DPoP '),
    fc.oneof({ weight: 4, arbitrary: fc.constant(null).map(() => token) }, { weight: 1, arbitrary: fc.string({ maxLength: 40, unit: fc.constantFrom(...`${B64URL}. `) }) }),
    fc.array(proof, { maxLength: 2 }),
    fc.boolean(),
  ).map(([scheme, t, proofs, joined]) => {
    const raw = ['Host', 'api.example.com', 'Authorization', `${scheme}${t}`];
    if (joined && proofs.length === 2) raw.push('DPoP', proofs.join(', '));
    else for (const p of proofs) raw.push('DPoP', p);
    return { raw, proofs };
  });

  it(`refuses ${RUNS} random, forged and mutated DPoP requests: never accepted, never 5xx, never an unexpected error, never a leaked proof`, async () => {
    const descriptions = new Set<string>();
    await fc.assert(fc.asyncProperty(request, async ({ raw, proofs }) => {
      const reply = await inject(app, '/', raw);
      expect(reply.status, 'status').to.be.oneOf([400, 401]);
      const challenge = String(reply.headers['www-authenticate']);
      const match = CHALLENGE.exec(challenge);
      expect(match, challenge).not.to.equal(null);
      const description = match![1] ?? match![2];
      if (description !== undefined) {
        expect(ERROR_DESCRIPTIONS.has(description), description).to.equal(true);
        descriptions.add(description);
      }
      for (const part of proofs.join('.').split(/[.,; ]/)) if (part.length >= 12) expect(reply.body + challenge).not.to.include(part);
    }), { numRuns: RUNS, seed: SEED, verbose: 1 });
    expect(unexpected).to.deep.equal([]);
    if (RUNS >= 1000) for (const d of ['malformed DPoP proof', 'DPoP proof type not accepted', 'invalid DPoP proof key', 'invalid DPoP proof signature', 'DPoP proof already used', 'more than one DPoP proof']) {
      expect(descriptions, d).to.include(d);
    }
  });
});
