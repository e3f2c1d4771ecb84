import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { clearKeySets } from '../keys/registry.js';
import { IssuerEndpoints, type TestOutage } from './endpoints.js';
import { introspectionEndpoint } from './introspection.js';
import { checkAlgorithm, createTestKey, type TestAlgorithm, type TestKey } from './keys.js';
import { startLoopback } from './loopback.js';
import { interceptWithNock } from './nock.js';
import { OpaqueTokens, type TestOpaqueOptions } from './opaque.js';
import { signToken, type TestClaims, type TestSignOptions } from './sign.js';
import { tokenEndpoint, type TestClient } from './token-endpoint.js';

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
   * Serve a token endpoint (`token_endpoint` in the metadata) answering `grant_type=client_credentials` for these
   * clients: a JWT or an opaque token per client, `scope` and RFC 8707 `resource` honoured. Default: no token endpoint.
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
   * Mints a signed access token: defaults, overridden by `claims` (an `undefined` claim is removed), shaped by `options`.
   * `{ alg }` for an algorithm the issuer has no key for generates and publishes one first (not made current).
   */
  sign(claims?: TestClaims, options?: TestSignOptions): Promise<string>;
  /**
   * Hands out an opaque (reference) token: 43 random base64url characters, never JWT-shaped, that the introspection
   * endpoint answers with `{ active: true, …claims }`: the defaults (`iss`, `aud`, `sub`, `client_id`, `scope`, `jti`),
   * `token_type: 'Bearer'`, `iat`, `exp`, overridden by `claims` (an `undefined` claim is removed; `active` too can be
   * overridden, e.g. `'true'`, to play a sloppy server). Expired or not yet valid ones introspect as inactive.
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

let counter = 0;

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];

function normalisePath(path: string): string {
  if (path === '' || path === '/') return '/';
  return path.startsWith('/') ? path : `/${path}`;
}

function checkClient(client: { clientId?: unknown; clientSecret?: unknown; jwks?: unknown }, option: string): void {
  if (typeof client.clientId !== 'string' || client.clientId === '') throw new TypeError(`koa-token-guard/testing: \`${option}\` needs a clientId (a non-empty string).`);
  if (client.clientSecret === undefined && client.jwks === undefined) {
    throw new TypeError(`koa-token-guard/testing: client ${client.clientId} of \`${option}\` needs a clientSecret (client_secret_basic/_post) or jwks (private_key_jwt).`);
  }
}

function introspectionClient(option: TestIssuerOptions['introspection']): TestIntrospectionOptions | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { clientId: `resource-server-${randomBytes(3).toString('hex')}`, clientSecret: randomBytes(24).toString('base64url') };
  checkClient(option, 'introspection');
  return { clientId: option.clientId, clientSecret: option.clientSecret, jwks: option.jwks === undefined ? undefined : [...option.jwks] };
}

function tokenClients(clients: TestIssuerOptions['clients']): Map<string, TestClient> | undefined {
  if (clients === undefined) return undefined;
  const byId = new Map<string, TestClient>();
  for (const client of clients) {
    checkClient(client, 'clients');
    if (byId.has(client.clientId)) throw new TypeError(`koa-token-guard/testing: client ${client.clientId} is listed twice in \`clients\`.`);
    if (client.format !== undefined && client.format !== 'jwt' && client.format !== 'opaque') {
      throw new TypeError(`koa-token-guard/testing: client ${client.clientId}: \`format\` must be 'jwt' or 'opaque'.`);
    }
    byId.set(client.clientId, { ...client });
  }
  return byId;
}

/**
 * Starts an issuer for tests: real keys, discovery and JWKS served on loopback (default) or through nock,
 * and `sign()` for tokens; on request an introspection endpoint (`introspection`) and a token endpoint (`clients`).
 * Every issuer gets its own URL, so process-wide key sets never mix between tests.
 */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const mode = options.mode ?? 'loopback';
  if (mode !== 'loopback' && mode !== 'nock') throw new TypeError("koa-token-guard/testing: `mode` must be 'loopback' or 'nock'.");
  if (mode === 'loopback' && options.issuer !== undefined) {
    throw new TypeError('koa-token-guard/testing: `issuer` is for nock mode; a loopback issuer is http://127.0.0.1:<port><path> (choose `port` and `path`).');
  }
  const algorithms = options.algorithms ?? ['ES256'];
  for (const alg of algorithms) checkAlgorithm(alg);
  const introspector = introspectionClient(options.introspection);
  const clients = tokenClients(options.clients);
  const keys: TestKey[] = options.keys !== undefined ? [...options.keys] : await Promise.all(algorithms.map((alg) => createTestKey(alg)));
  if (keys.length === 0) throw new TypeError('koa-token-guard/testing: an issuer needs at least one key (`algorithms` or `keys`).');
  let current = keys[0]!;
  let jwksOverride: readonly JWK[] | undefined;
  const published = (): readonly JWK[] => jwksOverride ?? keys.map((k) => k.publicJwk);

  const path = normalisePath(options.path ?? '/');
  const placeholder = mode === 'nock' ? (options.issuer ?? `https://issuer-${++counter}.koa-token-guard.test${path}`) : undefined;
  const endpointsFor = (issuer: string): IssuerEndpoints => {
    const created = new IssuerEndpoints(issuer, { discovery: options.discovery ?? true, metadata: () => ({}), jwks: published });
    created.metadata = () => ({
      ...(introspector === undefined ? {} : {
        introspection_endpoint: created.introspectionEndpoint,
        introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
        // RFC 9701 §7.
        introspection_signing_alg_values_supported: [...new Set(keys.map((k) => k.alg))],
      }),
      ...(clients === undefined ? {} : {
        token_endpoint: created.tokenEndpoint,
        token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
        grant_types_supported: ['client_credentials'],
      }),
      ...options.metadata,
    });
    return created;
  };

  let endpoints: IssuerEndpoints;
  let transport: { release(): void; close(): void | Promise<void> };
  if (placeholder !== undefined) {
    endpoints = endpointsFor(placeholder);
    transport = await interceptWithNock(new URL(placeholder).origin, (p) => endpoints.serves(p), (r, retried) => endpoints.answer(r, retried), introspector !== undefined || clients !== undefined);
  } else {
    const server = await startLoopback((r, retried) => endpoints.answer(r, retried), options.port ?? 0);
    endpoints = endpointsFor(`${server.origin}${path}`);
    transport = server;
  }
  const issuer = endpoints.issuer;
  const defaults = {
    claims: { iss: issuer, sub: 'test-user', client_id: 'test-client', scope: 'openid', ...(options.audience === undefined ? {} : { aud: options.audience }), ...options.claims },
    typ: options.typ === null ? undefined : options.typ ?? 'at+jwt',
    expiresIn: options.expiresIn ?? 300,
  };

  // A key for an algorithm the issuer lacks is generated once, even when several sign() calls ask at the same time.
  const generating = new Map<TestAlgorithm, Promise<TestKey>>();
  const keyFor = async (alg: TestAlgorithm | undefined): Promise<TestKey> => {
    if (alg === undefined || current.alg === alg) return current;
    checkAlgorithm(alg);
    const found = [...keys].reverse().find((k) => k.alg === alg);
    if (found !== undefined) return found;
    let pending = generating.get(alg);
    if (pending === undefined) {
      pending = createTestKey(alg).then((key) => {
        keys.push(key);
        return key;
      }).finally(() => generating.delete(alg));
      generating.set(alg, pending);
    }
    return pending;
  };

  const opaque = new OpaqueTokens();
  const issueOpaque = (claims: TestClaims = {}, opaqueOptions: TestOpaqueOptions = {}): string =>
    opaque.issue({ jti: crypto.randomUUID(), ...defaults.claims, token_type: 'Bearer', ...claims }, defaults.expiresIn, opaqueOptions);

  // What introspection says about a token: an opaque one by its record, a JWT by its signature (this issuer's published keys) and times.
  const lookup = async (token: string): Promise<TestClaims | undefined> => {
    const claims = opaque.active(token);
    if (claims !== undefined || opaque.isRevoked(token)) return claims;
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [...published()] }), { issuer });
      return payload;
    } catch {
      return undefined;
    }
  };
  if (introspector !== undefined) {
    endpoints.post.introspection = introspectionEndpoint({ issuer, endpoint: endpoints.introspectionEndpoint, client: introspector, lookup, signingKey: () => current });
  }
  if (clients !== undefined) {
    endpoints.post.token = tokenEndpoint({
      issuer,
      endpoint: endpoints.tokenEndpoint,
      clients,
      expiresIn: defaults.expiresIn,
      mint: (client, claims) => client.format === 'opaque' ? Promise.resolve(issueOpaque(claims)) : signToken(current, defaults, claims),
    });
  }
  let closed = false;

  const testIssuer: TestIssuer = {
    issuer,
    jwksUri: endpoints.jwksUri,
    audience: options.audience,
    mode,
    get keys() {
      return [...keys];
    },
    get signingKey() {
      return current;
    },
    get requests() {
      const { discovery, jwks, introspection, token } = endpoints.counts;
      return { discovery, jwks, ...(introspector === undefined ? {} : { introspection }), ...(clients === undefined ? {} : { token }) };
    },
    introspection: introspector === undefined
      ? undefined
      : Object.freeze({ endpoint: endpoints.introspectionEndpoint, clientId: introspector.clientId, clientSecret: introspector.clientSecret }),
    tokenEndpoint: clients === undefined ? undefined : endpoints.tokenEndpoint,
    async sign(claims, signOptions = {}) {
      const key = signOptions.key ?? await keyFor(signOptions.alg);
      return signToken(key, defaults, claims, signOptions);
    },
    issueOpaque,
    revoke(token) {
      opaque.revoke(token);
    },
    async addKey(alg = 'ES256', keyOptions = {}) {
      const key = keyOptions.key ?? await createTestKey(alg, { kid: keyOptions.kid });
      keys.push(key);
      if (keyOptions.current) current = key;
      return key;
    },
    rotate(alg = current.alg) {
      return testIssuer.addKey(alg, { current: true });
    },
    removeKey(key) {
      const kid = typeof key === 'string' ? key : key.kid;
      const index = keys.findIndex((k) => k.kid === kid);
      if (index >= 0) keys.splice(index, 1);
    },
    setJwks(jwks) {
      jwksOverride = jwks === undefined ? undefined : [...jwks];
    },
    outage(outage = {}) {
      endpoints.outage = { ...outage };
    },
    recover() {
      endpoints.outage = undefined;
      transport.release();
    },
    async close() {
      if (closed) return;
      closed = true;
      endpoints.outage = undefined;
      endpoints.endDelays();
      await transport.close();
      // A later loopback issuer may get the same port, hence the same URL: it must not inherit these keys.
      clearKeySets(issuer);
      clearKeySets(endpoints.jwksUri);
    },
  };
  return testIssuer;
}
