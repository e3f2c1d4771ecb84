import { expect } from 'chai';
import { base64url, exportJWK, generateKeyPair, type JWK } from 'jose';
import { keyBoundsDefect } from '../../lib/keys/bounds.js';
import { oversizeModulusJwk, wrongLengthEcJwk } from '../support/costly-keys.js';
import { keyPair } from '../support/provider.js';

const b64 = (bytes: number[] | Buffer): string => base64url.encode(Buffer.from(bytes));
/** A big-endian integer of exactly `bits` bits (top bit set, odd). */
const integer = (bits: number): string => {
  const bytes = Buffer.alloc(Math.ceil(bits / 8), 0x55);
  bytes[0] = 1 << ((bits - 1) % 8);
  bytes[bytes.length - 1]! |= 1;
  return b64(bytes);
};

describe('keys/bounds (keyBoundsDefect)', () => {
  let rsa: JWK;
  before(async () => {
    rsa = (await keyPair('RS256')).publicJwk;
  });

  it('passes the keys real signers publish: RSA 2048 and 4096, P-256, P-384, P-521, Ed25519', async () => {
    const keys: JWK[] = [rsa, { kty: 'RSA', n: integer(4096), e: 'AQAB' }];
    for (const alg of ['ES256', 'ES384', 'ES512', 'Ed25519']) keys.push(await exportJWK((await generateKeyPair(alg)).publicKey));
    expect(keys.map(keyBoundsDefect)).to.deep.equal(keys.map(() => undefined));
  });

  it('refuses RSA moduli under 2048 or over 4096 bits, however they are encoded', () => {
    expect(keyBoundsDefect({ ...rsa, n: integer(2047) })).to.equal('RSA modulus of 2047 bits, outside 2048-4096');
    expect(keyBoundsDefect({ ...rsa, n: integer(4097) })).to.equal('RSA modulus of 4097 bits, outside 2048-4096');
    // Leading zero octets do not make a small modulus big.
    expect(keyBoundsDefect({ ...rsa, n: b64([0, 0, ...Buffer.from(integer(1024), 'base64url')]) })).to.equal('RSA modulus of 1024 bits, outside 2048-4096');
    expect(keyBoundsDefect(oversizeModulusJwk('k', 8192))).to.equal('RSA parameter too long');
  });

  it('refuses RSA exponents over 32 bits, even, or below 3', () => {
    expect(keyBoundsDefect({ ...rsa, e: integer(32) })).to.equal(undefined);
    expect(keyBoundsDefect({ ...rsa, e: integer(33) })).to.equal('RSA exponent of 33 bits, above 32');
    expect(keyBoundsDefect({ ...rsa, e: integer(3071) })).to.equal('RSA exponent of 3071 bits, above 32');
    expect(keyBoundsDefect({ ...rsa, e: b64([3]) })).to.equal(undefined);
    for (const e of [[1], [0], [0x01, 0x00, 0x00]]) expect(keyBoundsDefect({ ...rsa, e: b64(e) })).to.equal('RSA exponent below 3 or even');
  });

  it('refuses missing or malformed parameters without decoding them', () => {
    expect(keyBoundsDefect({ kty: 'RSA', e: 'AQAB' })).to.match(/^RSA parameters/);
    expect(keyBoundsDefect({ ...rsa, e: '' })).to.match(/^RSA parameters/);
    expect(keyBoundsDefect({ ...rsa, n: `${rsa.n!.slice(1)}=` })).to.match(/^RSA parameters/);
    expect(keyBoundsDefect({ ...rsa, e: 65537 as unknown as string })).to.match(/^RSA parameters/);
  });

  it('refuses EC coordinates and OKP keys of another length than their curve\'s, and unknown curves', () => {
    expect(keyBoundsDefect(wrongLengthEcJwk('k', 33))).to.equal('EC coordinates not 32 bytes');
    expect(keyBoundsDefect(wrongLengthEcJwk('k', 31))).to.equal('EC coordinates not 32 bytes');
    expect(keyBoundsDefect({ kty: 'EC', crv: 'secp256k1', x: integer(256), y: integer(256) })).to.equal('unknown EC curve');
    expect(keyBoundsDefect({ kty: 'OKP', crv: 'Ed25519', x: b64(Buffer.alloc(33)) })).to.equal('OKP key not 32 bytes');
    expect(keyBoundsDefect({ kty: 'OKP', crv: 'X25519', x: b64(Buffer.alloc(32)) })).to.equal('not a signing OKP curve');
    expect(keyBoundsDefect({ kty: 'oct', k: 'c2VjcmV0' })).to.equal('not an asymmetric signing key type');
  });

  it('never quotes the key in its reason', () => {
    const reasons = [keyBoundsDefect({ ...rsa, e: integer(3071) }), keyBoundsDefect({ ...rsa, n: integer(1024) }), keyBoundsDefect(wrongLengthEcJwk('k'))];
    for (const reason of reasons) expect(reason).to.match(/^[A-Za-z0-9 ,-]+$/).and.to.have.length.below(60);
  });
});
