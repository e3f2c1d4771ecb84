import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWTHeaderParameters } from 'jose';
import { InvalidDpopProofError, UseDpopNonceError } from '../../lib/index.js';
import { nonceSource } from '../../lib/dpop/nonce.js';
import { resolveDpopOptions } from '../../lib/dpop/options.js';
import { accessTokenHash, createProofVerifier, type ProofRequest, type ProofVerifier } from '../../lib/dpop/proof.js';
import { createDpopKey, type TestDpopKey, type TestProofOptions } from '../../lib/testing/index.js';
import { rejection } from '../support/rejection.js';

const URL_ = 'https://api.example.com/messages';
const TOKEN = 'an.access.token';
const now = (): number => Math.floor(Date.now() / 1000);

describe('dpop/proof: every proof check of RFC 9449 4.3', () => {
  let key: TestDpopKey;
  let verify: ProofVerifier;
  let request: ProofRequest;
  const proof = (options: Partial<TestProofOptions> = {}): Promise<string> => key.proof({ method: 'GET', url: URL_, accessToken: TOKEN, ...options });
  const refusal = async (promise: Promise<unknown>, code: string, description: string): Promise<void> => {
    const error = await rejection(promise);
    expect(error).to.be.instanceOf(InvalidDpopProofError);
    expect({ code: error.code, description: error.description }).to.deep.equal({ code, description });
  };

  before(async () => {
    key = await createDpopKey();
    request = { method: 'GET', htu: URL_, accessToken: TOKEN, jkt: key.jkt };
    verify = createProofVerifier(resolveDpopOptions({}, undefined, 5)!);
  });

  it('accepts a right proof and yields its key thumbprint (RFC 7638), jti and iat', async () => {
    const iat = now();
    const result = await verify(await proof({ jti: 'j-1', iat }), request);
    expect(result).to.deep.equal({ jkt: key.jkt, jti: 'j-1', iat, nonce: undefined });
  });

  it('refuses a proof over the size limit before parsing it', async () => {
    await refusal(verify(await proof({ claims: { pad: 'x'.repeat(4000) } }), request), 'dpop_proof_too_large', 'DPoP proof too large');
  });

  it('refuses what is not a compact JWS in canonical base64url (two or five segments, padding, JSON)', async () => {
    const good = await proof();
    for (const bad of [good.split('.').slice(0, 2).join('.'), `${good}.a.b`, `${good}=`, '{"payload":"x"}', 'a.b.c']) {
      await refusal(verify(bad, request), 'dpop_proof_malformed', 'malformed DPoP proof');
    }
  });

  it('requires typ dpop+jwt', async () => {
    for (const typ of [undefined, 'JWT', 'at+jwt', 'dpop']) {
      await refusal(verify(await proof({ header: { typ } }), request), 'dpop_typ_invalid', 'DPoP proof type not accepted');
    }
  });

  it('refuses a proof without an alg (RFC 7515 4.1.1) as malformed: jose parses the header once and refuses it before any key is looked at', async () => {
    const header = base64url.encode(JSON.stringify({ typ: 'dpop+jwt', jwk: key.publicJwk }));
    const body = base64url.encode(JSON.stringify({ jti: 'x', htm: 'GET', htu: URL_, iat: now() }));
    await refusal(verify(`${header}.${body}.AAAA`, request), 'dpop_proof_malformed', 'malformed DPoP proof');
  });

  it('requires an allowed asymmetric alg: none, HS256 and algorithms left out of dpop.algorithms are refused', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk }));
    const body = base64url.encode(JSON.stringify({ jti: 'x', htm: 'GET', htu: URL_, iat: now() }));
    await refusal(verify(`${header}.${body}.AAAA`, request), 'dpop_alg_not_allowed', 'DPoP proof algorithm not allowed');
    const secret = new Uint8Array(32).fill(7);
    const hs = await new SignJWT({ jti: 'x', htm: 'GET', htu: URL_, iat: now() })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: base64url.encode(secret) } } as unknown as JWTHeaderParameters).sign(secret);
    await refusal(verify(hs, request), 'dpop_alg_not_allowed', 'DPoP proof algorithm not allowed');
    const edOnly = createProofVerifier(resolveDpopOptions({ algorithms: ['EdDSA'] }, undefined, 5)!);
    await refusal(edOnly(await proof(), request), 'dpop_alg_not_allowed', 'DPoP proof algorithm not allowed');
  });

  it('requires a public jwk: missing, private (d), symmetric or odd ones are refused', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    for (const jwk of [undefined, 'a-string', [], privateJwk, { ...key.publicJwk, p: 'AAAA' }, { ...key.publicJwk, qi: 'AAAA' }, { kty: 'oct', k: 'AAAA' }, { ...key.publicJwk, kty: 'XYZ' }, { kty: 'EC', crv: 'P-256' }]) {
      await refusal(verify(await proof({ header: { jwk } }), request), 'dpop_jwk_invalid', 'invalid DPoP proof key');
    }
  });

  it('requires the jwk to fit alg: a P-384 or RSA key under ES256 is refused', async () => {
    const p384 = await exportJWK((await generateKeyPair('ES384')).publicKey);
    const rsa = await exportJWK((await generateKeyPair('RS256')).publicKey);
    for (const jwk of [p384, rsa]) {
      const bound = { ...request, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
      await refusal(verify(await proof({ header: { jwk } }), bound), 'dpop_jwk_invalid', 'invalid DPoP proof key');
    }
  });

  it('requires the key the token is bound to (cnf.jkt), checked before the signature, on first sight and once the key is known', async () => {
    const stranger = await createDpopKey();
    const junk = `${(await proof()).split('.').slice(0, 2).join('.')}.${base64url.encode(new Uint8Array(64))}`;
    for (let i = 0; i < 2; i++) {
      await refusal(verify(await proof(), { ...request, jkt: stranger.jkt }), 'dpop_key_mismatch', 'DPoP proof key does not match the token');
      await refusal(verify(junk, { ...request, jkt: stranger.jkt }), 'dpop_key_mismatch', 'DPoP proof key does not match the token');
    }
  });

  it('requires a signature by the embedded key', async () => {
    const stranger = await createDpopKey();
    const forged = await stranger.proof({ method: 'GET', url: URL_, accessToken: TOKEN, header: { jwk: key.publicJwk } });
    await refusal(verify(forged, request), 'dpop_signature_invalid', 'invalid DPoP proof signature');
    const [h, p] = (await proof()).split('.');
    const [, , s] = (await proof({ jti: 'other' })).split('.');
    await refusal(verify(`${h}.${p}.${s}`, request), 'dpop_signature_invalid', 'invalid DPoP proof signature');
  });

  it('requires a jti', async () => {
    for (const jti of [undefined, '', 42, 'x'.repeat(257)]) {
      await refusal(verify(await proof({ claims: { jti } }), request), 'dpop_jti_invalid', 'invalid DPoP proof jti');
    }
  });

  it('requires htm to be the request method, exactly', async () => {
    for (const method of ['POST', 'get']) {
      await refusal(verify(await proof({ method }), request), 'dpop_htm_mismatch', 'DPoP proof htm mismatch');
    }
    await refusal(verify(await proof({ claims: { htm: undefined } }), request), 'dpop_htm_mismatch', 'DPoP proof htm mismatch');
  });

  it('requires htu to be the request URL after normalisation, query and fragment ignored', async () => {
    for (const url of ['HTTPS://API.example.COM:443/messages', 'https://api.example.com/%6Dessages', 'https://api.example.com/x/../messages']) {
      expect((await verify(await proof({ url }), request)).jkt, url).to.equal(key.jkt);
    }
    expect((await verify(await proof({ claims: { htu: `${URL_}?a=1#f` } }), request)).jkt).to.equal(key.jkt);
    for (const htu of ['https://api.example.com/other', 'http://api.example.com/messages', 'https://api.example.com:8443/messages', 'https://evil.example/messages', '/messages', 42, undefined]) {
      await refusal(verify(await proof({ claims: { htu } }), request), 'dpop_htu_mismatch', 'DPoP proof htu mismatch');
    }
    await refusal(verify(await proof(), { ...request, htu: undefined }), 'dpop_htu_mismatch', 'DPoP proof htu mismatch');
  });

  it('requires iat inside the window: iatWindow in the past, the clock tolerance in the future', async () => {
    expect((await verify(await proof({ iat: now() - 290 }), request)).jkt).to.equal(key.jkt);
    expect((await verify(await proof({ iat: now() + 4 }), request)).jkt).to.equal(key.jkt);
    for (const iat of [now() - 320, now() + 30, undefined]) {
      await refusal(verify(await proof({ claims: { iat } }), request), 'dpop_iat_invalid', 'DPoP proof iat outside the accepted window');
    }
    const short = createProofVerifier(resolveDpopOptions({ iatWindow: 10 }, undefined, 0)!);
    await refusal(short(await proof({ iat: now() - 20 }), request), 'dpop_iat_invalid', 'DPoP proof iat outside the accepted window');
  });

  it('requires ath to be base64url(SHA-256(access token))', async () => {
    expect(accessTokenHash('abc')).to.equal('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    await refusal(verify(await proof({ accessToken: undefined }), request), 'dpop_ath_mismatch', 'DPoP proof ath mismatch');
    await refusal(verify(await proof({ accessToken: 'another.token.here' }), request), 'dpop_ath_mismatch', 'DPoP proof ath mismatch');
  });

  it('refuses duplicate member names (RFC 7515 4) in a signed proof', async () => {
    const header = base64url.encode(`{"alg":"ES256","typ":"dpop+jwt","jwk":${JSON.stringify(key.publicJwk)}}`);
    const body = base64url.encode(`{"jti":"a","jti":"b","htm":"GET","htu":"${URL_}","iat":${now()},"ath":"${accessTokenHash(TOKEN)}"}`);
    const signature = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, new TextEncoder().encode(`${header}.${body}`)));
    await refusal(verify(`${header}.${body}.${base64url.encode(signature)}`, request), 'dpop_proof_malformed', 'malformed DPoP proof');
  });

  it('never fetches what the proof names (jku, x5u): only the embedded jwk is used', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.end('{"keys":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const where = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    try {
      expect((await verify(await proof({ header: { jku: where, x5u: where } }), request)).jkt).to.equal(key.jkt);
      await refusal(verify(await proof({ header: { jku: where, jwk: undefined } }), request), 'dpop_jwk_invalid', 'invalid DPoP proof key');
      expect(hits).to.equal(0);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  describe('with server nonces (RFC 9449 8, 11.1)', () => {
    const nonces = nonceSource([new TextEncoder().encode('a-nonce-secret-of-at-least-thirty-two-bytes')], 300);
    let withNonce: ProofVerifier;
    before(() => {
      withNonce = createProofVerifier(resolveDpopOptions({ nonce: { secret: 'a-nonce-secret-of-at-least-thirty-two-bytes' } }, undefined, 5)!, nonces);
    });

    it('requires a valid nonce: use_dpop_nonce with the current one otherwise', async () => {
      for (const [nonce, stale] of [[undefined, false], ['made.up', true]] as const) {
        const error = await rejection(withNonce(await proof({ nonce }), request));
        expect(error).to.be.instanceOf(UseDpopNonceError);
        expect((error as UseDpopNonceError).nonce).to.equal(nonces.current());
        expect(error.description).to.equal(stale ? 'DPoP nonce expired or invalid' : 'DPoP nonce required');
      }
    });

    it('lets a valid nonce stand in for a recent iat', async () => {
      const nonce = nonces.current();
      expect((await withNonce(await proof({ nonce, iat: now() - 3600 }), request)).nonce).to.equal(nonce);
      await refusal(withNonce(await proof({ nonce, iat: now() + 60 }), request), 'dpop_iat_invalid', 'DPoP proof iat outside the accepted window');
    });
  });
});
