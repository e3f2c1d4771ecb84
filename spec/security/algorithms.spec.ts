import { expect } from 'chai';
import { createPublicKey } from 'node:crypto';
import { base64url, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { ConfigurationError, createVerifier } from '../../lib/index.js';
import { fakeProvider, signingKey, type FakeProvider } from '../support/provider.js';
import { claimsFor, expectProviderCalls, expectRefusal, guardedApp, privateKeyAs, publicCryptoKey, send, refuseStrayNetwork } from './support.js';

describe('security: algorithms (RFC 8725 3.1, 3.2)', () => {
  let provider: FakeProvider;
  const app = () => guardedApp({ issuer: provider.issuer, audience: provider.audience });

  beforeEach(async () => {
    provider = await fakeProvider({ algs: ['RS256', 'ES256'] });
  });
  refuseStrayNetwork();

  const hs256 = (secret: Uint8Array, kid: string) =>
    new SignJWT(claimsFor(provider)).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid }).sign(secret);

  describe('alg none (CVE-2015-9235, CVE-2022-23540)', () => {
    it('answers 401 "malformed token" for an empty alg', async () => {
      const p = new UnsecuredJWT(claimsFor(provider)).encode().split('.')[1]!;
      const token = `${base64url.encode(JSON.stringify({ alg: '', typ: 'at+jwt' }))}.${p}.${base64url.encode('sig')}`;
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'malformed token', token);
      expectProviderCalls(provider, 0, 0);
    });

    for (const alg of ['none', 'None', 'NONE', 'nOnE', 'none ']) {
      it(`answers 401 "signing algorithm not allowed" for alg ${JSON.stringify(alg)} without a signature, before any key fetch`, async () => {
        const p = new UnsecuredJWT(claimsFor(provider)).encode().split('.')[1]!;
        const header = base64url.encode(JSON.stringify({ alg, typ: 'at+jwt' }));
        const token = `${header}.${p}.`;
        // An empty signature segment is malformed on its own: give it one so the alg check is what refuses.
        const withSignature = `${header}.${p}.${base64url.encode('sig')}`;
        expectRefusal(await send(app(), token), 401, 'invalid_token', 'malformed token', token);
        expectRefusal(await send(app(), withSignature), 401, 'invalid_token', 'signing algorithm not allowed', withSignature);
        expectProviderCalls(provider, 0, 0);
      });
    }

    it('never lets `none` into the allow-list (ConfigurationError at startup)', () => {
      for (const alg of ['none', 'NONE']) {
        expect(() => createVerifier({ issuer: provider.issuer, audience: provider.audience, algorithms: ['ES256', alg] }))
          .to.throw(ConfigurationError, /must not contain "none"/);
      }
    });
  });

  it('answers 401 "signing algorithm not allowed" for an algorithm outside a configured allow-list (RFC 8725 3.1)', async () => {
    const token = await provider.sign({}, { key: provider.keys[0] }); // RS256
    const reply = await send(guardedApp({ issuer: provider.issuer, audience: provider.audience, algorithms: ['ES256'] }), token);
    expectRefusal(reply, 401, 'invalid_token', 'signing algorithm not allowed', token);
    expectProviderCalls(provider, 0, 0);
  });

  describe('algorithm confusion: HS256 signed with the public key as the HMAC secret (CVE-2015-9235, CVE-2016-10555)', () => {
    it('refuses the RSA public key as SPKI PEM, PKCS#1 PEM, JWK JSON, raw modulus and modulus text', async () => {
      const rsa = provider.keys[0]!;
      const spki = await exportSPKI(await publicCryptoKey(rsa));
      const pkcs1 = createPublicKey({ key: rsa.publicJwk, format: 'jwk' }).export({ type: 'pkcs1', format: 'pem' }) as string;
      const secrets: Record<string, Uint8Array> = {
        'SPKI PEM': new TextEncoder().encode(spki),
        'SPKI PEM with a newline': new TextEncoder().encode(`${spki}\n`),
        'PKCS#1 PEM': new TextEncoder().encode(pkcs1),
        'JWK JSON': new TextEncoder().encode(JSON.stringify(rsa.publicJwk)),
        'raw modulus': base64url.decode(rsa.publicJwk.n!),
        'modulus text': new TextEncoder().encode(rsa.publicJwk.n),
      };
      for (const secret of Object.values(secrets)) {
        const token = await hs256(secret, rsa.kid);
        expectRefusal(await send(app(), token), 401, 'invalid_token', 'signing algorithm not allowed', token);
      }
      expectProviderCalls(provider, 0, 0);
    });

    it('refuses the EC public key as SPKI PEM, JWK JSON and raw point', async () => {
      const ec = provider.keys[1]!;
      const x = base64url.decode(ec.publicJwk.x!);
      const y = base64url.decode(ec.publicJwk.y!);
      const secrets = [
        new TextEncoder().encode(await exportSPKI(await publicCryptoKey(ec))),
        new TextEncoder().encode(JSON.stringify(ec.publicJwk)),
        Uint8Array.from([4, ...x, ...y]),
      ];
      for (const secret of secrets) {
        const token = await hs256(secret, ec.kid);
        expectRefusal(await send(app(), token), 401, 'invalid_token', 'signing algorithm not allowed', token);
      }
      expectProviderCalls(provider, 0, 0);
    });

    it('never lets HS* into the allow-list of a key set (ConfigurationError at startup)', () => {
      expect(() => createVerifier({ issuer: provider.issuer, audience: provider.audience, algorithms: ['RS256', 'HS256'] }))
        .to.throw(ConfigurationError, /algorithm confusion, RFC 8725 3.1/);
    });

    it('refuses an asymmetric token when configured with an HMAC secret', async () => {
      const token = await provider.sign();
      const reply = await send(guardedApp({ issuer: provider.issuer, audience: provider.audience, secret: 'x'.repeat(32) }), token);
      expectRefusal(reply, 401, 'invalid_token', 'signing algorithm not allowed', token);
      expectProviderCalls(provider, 0, 0);
    });
  });

  describe('a key used with another algorithm than its own (RFC 7517 4.4, RFC 8725 3.1)', () => {
    it('refuses PS256 signed by the RSA key published for RS256', async () => {
      const rsa = provider.keys[0]!;
      const token = await new SignJWT(claimsFor(provider))
        .setProtectedHeader({ alg: 'PS256', typ: 'at+jwt', kid: rsa.kid })
        .sign(await privateKeyAs(rsa, 'PS256'));
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'signing key not found', token);
      expectProviderCalls(provider, 1, 1);
    });

    it('refuses an RSA kid named by an ES256 token and an EC kid named by an RS256 token (wrong key type)', async () => {
      const [rsa, ec] = provider.keys;
      const es = await new SignJWT(claimsFor(provider)).setProtectedHeader({ alg: 'ES256', kid: rsa!.kid }).sign(ec!.privateKey);
      const rs = await new SignJWT(claimsFor(provider)).setProtectedHeader({ alg: 'RS256', kid: ec!.kid }).sign(rsa!.privateKey);
      expectRefusal(await send(app(), es), 401, 'invalid_token', 'signing key not found', es);
      expectRefusal(await send(app(), rs), 401, 'invalid_token', 'signing key not found', rs);
      expectProviderCalls(provider, 1, 1);
    });

    it('refuses ES384 naming a P-256 key (wrong curve)', async () => {
      const ec = provider.keys[1]!;
      const p384 = await generateKeyPair('ES384');
      const token = await new SignJWT(claimsFor(provider)).setProtectedHeader({ alg: 'ES384', kid: ec.kid }).sign(p384.privateKey);
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'signing key not found', token);
      expectProviderCalls(provider, 1, 1);
    });

    it('refuses a key whose JWK says use "enc" or key_ops without "verify"', async () => {
      const enc = await signingKey('ES256', 'enc-key');
      const ops = await signingKey('ES256', 'ops-key');
      const { use: _use, ...opsJwk } = ops.publicJwk;
      provider.publish([{ ...enc.publicJwk, use: 'enc' }, { ...opsJwk, key_ops: ['encrypt'] }]);
      for (const key of [enc, ops]) {
        const token = await provider.sign({}, { key });
        expectRefusal(await send(app(), token), 401, 'invalid_token', 'signing key not found', token);
      }
      expectProviderCalls(provider, 1, 1);
    });
  });
});
