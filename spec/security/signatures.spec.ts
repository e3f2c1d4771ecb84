import { expect } from 'chai';
import { KeyObject, sign } from 'node:crypto';
import { base64url } from 'jose';
import { fakeProvider, type FakeProvider } from '../support/provider.js';
import { expectProviderCalls, expectRefusal, guardedApp, send, refuseStrayNetwork } from './support.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The same bytes spelled differently: sets a padding bit of the last character (RFC 4648 3.5). */
function nonCanonical(segment: string): string {
  const last = ALPHABET.indexOf(segment.at(-1)!);
  return segment.slice(0, -1) + ALPHABET[last | 1];
}

describe('security: signatures (RFC 7515 5.2, RFC 7518 3.4)', () => {
  let provider: FakeProvider;
  const app = () => guardedApp({ issuer: provider.issuer, audience: provider.audience });

  beforeEach(async () => {
    provider = await fakeProvider({ algs: ['ES256', 'ES384'] });
  });
  refuseStrayNetwork();

  it('answers 401 "invalid signature" for an all-zero ECDSA signature r = s = 0 (CVE-2022-21449)', async () => {
    for (const [key, bytes] of [[provider.keys[0]!, 64], [provider.keys[1]!, 96]] as const) {
      const [h, p] = (await provider.sign({}, { key })).split('.');
      const token = `${h}.${p}.${base64url.encode(new Uint8Array(bytes))}`;
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'invalid signature', token);
    }
    expectProviderCalls(provider, 1, 1);
  });

  it('answers 401 "malformed token" for an empty signature (alg kept, signature stripped)', async () => {
    const [h, p] = (await provider.sign()).split('.');
    const token = `${h}.${p}.`;
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'malformed token', token);
    expectProviderCalls(provider, 0, 0);
  });

  it('answers 401 for a truncated signature: "invalid signature", or "malformed token" when no byte string has that length', async () => {
    const token = await provider.sign();
    const [h, p, s] = token.split('.') as [string, string, string];
    const shorter = `${h}.${p}.${base64url.encode(base64url.decode(s).slice(0, 60))}`;
    const impossible = token.slice(0, -1); // 85 characters: 4n+1 encodes nothing
    expectRefusal(await send(app(), shorter), 401, 'invalid_token', 'invalid signature', shorter);
    expectRefusal(await send(app(), impossible), 401, 'invalid_token', 'malformed token', impossible);
  });

  it('answers 401 "invalid signature" for a DER-encoded ECDSA signature instead of r||s (RFC 7518 3.4)', async () => {
    const key = provider.keys[0]!;
    const [h, p] = (await provider.sign()).split('.');
    const der = sign('sha256', Buffer.from(`${h}.${p}`), { key: KeyObject.from(key.privateKey), dsaEncoding: 'der' });
    const token = `${h}.${p}.${base64url.encode(der)}`;
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'invalid signature', token);
  });

  it('answers 401 "malformed token" for a signature or payload in non-canonical base64url (same bytes, another spelling)', async () => {
    const [h, p, s] = (await provider.sign()).split('.') as [string, string, string];
    expect(s.length % 4, 'an ES256 signature has padding bits').to.equal(2);
    const payloadBits = p.length % 4 === 0 ? undefined : `${h}.${nonCanonical(p)}.${s}`;
    for (const token of [`${h}.${p}.${nonCanonical(s)}`, ...(payloadBits ? [payloadBits] : [])]) {
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'malformed token', token);
    }
  });

  it('answers 401 "malformed token" for padded base64url segments (RFC 7515 2: no padding)', async () => {
    const token = await provider.sign();
    const padded = `${token}${'='.repeat(4 - (token.split('.')[2]!.length % 4))}`;
    expectRefusal(await send(app(), padded), 401, 'invalid_token', 'malformed token', padded);
  });

  it('answers 401 "invalid signature" for a genuine signature over a tampered payload or header', async () => {
    const [h, p, s] = (await provider.sign()).split('.') as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p))) as Record<string, unknown>;
    const header = JSON.parse(new TextDecoder().decode(base64url.decode(h))) as Record<string, unknown>;
    const tamperedPayload = `${h}.${base64url.encode(JSON.stringify({ ...claims, sub: 'admin', scope: 'admin' }))}.${s}`;
    const tamperedHeader = `${base64url.encode(JSON.stringify({ ...header, typ: 'JWT' }))}.${p}.${s}`;
    expectRefusal(await send(app(), tamperedPayload), 401, 'invalid_token', 'invalid signature', tamperedPayload);
    expectRefusal(await send(app(), tamperedHeader), 401, 'invalid_token', 'invalid signature', tamperedHeader);
    expectProviderCalls(provider, 1, 1);
  });
});
