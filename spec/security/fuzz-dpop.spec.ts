// The fuzz spec extended to DPoP (RFC 9449): random, forged and mutated proofs and DPoP header lines
// with genuine and mutated bound tokens, against an app with DPoP and server nonces on; then proofs
// mutated member by member and re-signed with the proof key, so each mutation reaches past the
// signature, with a CPU guard on what they cost. FUZZ_RUNS and FUZZ_SEED work as in fuzz.spec.ts (this
// spec runs a tenth of FUZZ_RUNS, at least 500).
import { expect } from 'chai';
import fc from 'fast-check';
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { randomBytes } from 'node:crypto';
import Koa from 'koa';
import nock from 'nock';
import { AuthError, authenticate, type AuthState } from '../../lib/index.js';
import { nonceSource } from '../../lib/dpop/nonce.js';
import { normaliseHtu } from '../../lib/dpop/htu.js';
import { accessTokenHash } from '../../lib/dpop/proof.js';
import { createDpopKey, type TestDpopKey } from '../../lib/testing/index.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { cpuCosts, cpuOf } from './cpu.js';
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
/** Base64url of `bytes` bytes, the first non-zero (a big-endian integer of exactly that length), the last odd. */
const integer = (bytes: number): string => {
  const b = randomBytes(bytes);
  if (bytes > 0) {
    b[0] ||= 1;
    b[bytes - 1]! |= 1;
  }
  return base64url.encode(b);
};

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

  describe('proofs mutated member by member and re-signed with the proof key', () => {
    let rsa3072: JWK;
    let strangers: JWK[];
    let sequence = 0;
    const accepted = new Set<string>();
    const cases: Array<{ raw: string[]; cost: number }> = [];
    before(async () => {
      rsa3072 = await exportJWK((await generateKeyPair('RS256', { modulusLength: 3072 })).publicKey);
      strangers = await Promise.all((['ES256', 'ES384', 'EdDSA', 'PS256'] as const).map(async (alg) => exportJWK((await generateKeyPair(alg)).publicKey)));
    });

    // Key parameters: the bounds' edges (RFC 7518 6.2.1.2, 6.3.1; RFC 8037 2), huge RSA numbers, odd encodings.
    const parameter = fc.oneof(
      fc.constantFrom(0, 1, 31, 32, 33, 48, 65, 66, 67, 255, 256, 384, 512, 513, 1024).map((n) => integer(n)),
      fc.constantFrom('AQAB', 'AQ', 'Aw', 'AA', 'AAEAAQ', '', 'AQAB=', 'AQ AB', '+/+/'),
      fc.constant(null).map(() => integer(384)), // a 3,072-bit exponent
      anyValue,
    );
    const jwkMutation = fc.tuple(fc.constantFrom('kty', 'crv', 'x', 'y', 'n', 'e', 'd', 'kid', 'alg', 'use', 'key_ops', 'ext'), fc.oneof(parameter, fc.constant(undefined)))
      .map(([name, value]) => (jwk: Record<string, unknown>) => ({ ...jwk, [name]: value }));
    // Whole keys, with an algorithm they fit: a stranger's, or RSA ones out of bounds (signed with junk of their size).
    const keyReplacement = fc.tuple(fc.constantFrom('hugeExponent', 'hugeModulus', 'smallModulus', 'stranger'), fc.nat({ max: 3 }), fc.constantFrom('RS256', 'PS256', 'RS512'))
      .map(([kind, i, rsaAlg]) => (h: Record<string, unknown>) => {
        if (kind === 'stranger') return { ...h, alg: ['ES256', 'ES384', 'EdDSA', 'PS256'][i], jwk: { ...strangers[i]! } };
        const n = kind === 'hugeExponent' ? rsa3072.n : integer(kind === 'hugeModulus' ? 1024 + i * 8 : 128);
        return { ...h, alg: rsaAlg, jwk: { kty: 'RSA', n, e: kind === 'hugeExponent' ? integer(384) : 'AQAB' } };
      });
    const headerMutation = fc.oneof(
      fc.tuple(fc.constantFrom('alg', 'typ', 'kid', 'jku', 'x5u', 'x5c', 'crit', 'b64', 'cty', 'zip', 'nonce'), fc.oneof(anyValue, fc.constant(undefined)))
        .map(([name, value]) => (h: Record<string, unknown>) => ({ ...h, [name]: value })),
      jwkMutation.map((m) => (h: Record<string, unknown>) => ({ ...h, jwk: m(h.jwk as Record<string, unknown>) })),
      keyReplacement,
    );
    const htuValue = fc.constantFrom('http://api.example.com//', 'http://api.example.com//evil.example/', 'http://api.example.com/.', 'http://api.example.com/%2e/',
      'http://api.example.com/x/..', 'http://api.example.com/x/../', 'http://api.example.com\\', 'http://API.EXAMPLE.COM:80/', 'http://api.example.com:8080/',
      'https://api.example.com/', 'http://api.example.com/%2F', 'http://api.example.com/?q#f', 'http://evil.example/', '//api.example.com/', '/');
    const payloadMutation = fc.tuple(
      fc.constantFrom('jti', 'htm', 'htu', 'iat', 'ath', 'nonce', 'exp', 'nbf', 'x'),
      fc.oneof(anyValue, fc.constant(undefined), htuValue, fc.integer({ min: -400, max: 400 }).map((d) => now() + d)),
    ).map(([name, value]) => (p: Record<string, unknown>) => ({ ...p, [name]: value }));
    const mutations = fc.tuple(fc.array(headerMutation, { maxLength: 3 }), fc.array(payloadMutation, { maxLength: 3 })).filter(([h, p]) => h.length + p.length > 0);

    /** An independent statement of RFC 9449 4.3 for this request: a proof the app accepts must pass it. */
    async function valid(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<boolean> {
      const jwk = header.jwk as JWK;
      let jkt: string | undefined;
      try {
        jkt = await calculateJwkThumbprint(jwk, 'sha256');
      } catch {
        jkt = undefined;
      }
      const { jti, htm, htu, iat, ath, nonce: n } = payload;
      return header.alg === 'ES256' && typeof header.typ === 'string' && header.typ.toLowerCase() === 'dpop+jwt' && jkt === key.jkt
        && typeof jti === 'string' && jti !== '' && jti.length <= 256 && !accepted.has(jti) && htm === 'GET'
        && typeof htu === 'string' && normaliseHtu(htu) === URL_ && typeof iat === 'number' && iat <= now() + 5
        && ath === accessTokenHash(token) && n === nonce;
    }

    it(`refuses ${RUNS} re-signed mutations unless they are still valid proofs: never 5xx, never an unexpected error`, async () => {
      await fc.assert(fc.asyncProperty(mutations, async ([headerEdits, payloadEdits]) => {
        let header: Record<string, unknown> = { alg: 'ES256', typ: 'dpop+jwt', jwk: { ...key.publicJwk } };
        let payload: Record<string, unknown> = { jti: `fuzz-${sequence++}`, htm: 'GET', htu: URL_, iat: now(), ath: accessTokenHash(token), nonce };
        for (const edit of headerEdits) header = edit(header);
        for (const edit of payloadEdits) payload = edit(payload);
        const input = `${json(header)}.${json(payload)}`;
        const modulus = (header.jwk as { n?: unknown } | null)?.n;
        const signature = typeof modulus === 'string' && modulus.length <= 1366 ? randomBytes(Math.floor((modulus.length * 3) / 4))
          : new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, new TextEncoder().encode(input)));
        const raw = ['Host', 'api.example.com', 'Authorization', `DPoP ${token}`, 'DPoP', `${input}.${base64url.encode(signature)}`];
        const expected = await valid(header, payload);
        let reply!: Awaited<ReturnType<typeof inject>>;
        cases.push({ raw, cost: await cpuOf(async () => {
          reply = await inject(app, '/', raw);
        }) });
        if (reply.status === 200) {
          expect(expected, JSON.stringify({ header, payload })).to.equal(true);
          accepted.add(payload.jti as string);
          return;
        }
        expect(reply.status, 'status').to.be.oneOf([400, 401]);
        const match = CHALLENGE.exec(String(reply.headers['www-authenticate']));
        expect(match, String(reply.headers['www-authenticate'])).not.to.equal(null);
        expect(ERROR_DESCRIPTIONS.has(match![1] ?? match![2] ?? ''), String(reply.headers['www-authenticate'])).to.equal(true);
      }), { numRuns: RUNS, seed: SEED });
      expect(unexpected).to.deep.equal([]);
    });

    it('CPU guard: no mutated proof costs more than 4 times a normal refusal (process.cpuUsage, the dearest cases re-measured)', async () => {
      expect(cases.length).to.equal(RUNS);
      // One run of a case is too noisy to judge (a GC pause, another process); the dearest ones are
      // measured again, interleaved with the yardstick, each keeping its cheapest round. The yardstick is
      // the dearest normal refusal: the token's own key, a signature checked and found wrong. 4 catches
      // what this guards against (a huge RSA exponent cost 17 times it) with room for a shared machine.
      const [h, p] = genuine[0]!.split('.');
      const yardstick = ['Host', 'api.example.com', 'Authorization', `DPoP ${token}`, 'DPoP', `${h}.${p}.${base64url.encode(randomBytes(64))}`];
      const dearest = [...cases].sort((a, b) => b.cost - a.cost).slice(0, 5);
      const kinds: Record<string, () => Promise<unknown>> = { yardstick: () => inject(app, '/', yardstick) };
      dearest.forEach((c, i) => {
        kinds[`case${i}`] = () => inject(app, '/', c.raw);
      });
      const cost = await cpuCosts(kinds, 10, 3);
      for (let i = 0; i < dearest.length; i++) {
        expect(cost[`case${i}`]! / cost.yardstick!, `${JSON.stringify(cost)} ${dearest[i]!.raw[5]!.split('.')[0]!.slice(0, 400)}`).to.be.below(4);
      }
    });
  });
});
