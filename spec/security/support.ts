// Helpers for the attack suite: an app guarded by authenticate(), exact refusals, and a watch on the network.
import { expect } from 'chai';
import Koa from 'koa';
import nock from 'nock';
import { base64url, exportJWK, importJWK, type JWK } from 'jose';
import { authenticate, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { bearer, request, type Reply } from '../support/http.js';
import type { FakeProvider, SigningKey } from '../support/provider.js';

/** An app whose only route answers 200 with the subject once authenticate() let the request through. */
export function guardedApp(options: AuthenticateOptions): Koa<AuthState> {
  const app = new Koa<AuthState>();
  app.silent = true;
  app.use(authenticate(options));
  app.use((ctx) => {
    ctx.body = { sub: ctx.state.user?.sub };
  });
  return app;
}

/** Sends a token in an `Authorization: Bearer` header. */
export function send(app: Koa<AuthState>, token: string, headers: Record<string, string | string[]> = {}): Promise<Reply> {
  return request(app, '/', { headers: { ...bearer(token), ...headers } });
}

/** The exact RFC 6750 refusal: status, challenge and body, and nothing of the token in the answer. */
export function expectRefusal(reply: Reply, status: 400 | 401, error: 'invalid_request' | 'invalid_token', description: string, token?: string): void {
  expect({ status: reply.status, challenge: reply.headers['www-authenticate'], body: reply.text }).to.deep.equal({
    status,
    challenge: `Bearer realm="api", error="${error}", error_description="${description}"`,
    body: description,
  });
  if (token !== undefined && token.length > 8) {
    for (const part of token.split('.')) if (part.length > 8) expect(JSON.stringify(reply.headers) + reply.text).not.to.include(part);
  }
}

/**
 * Records every request nock saw without a matching interceptor (with net connect disabled, any
 * request a token could trigger outside the fake provider lands here), from install to `stop()`.
 */
export function watchNetwork(): { unmatched: string[]; stop(): void } {
  const unmatched: string[] = [];
  type Seen = { method?: string; host?: string; hostname?: string; path?: string };
  const listener = (first: Seen, second?: Seen): void => {
    const seen = second ?? first;
    const host = seen.hostname ?? seen.host ?? '';
    if (/^(127\.0\.0\.1|localhost|\[?::1\]?)(:\d+)?$/.test(host)) return; // the spec's own requests to the app
    unmatched.push(`${seen.method ?? '?'} ${host}${seen.path ?? ''}`);
  };
  nock.emitter.on('no match', listener);
  return { unmatched, stop: () => nock.emitter.removeListener('no match', listener) };
}

/**
 * Registers hooks that fail each spec in which anything reached the network outside nock's
 * interceptors and loopback: a token must never make us call a URL it names.
 */
export function refuseStrayNetwork(): void {
  let network: ReturnType<typeof watchNetwork>;
  beforeEach(() => {
    network = watchNetwork();
  });
  afterEach(() => {
    network.stop();
    expect(network.unmatched).to.deep.equal([]);
  });
  after(() => nock.cleanAll());
}

/** Exactly these provider calls happened: the token caused no other. */
export function expectProviderCalls(provider: FakeProvider, discovery: number, jwks: number): void {
  expect({ discovery: provider.discoveryCount(), jwks: provider.jwksCount() }).to.deep.equal({ discovery, jwks });
}

/** The public key of a signing key as a CryptoKey (for PEM export). */
export async function publicCryptoKey(key: SigningKey): Promise<CryptoKey> {
  return (await importJWK(key.publicJwk, key.alg, { extractable: true })) as CryptoKey;
}

/** The private key re-imported for another algorithm: the same key material, signing with `alg`. */
export async function privateKeyAs(key: SigningKey, alg: string): Promise<CryptoKey> {
  const jwk: JWK = await exportJWK(key.privateKey);
  delete jwk.alg;
  return (await importJWK(jwk, alg)) as CryptoKey;
}

const ECDSA_HASH: Record<string, string> = { ES256: 'SHA-256', ES384: 'SHA-384', ES512: 'SHA-512' };

/**
 * Signs raw header and payload JSON text as written, duplicates and all, which jose's signers never
 * produce. WebCrypto's ECDSA output is already JWS's r||s form (RFC 7518 3.4).
 */
export async function signRaw(key: SigningKey, headerJson: string, payloadJson: string): Promise<string> {
  const hash = ECDSA_HASH[key.alg];
  if (hash === undefined) throw new Error(`signRaw supports ECDSA keys only, not ${key.alg}`);
  const input = `${base64url.encode(headerJson)}.${base64url.encode(payloadJson)}`;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash }, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${base64url.encode(new Uint8Array(signature))}`;
}

/** Standard claims for the provider, valid for five minutes. */
export function claimsFor(provider: FakeProvider, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: provider.issuer, aud: provider.audience, sub: 'user-1', iat: now, exp: now + 300, scope: 'read:messages', ...extra };
}

/**
 * Every `error_description` the library may send: fixed phrases, never built from what a client sent.
 * spec/security/descriptions.spec.ts keeps this list and lib/ in step.
 */
export const ERROR_DESCRIPTIONS: ReadonlySet<string> = new Set([
  // 400 invalid_request
  'more than one Authorization header',
  'bearer token missing',
  'more than one bearer token',
  'malformed Authorization header',
  'more than one access_token query parameter',
  'more than one access_token body parameter',
  'token sent by more than one method',
  // 401 without error / invalid_token
  'authentication required',
  'token too large',
  'malformed token',
  'token type not accepted',
  'signing algorithm not allowed',
  'signing key not found',
  'invalid signature',
  'token expired',
  'token too old',
  'token not yet valid',
  'token issued in the future',
  'token issuer not accepted',
  'token audience not accepted',
  'missing required claim',
  'invalid claim',
  'invalid scope claim',
  // introspection
  'token is not active',
  'token introspection is temporarily unavailable',
  // resolveUser and fetchUserInfo
  'unknown user',
  'user information does not match the token',
  'token not accepted by the identity provider',
  'insufficient scope for user information',
  'user information is temporarily unavailable',
  // guards: fixed ones (the configured ones are CONFIGURED_DESCRIPTIONS)
  'token audience not accepted for this resource',
  // 503
  'token verification is temporarily unavailable',
  // DPoP (RFC 9449): bindings, invalid_dpop_proof, use_dpop_nonce, replay store full
  'token bound to a DPoP key not accepted here',
  'token bound to a DPoP key needs a DPoP proof',
  'DPoP proof required',
  'token not bound to a DPoP key',
  'more than one DPoP proof',
  'DPoP proof missing',
  'DPoP proof too large',
  'malformed DPoP proof',
  'DPoP proof type not accepted',
  'DPoP proof algorithm not allowed',
  'invalid DPoP proof key',
  'invalid DPoP proof signature',
  'invalid DPoP proof jti',
  'DPoP proof htm mismatch',
  'DPoP proof htu mismatch',
  'DPoP proof iat outside the accepted window',
  'DPoP proof ath mismatch',
  'DPoP proof key does not match the token',
  'DPoP proof already used',
  'DPoP nonce required',
  'DPoP nonce expired or invalid',
  'DPoP proof checking is temporarily unavailable',
  'too many DPoP proofs for this key',
  // certificate-bound tokens (RFC 8705)
  'client certificate required',
  'client certificate does not match the token',
  'token not bound to a client certificate',
  'token bound to a client certificate not accepted here',
]);

/**
 * Descriptions built from the route's own configuration (the scopes and claim names a developer wrote),
 * never from anything the request carries.
 */
export const CONFIGURED_DESCRIPTIONS: readonly RegExp[] = [
  /^requires scope [\x21\x23-\x5B\x5D-\x7E]+$/,
  /^requires (all|one) of the scopes: [\x21\x23-\x5B\x5D-\x7E]+(, [\x21\x23-\x5B\x5D-\x7E]+)+$/,
  /^[\x21\x23-\x5B\x5D-\x7E]+ claim not accepted for this resource$/,
];

/**
 * Collects into `unexpected` every unhandled rejection and uncaught exception between `start()` and
 * `stop()`: a fuzz run must leave none, whatever the request.
 */
export function trapProcessErrors(unexpected: unknown[]): { start(): void; stop(): void } {
  const onUnhandled = (reason: unknown): void => {
    unexpected.push(reason);
  };
  return {
    start() {
      process.on('unhandledRejection', onUnhandled);
      process.on('uncaughtException', onUnhandled);
    },
    stop() {
      process.removeListener('unhandledRejection', onUnhandled);
      process.removeListener('uncaughtException', onUnhandled);
    },
  };
}
