import { expect } from 'chai';
import { base64url, CompactEncrypt, CompactSign, FlattenedSign, SignJWT } from 'jose';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { claimsFor, expectProviderCalls, expectRefusal, guardedApp, send, signRaw, refuseStrayNetwork } from './support.js';
import { request } from '../support/http.js';

describe('security: token shapes and header parameters (RFC 7515 7.1, RFC 7519 7.2)', () => {
  let provider: FakeProvider;
  const app = () => guardedApp({ issuer: provider.issuer, audience: provider.audience });
  // getToken bypasses the RFC 6750 b64token grammar, so the verifier itself must refuse these.
  const appWithHeader = () => guardedApp({
    issuer: provider.issuer,
    audience: provider.audience,
    getToken: (ctx) => ctx.get('x-token') || undefined,
  });
  const viaGetToken = (token: string) => request(appWithHeader(), '/', { headers: { 'x-token': token } });

  beforeEach(async () => {
    provider = await fakeProvider();
  });
  refuseStrayNetwork();

  it('answers 401 "malformed token" for 1, 2, 4 and 5 segments and for empty segments, before any key fetch', async () => {
    const [h, p, s] = (await provider.sign()).split('.') as [string, string, string];
    for (const token of [h, `${h}.${p}`, `${h}.${p}.${s}.${s}`, `${h}.${p}.${s}.${s}.${s}`, `..`, `${h}..${s}`, `.${p}.${s}`, `${h}.${p}.${s}.`]) {
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'malformed token', token);
    }
    expectProviderCalls(provider, 0, 0);
  });

  it('answers 401 "malformed token" for a JWE (RFC 7516: 5 segments), which is never decrypted', async () => {
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claimsFor(provider))))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(crypto.getRandomValues(new Uint8Array(32)));
    expect(jwe.split('.')).to.have.length(5);
    expectRefusal(await send(app(), jwe), 401, 'invalid_token', 'malformed token', jwe);
    expectProviderCalls(provider, 0, 0);
  });

  it('refuses the JWS JSON serialization: 400 in a Bearer header (not a b64token), 401 "malformed token" through getToken', async () => {
    const jws = await new FlattenedSign(new TextEncoder().encode(JSON.stringify(claimsFor(provider))))
      .setProtectedHeader({ alg: 'ES256', kid: provider.keys[0]!.kid })
      .sign(provider.keys[0]!.privateKey);
    const json = JSON.stringify(jws);
    expectRefusal(await send(app(), json), 400, 'invalid_request', 'malformed Authorization header');
    expectRefusal(await viaGetToken(json), 401, 'invalid_token', 'malformed token');
    expectProviderCalls(provider, 0, 0);
  });

  it('answers 401 "malformed token" for a nested JWT (RFC 7519 5.2 cty JWT): an inner token as payload, or cty JWT over claims', async () => {
    const key = provider.keys[0]!;
    const inner = await provider.sign();
    const nested = await new CompactSign(new TextEncoder().encode(inner))
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, cty: 'JWT' })
      .sign(key.privateKey);
    expectRefusal(await send(app(), nested), 401, 'invalid_token', 'malformed token', nested);
    for (const cty of ['JWT', 'jwt', 'application/jwt']) {
      const token = await provider.sign({}, { header: { cty } });
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'malformed token', token);
    }
  });

  it('answers 400 for characters outside b64token in a Bearer header, and 401 "malformed token" for base64 (not base64url) characters', async () => {
    const token = await provider.sign();
    const [h, p, s] = token.split('.') as [string, string, string];
    for (const bad of [`${h}.${p}.${s}%`, `${h}.${p}.${s}\u00e9`.replace('\u00e9', '*'), `${h}.${p}.{${s}}`]) {
      expectRefusal(await send(app(), bad), 400, 'invalid_request', 'malformed Authorization header');
    }
    // RFC 6750's b64token allows '+' and '/', which base64url never uses.
    for (const bad of [`${h}.${p}.${s.slice(0, -2)}+/`, `${h}.+${p.slice(1)}.${s}`, `${h}.${p}.${s.slice(0, 5)}/${s.slice(6)}`]) {
      expectRefusal(await send(app(), bad), 401, 'invalid_token', 'malformed token', bad);
    }
    // Whitespace and padding inside the token, which atob() would skip.
    for (const bad of [`${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}`, `${h}.${p}.${s.slice(0, 10)}\t${s.slice(10)}`, `${h}=.${p}.${s}`]) {
      expectRefusal(await viaGetToken(bad), 401, 'invalid_token', 'malformed token');
    }
  });

  describe('crit and b64 (RFC 7515 4.1.11, RFC 7797)', () => {
    it('answers 401 "malformed token" for crit naming an unknown parameter, an empty crit, and crit naming a registered one', async () => {
      const key = provider.keys[0]!;
      const headers = [{ crit: ['urn:example:must-understand'], 'urn:example:must-understand': true }, { crit: [] }, { crit: ['exp'] }];
      for (const extra of headers) {
        // jose refuses to sign these, so they are signed as raw text.
        const token = await signRaw(key, JSON.stringify({ alg: 'ES256', kid: key.kid, ...extra }), JSON.stringify(claimsFor(provider)));
        expectRefusal(await send(app(), token), 401, 'invalid_token', 'malformed token', token);
      }
    });

    it('answers 401 "malformed token" for b64 false, with crit (unencoded payload) and without', async () => {
      const key = provider.keys[0]!;
      // An unencoded payload that happens to look like base64url (RFC 7797 5.2 allows the compact form then):
      // the signature is genuine, jose verifies it, and the JWT is still refused.
      const payload = base64url.encode(JSON.stringify(claimsFor(provider)));
      const unencoded = await new FlattenedSign(new TextEncoder().encode(payload))
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, b64: false, crit: ['b64'] })
        .sign(key.privateKey);
      const compact = `${unencoded.protected}.${payload}.${unencoded.signature}`;
      const withoutCrit = await new SignJWT(claimsFor(provider))
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, b64: false })
        .sign(key.privateKey);
      expectRefusal(await send(app(), compact), 401, 'invalid_token', 'malformed token', compact);
      expectRefusal(await send(app(), withoutCrit), 401, 'invalid_token', 'malformed token', withoutCrit);
    });
  });
});
