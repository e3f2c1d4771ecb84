import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { ResolvedVerifyOptions } from '../core/options.js';
import { ConfigurationError } from '../errors.js';
import { providerUrlAllowed } from '../url.js';

/** How we authenticate to the introspection endpoint (RFC 7662 2.1 requires it; RFC 6749 2.3, RFC 7523). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

/** The `introspection: {…}` option group: opaque access tokens checked at their authorization server (RFC 7662). Durations in seconds. */
export interface IntrospectionOptions {
  /** This API's client id at the authorization server. */
  clientId: string;
  /** Its secret, for `client_secret_basic` and `client_secret_post`. */
  clientSecret?: string | undefined;
  /**
   * `'client_secret_basic'` (default: HTTP Basic with the form-encoded id and secret), `'client_secret_post'`
   * (both in the body), or `'private_key_jwt'` (an RFC 7523 assertion signed with `privateKey`).
   */
  clientAuth?: ClientAuthMethod | undefined;
  /**
   * With `private_key_jwt`: a private JWK (its `alg`, or one that fits the key, is used), a private
   * `KeyObject` or a private `CryptoKey`. Its public half must be registered for `clientId`.
   */
  privateKey?: JWK | KeyObject | CryptoKey | undefined;
  /**
   * With `private_key_jwt`: the `aud` of the client assertion. `'issuer'` (default): the authorization
   * server's issuer identifier, as RFC 7523bis prefers (with several issuers, `introspection.issuer`, or
   * the endpoint URL without it). `'endpoint'`: the URL of the introspection endpoint called, which Okta
   * requires.
   */
  assertionAudience?: 'issuer' | 'endpoint' | undefined;
  /**
   * The introspection endpoint. Default: the `introspection_endpoint` of the issuer's metadata, read from
   * the discovery the key set already does (no extra request). Required with several issuers,
   * `resolveIssuer`, `jwksUri` or `secret`: then we cannot tell which server to ask.
   */
  endpoint?: string | undefined;
  /**
   * The issuer identifier of the authorization server that owns `endpoint`. With one configured issuer it
   * is that issuer (leave this unset). With several issuers or `resolveIssuer` it is required for
   * `jwtResponse`: only this server's key may sign an answer (RFC 9701 5), so another accepted tenant
   * cannot vouch for a token. When set, an answer without `iss` is attributed to this server, and a
   * `private_key_jwt` assertion is addressed to it. It must be an issuer this API accepts.
   */
  issuer?: string | undefined;
  /**
   * `'opaque'` (default): JWT-shaped tokens (three dot-separated segments) are verified locally, every
   * other token is introspected. `'all'`: every token is introspected, so revoking a JWT takes effect too.
   */
  tokens?: 'opaque' | 'all' | undefined;
  /**
   * RFC 9701: ask for a signed answer (`application/token-introspection+jwt`) and verify it with the
   * issuer's key set. A plain JSON answer is then refused. Default false.
   */
  jwtResponse?: boolean | undefined;
  /**
   * Refuse an active answer without `aud` (default true). Some servers add `aud` only when the token was
   * requested with a `resource` (RFC 8707); `false` then accepts answers without one (a present `aud` is still checked).
   */
  requireAudience?: boolean | undefined;
  /**
   * Answers kept in memory (and in `store`, shared by processes, keyed by a SHA-256: never the token). An
   * active answer is kept until the sooner of its `exp` and `ttl`: **`ttl` is how long a revoked token
   * may still pass.** An inactive one is kept `inactiveTtl` seconds, so a replayed dead token cannot
   * hammer the server. `max` bounds each of the two (least recently used evicted first). `false`: every
   * request asks the server. Default `{ max: 10000, ttl: 60, inactiveTtl: 5 }`.
   */
  cache?: { max?: number | undefined; ttl?: number | undefined; inactiveTtl?: number | undefined } | false | undefined;
  /** Introspection calls in flight at once per endpoint in this process. Default 32. */
  maxConcurrent?: number | undefined;
  /** Calls waiting for a free slot, per endpoint; beyond it requests get 503 with `Retry-After`. Default 1000. */
  maxQueue?: number | undefined;
  /**
   * Calls one client may have waiting, per endpoint; beyond it that client's new tokens get 503 with
   * `Retry-After` while other clients' calls still queue, and waiting calls are served round robin by
   * client. A client is `ctx.request.ip`: behind a reverse proxy set `app.proxy` (so it is the
   * `X-Forwarded-For` client), or every request shares the proxy's one share. Default 100.
   */
  maxQueuePerClient?: number | undefined;
}

/** The introspection defaults, in one place. */
export const INTROSPECTION_DEFAULTS = Object.freeze({
  clientAuth: 'client_secret_basic' as const,
  assertionAudience: 'issuer' as const,
  tokens: 'opaque' as const,
  jwtResponse: false,
  requireAudience: true,
  cache: Object.freeze({ max: 10_000, ttl: 60, inactiveTtl: 5 }),
  maxConcurrent: 32,
  maxQueue: 1000,
  maxQueuePerClient: 100,
  /** `Retry-After` of a 503 when the server sent none. */
  retryAfter: 5,
});

export interface ResolvedIntrospectionOptions {
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly clientAuth: ClientAuthMethod;
  readonly privateKey: JWK | KeyObject | CryptoKey | undefined;
  readonly assertionAudience: 'issuer' | 'endpoint';
  readonly endpoint: string | undefined;
  /**
   * The issuer that owns the endpoint: the one configured issuer (whose metadata names the endpoint), or
   * `introspection.issuer`. Only its key set verifies RFC 9701 answers. Undefined with several issuers
   * and no `introspection.issuer`.
   */
  readonly issuer: string | undefined;
  readonly tokens: 'opaque' | 'all';
  readonly jwtResponse: boolean;
  readonly requireAudience: boolean;
  readonly cache: { readonly max: number; readonly ttl: number; readonly inactiveTtl: number } | false;
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly maxQueuePerClient: number;
  readonly retryAfter: number;
}

const METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];

function seconds(name: string, value: unknown, fallback: number, positive: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    throw new ConfigurationError(`\`introspection.${name}\` must be a ${positive ? 'positive' : 'non-negative'} number of seconds (default ${fallback}); got ${JSON.stringify(value)}.`);
  }
  return value;
}

function count(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new ConfigurationError(`\`introspection.${name}\` must be a whole number of at least ${min} (default ${fallback}); got ${JSON.stringify(value)}.`);
  }
  return value as number;
}

function isPrivateKey(key: unknown): boolean {
  if (key === null || typeof key !== 'object') return false;
  const k = key as { type?: unknown; d?: unknown; kty?: unknown };
  // KeyObject and CryptoKey say `type: 'private'`; a private JWK has `d` (RSA, EC, OKP).
  return k.type === 'private' || (typeof k.kty === 'string' && typeof k.d === 'string');
}

function resolveCache(cache: IntrospectionOptions['cache']): ResolvedIntrospectionOptions['cache'] {
  if (cache === false) return false;
  if (cache !== undefined && (cache === null || typeof cache !== 'object')) {
    throw new ConfigurationError('`introspection.cache` must be `false` or an object like { max: 10000, ttl: 60, inactiveTtl: 5 }.');
  }
  const defaults = INTROSPECTION_DEFAULTS.cache;
  return Object.freeze({
    max: count('cache.max', cache?.max, defaults.max, 1),
    ttl: seconds('cache.ttl', cache?.ttl, defaults.ttl, true),
    inactiveTtl: seconds('cache.inactiveTtl', cache?.inactiveTtl, defaults.inactiveTtl, false),
  });
}

/** The issuer that owns the endpoint: `introspection.issuer`, checked against the accepted issuers, or the one configured. */
function resolveOwner(owner: unknown, single: string | undefined, jwtResponse: boolean, verify: ResolvedVerifyOptions): string | undefined {
  if (owner === undefined) {
    if (jwtResponse && single === undefined) {
      throw new ConfigurationError('set `introspection.issuer` to the issuer identifier of the authorization server that owns `introspection.endpoint`: with several issuers or `resolveIssuer`, `jwtResponse` (RFC 9701) must know whose key may sign the answers, or any accepted issuer could vouch for another\'s tokens.');
    }
    return single;
  }
  if (typeof owner !== 'string' || !providerUrlAllowed(owner, verify.allowInsecureHttp)) {
    throw new ConfigurationError(`\`introspection.issuer\` must be the issuer identifier (an https URL) of the authorization server that owns \`introspection.endpoint\`; got ${JSON.stringify(owner)}.`);
  }
  if (single !== undefined && owner !== single) {
    throw new ConfigurationError('`introspection.issuer` differs from the one configured `issuer`, which owns the endpoint: drop `introspection.issuer`.');
  }
  if (verify.resolveIssuer === undefined && !verify.issuers.includes(owner)) {
    throw new ConfigurationError('`introspection.issuer` must be one of the issuers this API accepts (`issuer`), or one `resolveIssuer` accepts.');
  }
  return owner;
}

/** Validates and freezes the introspection group once, at startup, against the verification options. */
export function resolveIntrospectionOptions(input: IntrospectionOptions, verify: ResolvedVerifyOptions): ResolvedIntrospectionOptions {
  if (input === null || typeof input !== 'object') {
    throw new ConfigurationError("`introspection` must be an object, e.g. { clientId: 'my-api', clientSecret: process.env.API_CLIENT_SECRET }.");
  }
  if (typeof input.clientId !== 'string' || input.clientId === '') {
    throw new ConfigurationError('`introspection.clientId` is required: the client id this API was registered with at the authorization server.');
  }
  const clientAuth = input.clientAuth ?? INTROSPECTION_DEFAULTS.clientAuth;
  if (!METHODS.includes(clientAuth)) {
    throw new ConfigurationError(`\`introspection.clientAuth\` must be one of ${METHODS.join(', ')}; got ${JSON.stringify(clientAuth)}.`);
  }
  if (clientAuth === 'private_key_jwt') {
    if (!isPrivateKey(input.privateKey)) {
      throw new ConfigurationError("`introspection.clientAuth: 'private_key_jwt'` needs `introspection.privateKey`: a private JWK, KeyObject or CryptoKey whose public half is registered for the client.");
    }
    if (input.clientSecret !== undefined) {
      throw new ConfigurationError("`introspection.clientSecret` is not used with `clientAuth: 'private_key_jwt'`: drop it (or choose 'client_secret_basic').");
    }
  } else if (typeof input.clientSecret !== 'string' || input.clientSecret === '') {
    throw new ConfigurationError(`\`introspection.clientSecret\` is required with \`clientAuth: '${clientAuth}'\` (set it from your secret store), or use \`clientAuth: 'private_key_jwt'\` with \`privateKey\`.`);
  }
  const assertionAudience = input.assertionAudience ?? INTROSPECTION_DEFAULTS.assertionAudience;
  if (assertionAudience !== 'issuer' && assertionAudience !== 'endpoint') {
    throw new ConfigurationError(`\`introspection.assertionAudience\` must be 'issuer' (RFC 7523bis, the default) or 'endpoint' (the introspection URL, as Okta requires); got ${JSON.stringify(assertionAudience)}.`);
  }
  if (input.assertionAudience !== undefined && clientAuth !== 'private_key_jwt') {
    throw new ConfigurationError("`introspection.assertionAudience` is only used with `clientAuth: 'private_key_jwt'`: drop it, or choose that method.");
  }
  const single = verify.resolveIssuer === undefined && verify.issuers.length === 1 ? verify.issuers[0] : undefined;
  const endpoint = input.endpoint;
  if (endpoint !== undefined && !providerUrlAllowed(endpoint, verify.allowInsecureHttp)) {
    throw new ConfigurationError(`\`introspection.endpoint\` must be an absolute https URL (http only on loopback, or with \`allowInsecureHttp\`): tokens and client credentials are sent there; got ${JSON.stringify(endpoint)}.`);
  }
  if (endpoint === undefined && (single === undefined || verify.secret !== undefined || verify.jwksUri !== undefined)) {
    throw new ConfigurationError(single === undefined
      ? 'set `introspection.endpoint`: with several issuers or `resolveIssuer` it cannot be told which authorization server to ask about an opaque token.'
      : 'set `introspection.endpoint`: with `jwksUri` or `secret` there is no discovery document to read `introspection_endpoint` from.');
  }
  const jwtResponse = input.jwtResponse ?? INTROSPECTION_DEFAULTS.jwtResponse;
  if (typeof jwtResponse !== 'boolean') throw new ConfigurationError('`introspection.jwtResponse` must be true or false.');
  if (jwtResponse && verify.secret !== undefined) {
    throw new ConfigurationError('`introspection.jwtResponse` (RFC 9701) verifies answers with the issuer\'s key set: it cannot be combined with `secret`.');
  }
  const issuer = resolveOwner(input.issuer, single, jwtResponse, verify);
  const tokens = input.tokens ?? INTROSPECTION_DEFAULTS.tokens;
  if (tokens !== 'opaque' && tokens !== 'all') throw new ConfigurationError("`introspection.tokens` must be 'opaque' or 'all'.");
  const requireAudience = input.requireAudience ?? INTROSPECTION_DEFAULTS.requireAudience;
  if (typeof requireAudience !== 'boolean') throw new ConfigurationError('`introspection.requireAudience` must be true or false.');
  return Object.freeze({
    clientId: input.clientId,
    clientSecret: input.clientSecret,
    clientAuth,
    privateKey: input.privateKey,
    assertionAudience,
    endpoint,
    issuer,
    tokens,
    jwtResponse,
    requireAudience,
    cache: resolveCache(input.cache),
    maxConcurrent: count('maxConcurrent', input.maxConcurrent, INTROSPECTION_DEFAULTS.maxConcurrent, 1),
    maxQueue: count('maxQueue', input.maxQueue, INTROSPECTION_DEFAULTS.maxQueue, 0),
    maxQueuePerClient: count('maxQueuePerClient', input.maxQueuePerClient, INTROSPECTION_DEFAULTS.maxQueuePerClient, 0),
    retryAfter: INTROSPECTION_DEFAULTS.retryAfter,
  });
}
