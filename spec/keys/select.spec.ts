import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { base64url } from 'jose';
import nock from 'nock';
import { createVerifier } from '../../lib/index.js';
import { indexByKid, selectKey, usableKeys } from '../../lib/keys/select.js';
import { fakeProvider, signingKey } from '../support/provider.js';
import { rejection as refusal } from '../support/rejection.js';

/** A base64url RSA modulus of 2048 bits (within bounds), distinct per `seed`. */
const modulus = (seed: number): string => {
  const bytes = Buffer.alloc(256, seed);
  bytes[0] = 0xc0;
  return base64url.encode(bytes);
};
const P256 = base64url.encode(Buffer.alloc(32, 7));

describe('keys/select', () => {
  afterEach(() => nock.cleanAll());

  it('keeps only keys that may verify: drops enc, oct, private, unknown alg or kty, key_ops without verify', () => {
    const rsa = { kty: 'RSA', n: modulus(1), e: 'AQAB' };
    const kept = usableKeys([
      { ...rsa, kid: 'ok' },
      { ...rsa, kid: 'sig', use: 'sig', alg: 'RS256', key_ops: ['verify'] },
      { ...rsa, kid: 'enc', use: 'enc' },
      { kty: 'oct', kid: 'secret', k: 'c2VjcmV0' },
      { ...rsa, kid: 'private', d: 'x' },
      { ...rsa, kid: 'rsa-oaep', alg: 'RSA-OAEP' },
      { ...rsa, kid: 'hs', alg: 'HS256' },
      { ...rsa, kid: 'ops', key_ops: ['encrypt'] },
      { kty: 'OKP', crv: 'X25519', x: 'x', kid: 'ecdh', alg: 'ECDH-ES' },
      { kty: 'weird', kid: 'weird' },
      { ...rsa, kid: 42 },
      null, 'text', [],
    ], 'spec');
    expect(kept.map((k) => k.kid)).to.deep.equal(['ok', 'sig']);
  });

  it('drops keys out of bounds (a 3,071-bit RSA exponent), with a debug line naming the reason, never the key or its kid', function () {
    this.timeout(60_000);
    const hugeExponent = base64url.encode(Buffer.concat([Buffer.from([0x40]), Buffer.alloc(383, 0x55)]));
    const jwks = JSON.stringify([{ kty: 'RSA', kid: 'kid-of-the-costly-key', n: modulus(1), e: hugeExponent }, { kty: 'RSA', kid: 'ok', n: modulus(2), e: 'AQAB' }]);
    const script = `import { usableKeys } from ${JSON.stringify(fileURLToPath(new URL('../../lib/keys/select.ts', import.meta.url)))};
      console.log(JSON.stringify(usableKeys(${jwks}, 'jwks https://issuer.example.com/jwks').map((k) => k.kid)));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, NODE_DEBUG: 'koa-token-guard' }, encoding: 'utf8',
    });
    expect(child.status, child.stderr).to.equal(0);
    expect(JSON.parse(child.stdout)).to.deep.equal(['ok']);
    expect(child.stderr).to.include('jwks https://issuer.example.com/jwks: key dropped, out of bounds: RSA exponent of 3071 bits, above 32');
    for (const secret of ['kid-of-the-costly-key', hugeExponent.slice(0, 40), modulus(1).slice(0, 40)]) expect(child.stderr).not.to.include(secret);
  });

  it('resolves duplicate kids the same way every time: a key declaring alg first, then document order', () => {
    const keys = usableKeys([
      { kty: 'RSA', kid: 'a', n: modulus(1), e: 'AQAB' },
      { kty: 'RSA', kid: 'a', n: modulus(2), e: 'AQAB', alg: 'RS256' },
      { kty: 'RSA', kid: 'a', n: modulus(3), e: 'AQAB' },
      { kty: 'EC', kid: 'a', crv: 'P-256', x: P256, y: P256 },
    ], 'spec');
    const byKid = indexByKid(keys);
    expect(selectKey(keys, byKid, 'a', 'RS256')).to.equal(1);
    expect(selectKey(keys, byKid, 'a', 'PS256')).to.equal(0);
    expect(selectKey(keys, byKid, 'a', 'ES256')).to.equal(3);
    expect(selectKey(keys, byKid, 'a', 'ES384')).to.equal(-1);
    expect(selectKey(keys, byKid, 'b', 'RS256')).to.equal(-1);
  });

  it('verifies with the key that declares the token alg when a stale twin shares its kid', async () => {
    const provider = await fakeProvider({ algs: ['RS256'] });
    const current = provider.keys[0]!;
    const old = await signingKey('RS256', current.kid, 'old-twin');
    const { alg: _alg, ...withoutAlg } = old.publicJwk;
    provider.publish([withoutAlg, current.publicJwk]);
    const verify = createVerifier({ issuer: provider.issuer, audience: provider.audience });
    expect((await verify(await provider.sign())).claims.sub).to.equal('user-1');
  });

  it('never verifies with a private or an encryption key published by mistake', async () => {
    const provider = await fakeProvider({ algs: ['ES256'] });
    const key = provider.keys[0]!;
    provider.publish([{ ...key.publicJwk, use: 'enc' }, { ...key.publicJwk, d: 'AAAA' }]);
    const verify = createVerifier({ issuer: provider.issuer, audience: provider.audience });
    expect((await refusal(verify(await provider.sign()))).code).to.equal('kid_unknown');
  });

  it('matches a token without kid when exactly one key fits its alg, whatever else is published', async () => {
    const provider = await fakeProvider({ algs: ['ES256', 'RS256'] });
    provider.publish([...provider.keys.map((k) => k.publicJwk), { kty: 'oct', k: 'c2VjcmV0' }, { ...provider.keys[0]!.publicJwk, use: 'enc' }]);
    const verify = createVerifier({ issuer: provider.issuer, audience: provider.audience });
    expect((await verify(await provider.sign({}, { noKid: true }))).header.kid).to.equal(undefined);
  });
});
