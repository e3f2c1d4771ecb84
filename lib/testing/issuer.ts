import type { JWK } from 'jose';
import { clearKeySets } from '../keys/registry.js';
import { IssuerEndpoints, type TestOutage } from './endpoints.js';
import { checkAlgorithm, createTestKey, type TestAlgorithm, type TestKey } from './keys.js';
import { startLoopback } from './loopback.js';
import { interceptWithNock } from './nock.js';
import { signToken, type TestClaims, type TestSignOptions } from './sign.js';

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
  /** Extra discovery metadata fields, e.g. `{ userinfo_endpoint: '...' }`. */
  metadata?: Record<string, unknown> | undefined;
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

/** Discovery and JWKS requests served so far. */
export interface TestIssuerRequests {
  readonly discovery: number;
  readonly jwks: number;
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
  /** Discovery and JWKS requests served so far (assert your app's caching with these). */
  readonly requests: TestIssuerRequests;
  /** Mints a signed access token: defaults, overridden by `claims` (an `undefined` claim is removed), shaped by `options`. */
  sign(claims?: TestClaims, options?: TestSignOptions): Promise<string>;
  /** Generates (or takes) a key and publishes it; `{ current: true }` makes it the default signing key. */
  addKey(alg?: TestAlgorithm, options?: TestAddKeyOptions): Promise<TestKey>;
  /** Key rotation: publishes a new key beside the old ones and signs with it from now on. */
  rotate(alg?: TestAlgorithm): Promise<TestKey>;
  /** Stops publishing a key (tokens it signed then fail with an unknown key). Removing the signing key does not change `signingKey`: rotate first. */
  removeKey(key: TestKey | string): void;
  /** Publishes exactly these JWKs (odd or broken key sets); `undefined` goes back to the issuer's keys. */
  setJwks(jwks: readonly JWK[] | undefined): void;
  /** Makes discovery and/or JWKS fail: `{ status: 500 }`, `{ status: 503, retryAfter: 30 }`, `{ hang: true }`. */
  outage(outage?: TestOutage): void;
  /** Ends the outage; requests held by `{ hang: true }` are answered now. */
  recover(): void;
  /** Stops serving, ends held requests and forgets this issuer's process-wide key sets. Leaves no handle open. */
  close(): Promise<void>;
}

let counter = 0;

function normalisePath(path: string): string {
  if (path === '' || path === '/') return '/';
  return path.startsWith('/') ? path : `/${path}`;
}

/**
 * Starts an issuer for tests: real keys, discovery and JWKS served on loopback (default) or through nock,
 * and `sign()` for tokens. Every issuer gets its own URL, so process-wide key sets never mix between tests.
 */
export async function createTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const mode = options.mode ?? 'loopback';
  if (mode !== 'loopback' && mode !== 'nock') throw new TypeError("koa-token-guard/testing: `mode` must be 'loopback' or 'nock'.");
  if (mode === 'loopback' && options.issuer !== undefined) {
    throw new TypeError('koa-token-guard/testing: `issuer` is for nock mode; a loopback issuer is http://127.0.0.1:<port><path> (choose `port` and `path`).');
  }
  const algorithms = options.algorithms ?? ['ES256'];
  for (const alg of algorithms) checkAlgorithm(alg);
  const keys: TestKey[] = options.keys !== undefined ? [...options.keys] : await Promise.all(algorithms.map((alg) => createTestKey(alg)));
  if (keys.length === 0) throw new TypeError('koa-token-guard/testing: an issuer needs at least one key (`algorithms` or `keys`).');
  let current = keys[0]!;
  let jwksOverride: readonly JWK[] | undefined;

  const path = normalisePath(options.path ?? '/');
  const placeholder = mode === 'nock' ? (options.issuer ?? `https://issuer-${++counter}.koa-token-guard.test${path}`) : undefined;
  const endpointsFor = (issuer: string): IssuerEndpoints => new IssuerEndpoints(issuer, {
    discovery: options.discovery ?? true,
    metadata: { ...options.metadata },
    jwks: () => jwksOverride ?? keys.map((k) => k.publicJwk),
  });

  let endpoints: IssuerEndpoints;
  let transport: { release(): void; close(): void | Promise<void> };
  if (placeholder !== undefined) {
    endpoints = endpointsFor(placeholder);
    transport = await interceptWithNock(new URL(placeholder).origin, (p) => endpoints.serves(p), (p, retried) => endpoints.answer(p, retried));
  } else {
    const server = await startLoopback((p, retried) => endpoints.answer(p, retried), options.port ?? 0);
    endpoints = endpointsFor(`${server.origin}${path}`);
    transport = server;
  }
  const issuer = endpoints.issuer;
  const defaults = {
    claims: { iss: issuer, sub: 'test-user', client_id: 'test-client', scope: 'openid', ...(options.audience === undefined ? {} : { aud: options.audience }), ...options.claims },
    typ: options.typ === null ? undefined : options.typ ?? 'at+jwt',
    expiresIn: options.expiresIn ?? 300,
  };

  const keyFor = (alg: TestAlgorithm | undefined): TestKey => {
    if (alg === undefined || current.alg === alg) return current;
    const found = [...keys].reverse().find((k) => k.alg === alg);
    if (found === undefined) {
      throw new TypeError(`koa-token-guard/testing: this issuer has no ${alg} key; create it with createTestIssuer({ algorithms: [..., '${alg}'] }) or \`await issuer.addKey('${alg}')\`.`);
    }
    return found;
  };
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
      return { ...endpoints.counts };
    },
    sign(claims, signOptions = {}) {
      const key = signOptions.key ?? keyFor(signOptions.alg);
      return signToken(key, defaults, claims, signOptions);
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
      await transport.close();
      // A later loopback issuer may get the same port, hence the same URL: it must not inherit these keys.
      clearKeySets(issuer);
      clearKeySets(endpoints.jwksUri);
    },
  };
  return testIssuer;
}
