// The cost of a DPoP proof's signature check is set by its key, and the client chooses the key. An
// RSA-3072 key with a 3,071-bit public exponent made one refused proof cost ~24 times a normal one, and
// only a bound token was needed (not its key), since the signature was checked before the key was
// compared with cnf.jkt. RFC 9449 4.3 (steps 11 and 12 in an order that never imports a stranger's key),
// RFC 7518 3.3 (RSA key sizes), RFC 7638 (the thumbprint).
import { expect } from 'chai';
import Koa from 'koa';
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { randomBytes } from 'node:crypto';
import { authenticate, type AuthState } from '../../lib/index.js';
import { accessTokenHash } from '../../lib/dpop/proof.js';
import { createDpopKey, createTestIssuer, type TestDpopKey, type TestIssuer } from '../../lib/testing/index.js';
import { ALGS } from '../dpop/support.js';
import { cpuCosts } from './cpu.js';
import { inject } from './inject.js';

const AUDIENCE = 'https://api.example.com';
const HTU = 'http://api.example.com/';

/** An odd unsigned integer of exactly `bits` bits, base64url. */
function oddInteger(bits: number): string {
  const bytes = randomBytes(Math.ceil(bits / 8));
  const top = (bits - 1) % 8;
  bytes[0] = (bytes[0]! & ((1 << (top + 1)) - 1)) | (1 << top);
  bytes[bytes.length - 1]! |= 1;
  return base64url.encode(bytes);
}

describe('security: an attacker-chosen DPoP key never costs more than a normal refusal (RFC 9449 4.3, RFC 7518 3.3)', function () {
  this.timeout(60_000);
  let issuer: TestIssuer;
  let app: Koa<AuthState>;
  let key: TestDpopKey;
  let rsa3072: JWK;

  before(async () => {
    issuer = await createTestIssuer({ audience: AUDIENCE });
    key = await createDpopKey();
    rsa3072 = await exportJWK((await generateKeyPair('RS256', { modulusLength: 3072 })).publicKey);
    app = new Koa<AuthState>();
    app.silent = true;
    app.use(authenticate({ issuer: issuer.issuer, audience: AUDIENCE, dpop: {} }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
  });
  after(() => issuer.close());

  const send = (token: string, proof: string) => inject(app, '/', ['Host', 'api.example.com', 'Authorization', `DPoP ${token}`, 'DPoP', proof]);
  /** A proof with this key in its header and a signature of the right length that nobody made. */
  const junkProof = (token: string, alg: string, jwk: JWK, signatureBytes: number): string => {
    const header = base64url.encode(JSON.stringify({ alg, typ: 'dpop+jwt', jwk }));
    const payload = base64url.encode(JSON.stringify({ jti: crypto.randomUUID(), htm: 'GET', htu: HTU, iat: Math.floor(Date.now() / 1000), ath: accessTokenHash(token) }));
    return `${header}.${payload}.${base64url.encode(randomBytes(signatureBytes))}`;
  };
  const description = (reply: { headers: Record<string, unknown> }): string | undefined => /error_description="([^"]*)"/.exec(String(reply.headers['www-authenticate']))?.[1];

  it('refuses a key out of bounds with dpop_jwk_invalid even when the token is bound to it (thumbprint matches)', async () => {
    const outOfBounds: Array<[string, string, JWK, number]> = [
      ['RSA-3072, 3,071-bit exponent', 'RS256', { kty: 'RSA', n: rsa3072.n!, e: oddInteger(3071) }, 384],
      ['RSA, 33-bit exponent', 'RS256', { kty: 'RSA', n: rsa3072.n!, e: oddInteger(33) }, 384],
      ['RSA, 8,192-bit modulus', 'PS256', { kty: 'RSA', n: oddInteger(8192), e: 'AQAB' }, 1024],
      ['RSA, exponent 1', 'RS256', { kty: 'RSA', n: rsa3072.n!, e: 'AQ' }, 384],
      ['EC P-256, 33-byte x', 'ES256', { ...key.publicJwk, x: base64url.encode(Buffer.concat([Buffer.alloc(1), Buffer.from(key.publicJwk.x!, 'base64url')])) }, 64],
    ];
    for (const [what, alg, jwk, length] of outOfBounds) {
      const token = await issuer.sign({}, { dpopKey: { jkt: await calculateJwkThumbprint(jwk, 'sha256') } });
      const reply = await send(token, junkProof(token, alg, jwk, length));
      expect({ what, status: reply.status, challenge: reply.headers['www-authenticate'] }).to.deep.equal({
        what, status: 401, challenge: `DPoP error="invalid_dpop_proof", error_description="invalid DPoP proof key", algs="${ALGS}"`,
      });
    }
  });

  it('compares the proof key with cnf.jkt before checking its signature: another key is dpop_key_mismatch, whatever its signature', async () => {
    const token = await issuer.sign({}, { dpopKey: key });
    const stranger = await createDpopKey('RS256');
    for (const proof of [junkProof(token, 'RS256', stranger.publicJwk, 256), await stranger.proof({ method: 'GET', url: HTU, accessToken: token })]) {
      expect(description(await send(token, proof))).to.equal('DPoP proof key does not match the token');
    }
  });

  it('costs no more CPU for a huge-exponent key, a junk signature or another key than for a normal refused proof (process.cpuUsage ratio)', async () => {
    const token = await issuer.sign({}, { dpopKey: key });
    const stranger = await createDpopKey('RS256');
    const proofs = {
      // the yardstick: the token's own key, a signature that does not verify
      normal: junkProof(token, 'ES256', key.publicJwk, 64),
      hugeExponent: junkProof(token, 'RS256', { kty: 'RSA', n: rsa3072.n!, e: oddInteger(3071) }, 384),
      anotherKey: await stranger.proof({ method: 'GET', url: HTU, accessToken: token }),
    };
    const expected = { normal: 'invalid DPoP proof signature', hugeExponent: 'invalid DPoP proof key', anotherKey: 'DPoP proof key does not match the token' };
    for (const [kind, proof] of Object.entries(proofs)) expect(description(await send(token, proof)), kind).to.equal(expected[kind as keyof typeof expected]);
    const cost = await cpuCosts({
      normal: () => send(token, proofs.normal),
      hugeExponent: () => send(token, proofs.hugeExponent),
      anotherKey: () => send(token, proofs.anotherKey),
    }, 30, 4);
    // Before the fix the huge exponent cost 15-25 times the yardstick; after it, less than the yardstick
    // (refused before hashing). 3 leaves room for a noisy shared machine and still catches any regression.
    expect(cost.hugeExponent / cost.normal, JSON.stringify(cost)).to.be.below(3);
    expect(cost.anotherKey / cost.normal, JSON.stringify(cost)).to.be.below(3);
  });
});
