import { expect } from 'chai';
import { base64url } from 'jose';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { claimsFor, expectProviderCalls, expectRefusal, guardedApp, send, signRaw, refuseStrayNetwork } from './support.js';
import { request } from '../support/http.js';

describe('security: size and parsing abuse (RFC 7515 4, RFC 7519 4, RFC 8259 4)', () => {
  let provider: FakeProvider;
  const app = (extra = {}) => guardedApp({ issuer: provider.issuer, audience: provider.audience, ...extra });
  const header = () => JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: provider.keys[0]!.kid });
  const payload = () => JSON.stringify(claimsFor(provider));
  const signed = (h: string, p: string) => signRaw(provider.keys[0]!, h, p);

  beforeEach(async () => {
    provider = await fakeProvider();
  });
  refuseStrayNetwork();

  it('accepts the raw-signed baseline these attacks start from', async () => {
    expect((await send(app(), await signed(header(), payload()))).status).to.equal(200);
  });

  describe('size', () => {
    it('answers 401 "token too large" over 8192 characters, before any parsing, crypto or fetch', async () => {
      const garbage = `${'a'.repeat(4000)}.${'b'.repeat(4000)}.${'c'.repeat(193)}`;
      expect(garbage).to.have.length(8195);
      expectRefusal(await send(app(), garbage), 401, 'invalid_token', 'token too large', garbage);
      expectProviderCalls(provider, 0, 0);
    });

    it('honours a configured maxTokenLength, refusing even a genuine token over it', async () => {
      const token = await provider.sign();
      expectRefusal(await send(app({ maxTokenLength: token.length - 1 }), token), 401, 'invalid_token', 'token too large', token);
      expect((await send(app({ maxTokenLength: token.length }), token)).status).to.equal(200);
      expectProviderCalls(provider, 1, 1);
    });
  });

  describe('duplicate member names (RFC 7515 4, RFC 7519 4: refuse, never pick one)', () => {
    it('answers 401 "malformed token" for a duplicate header parameter', async () => {
      const h = header().replace('{', '{"typ":"logout+jwt",');
      const token = await signed(h, payload());
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'malformed token', token);
    });

    it('answers 401 "malformed token" for a duplicate claim, also when spelled with escapes or nested', async () => {
      const p = payload();
      const variants = [
        p.replace('{', '{"aud":"https://elsewhere.example.com",'),
        p.replace('{', '{"sub":"admin",'),
        p.replace('{', '{"\\u0073ub":"admin",'),
        p.replace('{', '{"sub" : "admin" ,'),
        p.replace('{', '{"cnf":{"jkt":"a","jkt":"b"},'),
      ];
      for (const variant of variants) {
        const token = await signed(header(), variant);
        expectRefusal(await send(app(), token), 401, 'invalid_token', 'malformed token', token);
      }
    });

    it('accepts the same name in different objects and names that only look alike', async () => {
      const p = payload().replace('{', '{"a":{"sub":"x"},"b":[{"sub":"y"},{"sub":"z"}],"Sub":"s","sub ":"t","v":"\\"sub\\":",');
      expect((await send(app(), await signed(header(), p))).status).to.equal(200);
    });
  });

  it('answers 401 "malformed token" for header or payload JSON nested deeper than 32 levels', async () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const ok = payload().replace('{', `{"x":${deep(31)},`);
    expect((await send(app(), await signed(header(), ok))).status).to.equal(200);
    for (const [h, p] of [[header(), payload().replace('{', `{"x":${deep(32)},`)], [header().replace('{', `{"x":${deep(2000)},`), payload()]]) {
      const token = await signed(h!, p!);
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'malformed token', token);
    }
  });

  // jose decodes both segments strictly; the JSON scan decodes them again and refuses the same way.
  it('answers 401 "malformed token" for a payload that is not UTF-8 (RFC 7519 7.2)', async () => {
    const h = base64url.encode(header());
    const bytes = new TextEncoder().encode(payload().replace('"user-1"', '"user-\u00ff"'));
    const invalid = bytes.map((b) => (b === 0xc3 ? 0xff : b)); // 0xff never occurs in UTF-8
    const input = `${h}.${base64url.encode(invalid)}`;
    const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, provider.keys[0]!.privateKey, new TextEncoder().encode(input));
    const token = `${input}.${base64url.encode(new Uint8Array(signature))}`;
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'malformed token', token);
  });

  it('answers 400 "more than one Authorization header" for many Authorization headers (RFC 6750 2, RFC 9110 5.3)', async () => {
    const token = await provider.sign();
    const reply = await request(app(), '/', { headers: { authorization: Array.from({ length: 50 }, () => `Bearer ${token.slice(0, 100)}`) } });
    expectRefusal(reply, 400, 'invalid_request', 'more than one Authorization header');
    expectProviderCalls(provider, 0, 0);
  });
});
