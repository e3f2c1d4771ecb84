import type { JWK } from 'jose';
import type { TestOutage } from './endpoints.js';
import type { TestAlgorithm, TestKey } from './keys.js';
import type { TestOpaqueOptions } from './opaque.js';
import type { TestClaims, TestSignOptions } from './sign.js';
import type { TestClient } from './token-endpoint.js';

/** Options of `createTestIssuer()`. Every one is optional. */
export interface TestIssuerOptions {
  /**
   * How discovery and JWKS are served. `'loopback'` (default): a real HTTP server on 127.0.0.1, works in
   * any runner with nothing else installed. `'nock'`: intercepted by nock (an optional peer dependency),
   * for suites that already run nock with `disableNetConnect()`.
   */
  mode?: 'loopback' | 'nock' | undefined;
  /** Nock mode only: the issuer URL. Default: a new `https://issuer-<n>.koa-token-guard.test/` per issuer. */
  issuer?: string | undefined;
  /** Path of the issuer under its origin, e.g. `'/realms/main'` (Keycloak) or `'/tenant-id/v2.0'`. Default `'/'`. */
  path?: string | undefined;
  /** Loopback mode only: the port to listen on. Default 0 (any free port). */
  port?: number | undefined;
  /** The `aud` of every token. Default: none (give `aud` to `sign()`, or set this). */
  audience?: string | readonly string[] | undefined;
  /** Generate and publish one key per algorithm; the first signs by default. Default `['ES256']` (fast to generate). */
  algorithms?: readonly TestAlgorithm[] | undefined;
  /** Publish these keys instead of generating new ones (share slow RSA keys between issuers); the first signs by default. */
  keys?: readonly TestKey[] | undefined;
  /**
   * Claims every token carries, over the built-in defaults `sub: 'test-user'`, `client_id: 'test-client'`,
   * `scope: 'openid'` (plus `iss`, `aud`, `iat`, `exp`, `jti`). An `undefined` value removes a default.
   */
  claims?: TestClaims | undefined;
  /** The `typ` header of every token; `null` leaves it out. Default `'at+jwt'` (RFC 9068). */
  typ?: string | null | undefined;
  /** Token lifetime in seconds. Default 300. */
  expiresIn?: number | undefined;
  /** Serve the discovery document (OIDC and RFC 8414 placements). Default true; false forces `jwksUri` in your options. */
  discovery?: boolean | undefined;
  /** Extra discovery metadata fields, e.g. `{ userinfo_endpoint: '...' }`; they override the kit's own. */
  metadata?: Record<string, unknown> | undefined;
  /**
   * Serve an RFC 7662 introspection endpoint (`introspection_endpoint` in the metadata) for `issueOpaque()` tokens and
   * this issuer's JWTs, answering only this client (RFC 9701 signed answers on request). `true`: generated credentials,
   * read them from `issuer.introspection`. `{ clientId, clientSecret }` for `client_secret_basic` / `_post`;
   * `{ clientId, jwks }` (the client's public JWKs) for `private_key_jwt`. Default: no introspection endpoint.
   */
  introspection?: boolean | TestIntrospectionOptions | undefined;
  /**
   * Serve a token endpoint and an authorization endpoint for these clients (`token_endpoint`, `authorization_endpoint`
   * in the metadata): `grant_type=client_credentials` for confidential clients, and the authorization code grant with
   * PKCE S256 for clients with `redirectUris` (approved at once, no login page). A JWT or an opaque token per client,
   * `scope` and RFC 8707 `resource` honoured. Default: neither endpoint.
   */
  clients?: readonly TestClient[] | undefined;
}

/** The introspection client as `createTestIssuer({ introspection: { … } })` takes it. */
export interface TestIntrospectionOptions {
  /** The client id the resource server introspects with. */
  clientId: string;
  /** Its secret, for `client_secret_basic` and `client_secret_post`. */
  clientSecret?: string | undefined;
  /** Its public JWKs, for `private_key_jwt` (RFC 7523); give this and/or `clientSecret`. */
  jwks?: readonly JWK[] | undefined;
}

/** The introspection endpoint of a test issuer and the one client it answers. */
export interface TestIntrospection {
  /** The endpoint URL, also published as `introspection_endpoint`. */
  readonly endpoint: string;
  readonly clientId: string;
  /** The client secret (generated with `introspection: true`); undefined for a `private_key_jwt`-only client. */
  readonly clientSecret: string | undefined;
}

/** Options of `TestIssuer.addKey()`. */
export interface TestAddKeyOptions {
  /** The new key's `kid`. Default: the algorithm in lower case plus a random suffix. */
  kid?: string | undefined;
  /** Publish this existing key instead of generating one. */
  key?: TestKey | undefined;
  /** Make it the key `sign()` uses by default. Default false: published only (a key announced ahead of rotation). */
  current?: boolean | undefined;
}

/** Requests served so far, per endpoint (refused and failed ones too). */
export interface TestIssuerRequests {
  readonly discovery: number;
  readonly jwks: number;
  /** Present when the issuer serves introspection. */
  readonly introspection?: number;
  /** Present when the issuer serves the authorization endpoint (`clients`). */
  readonly authorization?: number;
  /** Present when the issuer serves a token endpoint (`clients`). */
  readonly token?: number;
}

/** A running test issuer. Hand `issuer` to `authenticate({ issuer, audience })`; call `close()` when done. */
export interface TestIssuer {
  /** The issuer URL: the `iss` of its tokens and what your app's `issuer` option must be. */
  readonly issuer: string;
  /** The JWKS URL (for apps configured with `jwksUri` instead of discovery). */
  readonly jwksUri: string;
  /** The audience tokens carry by default, as configured. */
  readonly audience: string | readonly string[] | undefined;
  /** `'loopback'` or `'nock'`. */
  readonly mode: 'loopback' | 'nock';
  /** The keys currently published, in order. */
  readonly keys: readonly TestKey[];
  /** The key `sign()` uses by default. */
  readonly signingKey: TestKey;
  /** Requests served so far per endpoint (assert your app's caching with these). */
  readonly requests: TestIssuerRequests;
  /** The introspection endpoint and its client, when `introspection` is set. */
  readonly introspection: TestIntrospection | undefined;
  /** The token endpoint URL, when `clients` is set. */
  readonly tokenEndpoint: string | undefined;
  /**
   * The authorization endpoint URL, when `clients` is set: the authorization code grant with PKCE S256 (RFC 7636) for
   * clients with `redirectUris`, approved at once for `login_hint` (else the default `sub`), redirecting with `code`,
   * `state` and `iss` (RFC 9207).
   */
  readonly authorizationEndpoint: string | undefined;
  /**
   * Mints a signed access token: defaults, overridden by `claims` (an `undefined` claim is removed), shaped by `options`.
   * `{ alg }` for an algorithm the issuer has no key for generates and publishes one first (not made current).
   */
  sign(claims?: TestClaims, options?: TestSignOptions): Promise<string>;
  /**
   * Hands out an opaque (reference) token: 43 random base64url characters, never JWT-shaped, that the introspection
   * endpoint answers with `{ active: true, …claims }`: the defaults (`iss`, `aud`, `sub`, `client_id`, `scope`, `jti`),
   * `token_type: 'Bearer'`, `iat`, `exp`, overridden by `claims` (an `undefined` claim is removed; `active` too can be
   * overridden, e.g. `'true'`, to play a sloppy server). Expired or not yet valid ones introspect as inactive.
   * `{ dpopKey }` and `{ certificate }` bind it as they bind `sign()`'s tokens: `cnf.jkt` (with `token_type: 'DPoP'`)
   * and `cnf["x5t#S256"]` in its introspection answer.
   */
  issueOpaque(claims?: TestClaims, options?: TestOpaqueOptions): string;
  /** Revokes an opaque token or a JWT of this issuer: introspection answers `{ active: false }` from now on. */
  revoke(token: string): void;
  /** Generates (or takes) a key and publishes it; `{ current: true }` makes it the default signing key. */
  addKey(alg?: TestAlgorithm, options?: TestAddKeyOptions): Promise<TestKey>;
  /** Key rotation: publishes a new key beside the old ones and signs with it from now on. */
  rotate(alg?: TestAlgorithm): Promise<TestKey>;
  /** Stops publishing a key (tokens it signed then fail with an unknown key). Removing the signing key does not change `signingKey`: rotate first. */
  removeKey(key: TestKey | string): void;
  /** Publishes exactly these JWKs (odd or broken key sets); `undefined` goes back to the issuer's keys. */
  setJwks(jwks: readonly JWK[] | undefined): void;
  /**
   * Makes endpoints fail or slow: `{ status: 500 }`, `{ status: 503, retryAfter: 30 }`, `{ hang: true }`,
   * `{ endpoint: 'introspection', delay: 2000 }` (slow but answering).
   */
  outage(outage?: TestOutage): void;
  /** Ends the outage; requests held by `{ hang: true }` are answered now. */
  recover(): void;
  /** Stops serving, ends held requests and forgets this issuer's process-wide key sets. Leaves no handle open. */
  close(): Promise<void>;
}
