import type { KeyObject } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';
import { ConfigurationError } from '../errors.js';
import type { ResolvedIntrospectionOptions } from './options.js';

/** What one introspection request carries to authenticate us: headers and extra body parameters. */
export interface ClientCredentials {
  readonly headers: Readonly<Record<string, string>>;
  readonly params: Readonly<Record<string, string>>;
}

/** Adds our client authentication to one request; `audience` is where an RFC 7523 assertion is meant for. */
export type ClientAuthenticator = (audience: string) => Promise<ClientCredentials>;

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** An assertion is good for this long: enough for clock skew, too short to be worth replaying. */
const ASSERTION_LIFETIME = 60;

const CURVE_ALG: Readonly<Record<string, string>> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512', Ed25519: 'EdDSA', prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/** The JWS algorithm for a private key: the JWK's `alg`, or the usual one for its type and curve. */
function algorithmFor(key: JWK | KeyObject | CryptoKey): string {
  if ('kty' in key && typeof key.kty === 'string') {
    const jwk = key;
    if (typeof jwk.alg === 'string') return jwk.alg;
    if (jwk.kty === 'RSA') return 'RS256';
    const alg = jwk.crv === undefined ? undefined : CURVE_ALG[jwk.crv];
    if (alg !== undefined) return alg;
  } else if ('asymmetricKeyType' in key) {
    const type = key.asymmetricKeyType;
    if (type === 'rsa') return 'RS256';
    if (type === 'rsa-pss') return 'PS256';
    if (type === 'ed25519') return 'EdDSA';
    const alg = type === 'ec' ? CURVE_ALG[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
    if (alg !== undefined) return alg;
  } else if ('algorithm' in key) {
    const algorithm = key.algorithm as { name: string; namedCurve?: string; hash?: { name: string } };
    if (algorithm.name === 'RSASSA-PKCS1-v1_5') return `RS${algorithm.hash?.name.slice(4) ?? '256'}`;
    if (algorithm.name === 'RSA-PSS') return `PS${algorithm.hash?.name.slice(4) ?? '256'}`;
    if (algorithm.name === 'Ed25519') return 'EdDSA';
    const alg = algorithm.name === 'ECDSA' ? CURVE_ALG[algorithm.namedCurve ?? ''] : undefined;
    if (alg !== undefined) return alg;
  }
  throw new ConfigurationError('`introspection.privateKey` has a type no JWS algorithm was picked for: give a JWK with an `alg` (RS256, PS256, ES256, EdDSA, …).');
}

/** RFC 6749 2.3.1: id and secret are form-encoded before they are joined for HTTP Basic. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Builds our client authentication once, at startup: the Basic header is computed here and the private
 * key imported once; only an RFC 7523 assertion (unique `jti`, short `exp`) is signed per call.
 */
export function clientAuthenticator(options: ResolvedIntrospectionOptions): ClientAuthenticator {
  const { clientId, clientSecret } = options;
  if (options.clientAuth === 'client_secret_basic') {
    const credentials: ClientCredentials = Object.freeze({
      headers: Object.freeze({ authorization: `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret!)}`).toString('base64')}` }),
      params: Object.freeze({}),
    });
    return () => Promise.resolve(credentials);
  }
  if (options.clientAuth === 'client_secret_post') {
    const credentials: ClientCredentials = Object.freeze({ headers: Object.freeze({}), params: Object.freeze({ client_id: clientId, client_secret: clientSecret! }) });
    return () => Promise.resolve(credentials);
  }
  const privateKey = options.privateKey!;
  const alg = algorithmFor(privateKey);
  const kid = 'kty' in privateKey && typeof privateKey.kid === 'string' ? privateKey.kid : undefined;
  let key: Promise<CryptoKey | KeyObject | Uint8Array> | undefined;
  return async (audience) => {
    key ??= 'kty' in privateKey && typeof privateKey.kty === 'string'
      ? importJWK(privateKey, alg).catch((cause: unknown) => {
        key = undefined;
        throw new ConfigurationError(`\`introspection.privateKey\` could not be imported for ${alg}: ${(cause as Error).message}`);
      })
      : Promise.resolve(privateKey as KeyObject | CryptoKey);
    const assertion = await new SignJWT({})
      .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(audience)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${ASSERTION_LIFETIME}s`)
      .sign(await key);
    return { headers: {}, params: { client_id: clientId, client_assertion_type: ASSERTION_TYPE, client_assertion: assertion } };
  };
}
