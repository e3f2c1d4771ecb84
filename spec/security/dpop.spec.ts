// Attacks on DPoP-bound tokens (RFC 9449 section 11 and the checks of 4.3 and 7), against a real app
// on loopback: each one is refused with the exact challenge, and nothing of the proof comes back.
import { expect } from 'chai';
import Koa from 'koa';
import { base64url, exportJWK, SignJWT } from 'jose';
import { authenticate, type AuthState } from '../../lib/index.js';
import { accessTokenHash } from '../../lib/dpop/proof.js';
import { createDpopKey, createTestIssuer, type TestDpopKey, type TestIssuer, type TestProofOptions } from '../../lib/testing/index.js';
import { ALGS, dpop, serve, type Served } from '../dpop/support.js';
import { inject } from './inject.js';

const AUDIENCE = 'https://api.example.com';

describe('security: DPoP proofs and bindings (RFC 9449)', () => {
  let issuer: TestIssuer;
  let key: TestDpopKey;
  let s: Served;
  let url: string;
  let app: Koa<AuthState>;

  before(async () => {
    issuer = await createTestIssuer({ audience: AUDIENCE });
    key = await createDpopKey();
    app = new Koa<AuthState>();
    app.silent = true;
    app.use(authenticate({ issuer: issuer.issuer, audience: AUDIENCE, dpop: {} }));
    app.use((ctx) => {
      ctx.body = { sub: ctx.state.user?.sub };
    });
    s = await serve(app);
    url = `${s.origin}/resource`;
  });
  after(async () => {
    await s.close();
    await issuer.close();
  });

  const proofFor = (token: string, options: Partial<TestProofOptions> = {}, by = key): Promise<string> => by.proof({ method: 'GET', url, accessToken: token, ...options });
  async function expectProofRefused(token: string, proof: string | string[], description: string, error = 'invalid_dpop_proof'): Promise<void> {
    const reply = await s.send('/resource', { headers: dpop(token, proof) });
    expect({ status: reply.status, challenge: reply.headers['www-authenticate'] }).to.deep.equal({
      status: 401, challenge: `DPoP error="${error}", error_description="${description}", algs="${ALGS}"`,
    });
    for (const part of [proof].flat().join('.').split('.')) if (part.length > 8) expect(JSON.stringify(reply.headers) + reply.text).not.to.include(part);
  }

  it('11.1 replay: a captured proof is refused the second time, even within its window', async () => {
    const token = await issuer.sign({}, { dpopKey: key });
    const proof = await proofFor(token);
    expect((await s.send('/resource', { headers: dpop(token, proof) })).status).to.equal(200);
    await expectProofRefused(token, proof, 'DPoP proof already used');
  });

  it('7.2 stolen token: a bound token without the key works neither as Bearer nor with the thief’s own proof', async () => {
    const token = await issuer.sign({}, { dpopKey: key });
    const bearer = await s.send('/resource', { headers: { authorization: `Bearer ${token}` } });
    expect([bearer.status, bearer.headers['www-authenticate']]).to.deep.equal([401, `Bearer realm="api", error="invalid_token", error_description="token bound to a DPoP key needs a DPoP proof", DPoP algs="${ALGS}"`]);
    const thief = await createDpopKey();
    await expectProofRefused(token, await proofFor(token, {}, thief), 'DPoP proof key does not match the token');
  });

  it('4.3 / 11.6: a proof for another token (ath), URL (htu) or method (htm) does not carry over', async () => {
    const token = await issuer.sign({}, { dpopKey: key });
    const sibling = await issuer.sign({ scope: 'admin' }, { dpopKey: key });
    await expectProofRefused(sibling, await proofFor(token), 'DPoP proof ath mismatch');
    await expectProofRefused(token, await proofFor(token, { url: `${s.origin}/admin` }), 'DPoP proof htu mismatch');
    await expectProofRefused(token, await proofFor(token, { claims: { htu: `http://api@127.0.0.1${new URL(url).port}/resource` } }), 'DPoP proof htu mismatch');
    await expectProofRefused(token, await proofFor(token, { method: 'DELETE' }), 'DPoP proof htm mismatch');
  });

  it('4.3 htu: a proof for one path does not pass on another path the router sees differently ("//", dot segments, backslash, absolute form)', async () => {
    // Sent raw (in process): an HTTP client would resolve these paths before sending them; an attacker does not.
    const token = await issuer.sign({}, { dpopKey: key });
    const host = new URL(url).host;
    const send = async (target: string, proof: string) => inject(app, target, ['Host', host, 'Authorization', `DPoP ${token}`, 'DPoP', proof]);
    for (const target of ['//evil.example/resource', '/x/../resource', '/x/%2E%2E/resource', '/x\\..\\resource', 'http://evil.example/x/../resource']) {
      const reply = await send(target, await proofFor(token));
      expect({ target, status: reply.status, challenge: reply.headers['www-authenticate'] }).to.deep.equal({
        target, status: 401, challenge: `DPoP error="invalid_dpop_proof", error_description="DPoP proof htu mismatch", algs="${ALGS}"`,
      });
    }
    // The same path, exactly as the router sees it, passes.
    expect((await send('//evil.example/resource', await proofFor(token, { claims: { htu: `${s.origin}//evil.example/resource` } }))).status).to.equal(200);
  });

  it('pre-generated proofs: an iat far in the future or the past is refused', async () => {
    const token = await issuer.sign({}, { dpopKey: key });
    const now = Math.floor(Date.now() / 1000);
    await expectProofRefused(token, await proofFor(token, { iat: now + 3600 }), 'DPoP proof iat outside the accepted window');
    await expectProofRefused(token, await proofFor(token, { iat: now - 3600 }), 'DPoP proof iat outside the accepted window');
  });

  it('11.5 / RFC 8725 3.1: alg none and HS256 keyed with the public key (algorithm confusion) are refused', async () => {
    const token = await issuer.sign({}, { dpopKey: key });
    const body = { jti: crypto.randomUUID(), htm: 'GET', htu: url, iat: Math.floor(Date.now() / 1000) };
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk }))}.${base64url.encode(JSON.stringify(body))}.`;
    await expectProofRefused(token, none, 'malformed DPoP proof');
    const secret = new TextEncoder().encode(JSON.stringify(key.publicJwk));
    const hs = await new SignJWT(body).setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk }).sign(secret);
    await expectProofRefused(token, hs, 'DPoP proof algorithm not allowed');
  });

  it('a proof carrying the private key is refused and the key never echoed', async () => {
    const token = await issuer.sign({}, { dpopKey: key });
    const privateJwk = await exportJWK(key.privateKey);
    await expectProofRefused(token, await proofFor(token, { header: { jwk: privateJwk } }), 'invalid DPoP proof key');
  });

  it('a proof of another type (an access token as proof, RFC 8725 3.11) is refused', async () => {
    const token = await issuer.sign({}, { dpopKey: key });
    await expectProofRefused(token, await proofFor(token, { header: { typ: 'at+jwt' } }), 'DPoP proof type not accepted');
    await expectProofRefused(token, token, 'DPoP proof type not accepted');
  });

  it('an unknown critical header (RFC 7515 4.1.11) is refused', async () => {
    const token = await issuer.sign({}, { dpopKey: key });
    const header = base64url.encode(JSON.stringify({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk, crit: ['x-unknown'], 'x-unknown': 1 }));
    const body = base64url.encode(JSON.stringify({ jti: crypto.randomUUID(), htm: 'GET', htu: url, iat: Math.floor(Date.now() / 1000), ath: accessTokenHash(token) }));
    const signature = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, new TextEncoder().encode(`${header}.${body}`)));
    await expectProofRefused(token, `${header}.${body}.${base64url.encode(signature)}`, 'malformed DPoP proof');
  });

  it('an oversized proof is refused before any parsing, with a 401 (not a hang or a 431)', async () => {
    const token = await issuer.sign({}, { dpopKey: key });
    await expectProofRefused(token, 'a'.repeat(6000), 'DPoP proof too large');
  });

  it('a proof smuggled in twice, or beside another in one line, is refused (4.3 step 1)', async () => {
    const token = await issuer.sign({}, { dpopKey: key });
    const [a, b] = [await proofFor(token), await proofFor(token)];
    await expectProofRefused(token, [a, b], 'more than one DPoP proof');
    await expectProofRefused(token, `${a},${b}`, 'more than one DPoP proof');
  });
});
