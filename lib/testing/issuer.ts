import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { clearKeySets, forgetSourceChanges, sourceChanged } from '../keys/registry.js';
import { AuthorizationCodes, authorizationEndpoint } from './authorization-endpoint.js';
import { introspectionClient, tokenClients } from './clients.js';
import { IssuerEndpoints } from './endpoints.js';
import { introspectionEndpoint } from './introspection.js';
import { checkAlgorithm, createTestKey, type TestAlgorithm, type TestKey } from './keys.js';
import { startLoopback } from './loopback.js';
import { interceptWithNock } from './nock.js';
import { OpaqueTokens, type TestOpaqueOptions } from './opaque.js';
import { signToken, type TestClaims } from './sign.js';
import { isPublic, tokenEndpoint } from './token-endpoint.js';
import type { TestIssuer, TestIssuerOptions } from './types.js';

export type { TestAddKeyOptions, TestIntrospection, TestIntrospectionOptions, TestIssuer, TestIssuerOptions, TestIssuerRequests } from './types.js';

let counter = 0;

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];

function normalisePath(path: string): string {
  if (path === '' || path === '/') return '/';
  return path.startsWith('/') ? path : `/${path}`;
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
  const clientScopes = [...new Set([...clients?.values() ?? []].flatMap((c) => c.scope?.split(' ').filter(Boolean) ?? []))];
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
      // RFC 8414 §2: response_types_supported is required, and grant_types_supported left out would claim the
      // authorization code and implicit grants; without clients the kit serves neither endpoint, and says so.
      ...(clients === undefined ? { response_types_supported: [], grant_types_supported: [] } : {
        authorization_endpoint: created.authorizationEndpoint,
        token_endpoint: created.tokenEndpoint,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'client_credentials'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: [...clients.values()].some(isPublic) ? [...CLIENT_AUTH_METHODS, 'none'] : CLIENT_AUTH_METHODS,
        // RFC 9207: the authorization response names its issuer.
        authorization_response_iss_parameter_supported: true,
        ...(clientScopes.length === 0 ? {} : { scopes_supported: clientScopes }),
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
  // The kit knows when what it publishes changes: the app's key sets of this issuer refetch at the next unknown kid,
  // whatever their cooldown, and never take a store's older copy (also one left by an earlier issuer at this URL).
  const announce = (): void => {
    sourceChanged(issuer);
    sourceChanged(endpoints.jwksUri);
  };
  announce();
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
        announce();
        return key;
      }).finally(() => generating.delete(alg));
      generating.set(alg, pending);
    }
    return pending;
  };

  const opaque = new OpaqueTokens();
  const issueOpaque = (claims: TestClaims = {}, opaqueOptions: TestOpaqueOptions = {}): string =>
    opaque.issue({
      jti: crypto.randomUUID(), ...defaults.claims, token_type: opaqueOptions.dpopKey === undefined ? 'Bearer' : 'DPoP', ...claims,
    }, defaults.expiresIn, opaqueOptions);

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
    endpoints.handlers.introspection = introspectionEndpoint({ issuer, endpoint: endpoints.introspectionEndpoint, client: introspector, lookup, signingKey: () => current });
  }
  if (clients !== undefined) {
    const codes = new AuthorizationCodes();
    endpoints.handlers.authorization = authorizationEndpoint({ issuer, clients, codes });
    endpoints.handlers.token = tokenEndpoint({
      codes,
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
      const { discovery, jwks, authorization, introspection, token } = endpoints.counts;
      return { discovery, jwks, ...(introspector === undefined ? {} : { introspection }), ...(clients === undefined ? {} : { authorization, token }) };
    },
    introspection: introspector === undefined
      ? undefined
      : Object.freeze({ endpoint: endpoints.introspectionEndpoint, clientId: introspector.clientId, clientSecret: introspector.clientSecret }),
    tokenEndpoint: clients === undefined ? undefined : endpoints.tokenEndpoint,
    authorizationEndpoint: clients === undefined ? undefined : endpoints.authorizationEndpoint,
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
      announce();
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
      announce();
    },
    setJwks(jwks) {
      jwksOverride = jwks === undefined ? undefined : [...jwks];
      announce();
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
      forgetSourceChanges(issuer);
      forgetSourceChanges(endpoints.jwksUri);
    },
  };
  return testIssuer;
}
