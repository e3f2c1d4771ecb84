import type { JWK } from 'jose';

// The cost of checking a signature is set by the key, and whoever chooses the key (a DPoP client, a
// tenant's JWKS, an introspection server's answer) chooses it. These bounds keep every key we import
// within what real signers use, so no key can make one check cost many times a normal one.

/** RSA moduli, in bits: RFC 7518 3.3 and 3.5 ask for 2048 at least; nobody signs tokens with more than 4096. */
const RSA_MODULUS_BITS = { min: 2048, max: 4096 } as const;
/** RSA public exponents, in bits: 65537 has 17. A 3,071-bit exponent made one check cost about 24 times more. */
const MAX_RSA_EXPONENT_BITS = 32;
/** Byte lengths of EC coordinates (RFC 7518 6.2.1.2) and of OKP public keys (RFC 8037 2). */
const EC_COORDINATE_BYTES: Readonly<Record<string, number>> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };
const OKP_KEY_BYTES: Readonly<Record<string, number>> = { Ed25519: 32, Ed448: 57 };
/** Longest base64url parameter worth decoding: an RSA-4096 modulus is 683 characters. */
const MAX_PARAMETER_LENGTH = 1024;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function octets(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || value.length > MAX_PARAMETER_LENGTH || !BASE64URL.test(value)) return undefined;
  return Buffer.from(value, 'base64url');
}

function tooLong(value: unknown): boolean {
  return typeof value === 'string' && value.length > MAX_PARAMETER_LENGTH;
}

/** Significant bits of a big-endian unsigned integer. */
function bitLength(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
}

/**
 * Why a public JWK may not verify anything here, or undefined when it may: an RSA modulus outside
 * 2048 to 4096 bits, an RSA exponent that is even, below 3 or above 32 bits, an EC coordinate or an
 * OKP key of the wrong length for its curve, an unknown curve. Checked before a key is imported or
 * hashed, wherever keys come from (DPoP proofs, JWKS, and so RFC 9701 answers). Never quotes the key.
 */
export function keyBoundsDefect(jwk: JWK): string | undefined {
  switch (jwk.kty) {
    case 'RSA': {
      // Checked first, or a modulus past the decoding limit would read as merely malformed.
      if (tooLong(jwk.n) || tooLong(jwk.e)) return 'RSA parameter too long';
      const n = octets(jwk.n);
      const e = octets(jwk.e);
      if (n === undefined || e === undefined) return 'RSA parameters missing or malformed';
      const bits = bitLength(n);
      if (bits < RSA_MODULUS_BITS.min || bits > RSA_MODULUS_BITS.max) return `RSA modulus of ${bits} bits, outside ${RSA_MODULUS_BITS.min}-${RSA_MODULUS_BITS.max}`;
      const exponentBits = bitLength(e);
      if (exponentBits > MAX_RSA_EXPONENT_BITS) return `RSA exponent of ${exponentBits} bits, above ${MAX_RSA_EXPONENT_BITS}`;
      if (exponentBits < 2 || (e[e.length - 1]! & 1) === 0) return 'RSA exponent below 3 or even';
      return undefined;
    }
    case 'EC': {
      const size = typeof jwk.crv === 'string' ? EC_COORDINATE_BYTES[jwk.crv] : undefined;
      if (size === undefined) return 'unknown EC curve';
      if (octets(jwk.x)?.length !== size || octets(jwk.y)?.length !== size) return `EC coordinates not ${size} bytes`;
      return undefined;
    }
    case 'OKP': {
      const size = typeof jwk.crv === 'string' ? OKP_KEY_BYTES[jwk.crv] : undefined;
      if (size === undefined) return 'not a signing OKP curve';
      if (octets(jwk.x)?.length !== size) return `OKP key not ${size} bytes`;
      return undefined;
    }
    default:
      return 'not an asymmetric signing key type';
  }
}
