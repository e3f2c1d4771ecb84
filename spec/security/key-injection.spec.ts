import { expect } from 'chai';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import nock from 'nock';
import { fakeProvider, signingKey, type FakeProvider } from '../support/provider.js';
import { claimsFor, expectProviderCalls, expectRefusal, guardedApp, send, refuseStrayNetwork } from './support.js';

describe('security: keys named or embedded in the token are never trusted or fetched (RFC 8725 3.10, RFC 7515 4.1.2-4.1.6)', () => {
  let provider: FakeProvider;
  let attacker: CryptoKeyPair;
  let attackerHits: number;
  const app = () => guardedApp({ issuer: provider.issuer, audience: provider.audience });
  const forge = async (header: Record<string, unknown>) =>
    new SignJWT(claimsFor(provider)).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...header }).sign(attacker.privateKey);

  before(async () => {
    attacker = await generateKeyPair('ES256', { extractable: true });
  });
  beforeEach(async () => {
    provider = await fakeProvider();
    attackerHits = 0;
    // The attacker's key server: a token naming it must never make us call it.
    nock('https://attacker.example').persist().get(/.*/).reply(() => {
      attackerHits++;
      return [200, { keys: [] }];
    });
  });
  refuseStrayNetwork();
  afterEach(() => {
    expect(attackerHits, 'requests to the attacker\'s key server').to.equal(0);
  });

  it('refuses an embedded jwk header with the forger\'s key, without a kid (CVE-2018-0114)', async () => {
    const jwk = await exportJWK(attacker.publicKey);
    const token = await forge({ jwk });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'invalid signature', token);
    expectProviderCalls(provider, 1, 1);
  });

  it('refuses an embedded jwk header whose kid is its thumbprint or the provider\'s kid', async () => {
    const jwk = await exportJWK(attacker.publicKey);
    const thumbprint = await forge({ jwk, kid: await calculateJwkThumbprint(jwk) });
    const borrowed = await forge({ jwk: { ...jwk, kid: provider.keys[0]!.kid }, kid: provider.keys[0]!.kid });
    expectRefusal(await send(app(), thumbprint), 401, 'invalid_token', 'signing key not found', thumbprint);
    expectRefusal(await send(app(), borrowed), 401, 'invalid_token', 'invalid signature', borrowed);
    expectProviderCalls(provider, 1, 1);
  });

  for (const name of ['jku', 'x5u']) {
    it(`never fetches a ${name} header (RFC 7515 ${name === 'jku' ? '4.1.2' : '4.1.5'}) and verifies with the issuer's own keys`, async () => {
      const token = await forge({ [name]: 'https://attacker.example/keys.json', kid: provider.keys[0]!.kid });
      const unknownKid = await forge({ [name]: 'https://attacker.example/keys.json', kid: 'attacker-key' });
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'invalid signature', token);
      expectRefusal(await send(app(), unknownKid), 401, 'invalid_token', 'signing key not found', unknownKid);
      expectProviderCalls(provider, 1, 1);
    });
  }

  it('ignores an x5c certificate chain header (RFC 7515 4.1.6)', async () => {
    const token = await forge({ x5c: [Buffer.from('not a certificate the verifier will ever parse').toString('base64')], kid: provider.keys[0]!.kid });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'invalid signature', token);
    expectProviderCalls(provider, 1, 1);
  });

  it('accepts a genuine token carrying such headers: they are ignored, not required', async () => {
    const key = await signingKey('ES256');
    const token = await provider.sign({}, { key, header: { jku: 'https://attacker.example/keys.json', x5u: 'https://attacker.example/cert.pem' } });
    const reply = await send(app(), token);
    expect(reply.status).to.equal(200);
    expectProviderCalls(provider, 1, 1);
  });
});
