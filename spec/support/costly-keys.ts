// Keys out of bounds (lib/keys/bounds.ts), built by hand from a real RSA key's primes: an attacker who
// controls a JWKS (an accepted tenant, an introspection server's issuer) can publish them, and the
// verifier pays for every check. The huge-exponent key is a working key pair: its signatures verify,
// so a spec can tell "refused because of the key" from "refused because the signature is junk".
import { base64url, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { SigningKey } from './provider.js';

const toBig = (value: string): bigint => BigInt(`0x${Buffer.from(value, 'base64url').toString('hex') || '0'}`);
const toB64 = (value: bigint): string => {
  const hex = value.toString(16);
  return base64url.encode(Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex'));
};
const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}
function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return mod(s0, m);
}

// 3072 bits: OpenSSL takes exponents of any size up to that modulus (above it, 64 bits at most), and
// refuses an exponent larger than the modulus, so 3,071 bits is the costliest it verifies with.
let base3072: Promise<JWK> | undefined;

/**
 * An RS256 key pair (3072-bit modulus, within bounds) whose public exponent has `bits` bits instead of 17: each
 * verification costs about 24 times a normal one at 3,071 bits. Its private key signs for real.
 */
export async function hugeExponentKey(kid: string, bits = 3071): Promise<SigningKey> {
  base3072 ??= generateKeyPair('RS256', { modulusLength: 3072, extractable: true }).then(({ privateKey }) => exportJWK(privateKey));
  const base = await base3072;
  const p = toBig(base.p!);
  const q = toBig(base.q!);
  const phi = (p - 1n) * (q - 1n);
  let e = (1n << BigInt(bits - 1)) | 1n;
  while (gcd(e, phi) !== 1n) e += 2n;
  const d = inverse(e, phi);
  const publicJwk: JWK = { kty: 'RSA', n: base.n!, e: toB64(e), kid, alg: 'RS256', use: 'sig' };
  const privateJwk: JWK = {
    kty: 'RSA', n: base.n!, e: toB64(e), d: toB64(d), p: base.p!, q: base.q!,
    dp: toB64(d % (p - 1n)), dq: toB64(d % (q - 1n)), qi: toB64(inverse(q, p)),
  };
  return { alg: 'RS256', kid, privateKey: (await importJWK(privateJwk, 'RS256', { extractable: true })) as CryptoKey, publicJwk };
}

/** A public RSA JWK with a modulus of `bits` bits (odd, not a real key's: verifying with it costs all the same). */
export function oversizeModulusJwk(kid: string, bits = 8192): JWK {
  const n = Buffer.alloc(bits / 8, 0xa5);
  n[0] = 0xc5;
  n[n.length - 1] = 0xa7;
  return { kty: 'RSA', n: base64url.encode(n), e: 'AQAB', kid, alg: 'RS256', use: 'sig' };
}

/** A public P-256 JWK whose coordinates are `bytes` long instead of 32. */
export function wrongLengthEcJwk(kid: string, bytes = 33): JWK {
  const coordinate = base64url.encode(Buffer.alloc(bytes, 7));
  return { kty: 'EC', crv: 'P-256', x: coordinate, y: coordinate, kid, alg: 'ES256', use: 'sig' };
}
