import { providerUrlAllowed } from '../url.js';
import { ConfigurationError } from '../errors.js';
import type { EventHook } from '../events.js';
import type { KeyStore } from '../keys/store.js';

/** Every asymmetric JWS algorithm jose verifies on Node 20 (RFC 7518, RFC 8037, RFC 9864). */
export const ASYMMETRIC_ALGORITHMS = Object.freeze([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const);

/** The HMAC algorithms, allowed only with `secret`. */
export const HMAC_ALGORITHMS = Object.freeze(['HS256', 'HS384', 'HS512'] as const);

/** Options of the verification core. Durations are in seconds. */
export interface VerifyOptions {
  /**
   * The expected `iss`, compared exactly (no trailing-slash normalisation: copy it from the provider's
   * discovery document). A list accepts tokens from any of them; each gets its own key set.
   * May be omitted when `resolveIssuer` decides instead.
   */
  issuer?: string | readonly string[] | undefined;
  /**
   * Multi-tenant: called with the unverified `iss` of a token that `issuer` does not list. Return that
   * issuer's settings to accept it, or undefined to refuse the token (401 `issuer_invalid`) before any
   * network call: this function is the allow-list, so never accept an `iss` you do not know. Called
   * once per accepted issuer while its key set is kept (see `keySets`); each accepted issuer gets its own key set, bound to it.
   * A refusal is remembered for `keySets.refusedTtl` seconds. A call that throws, or has not settled within
   * `fetchTimeout`, answers 503 `key_source_unavailable`; so do calls past `keySets.maxPending` or
   * `keySets.maxPendingPerClient`. Its decisions are shared by every verifier and introspector built with
   * this same function (and the same `keySets` and `allowInsecureHttp`).
   */
  resolveIssuer?: ((iss: string) => IssuerSettings | undefined | Promise<IssuerSettings | undefined>) | undefined;
  /** The token's `aud` (string or array) must contain at least one of these. */
  audience: string | readonly string[];
  /**
   * The claim `audience` is checked against. Default `'aud'`. `'client_id'` serves providers whose access
   * tokens carry no `aud`, such as AWS Cognito: `audience` then lists your app client ids. That claim becomes required.
   */
  audienceClaim?: string | undefined;
  /** The JWKS URL; skips discovery. With several issuers, one key set serves them all. */
  jwksUri?: string | undefined;
  /** HMAC secret for symmetric set-ups (at least 32 bytes); allows only HS256/HS384/HS512 and no key set. */
  secret?: string | Uint8Array | undefined;
  /** Allow-list of JWS algorithms. Default: every asymmetric one (or every HS* with `secret`). `none` is never allowed. */
  algorithms?: readonly string[] | undefined;
  /** Leeway for `exp`, `nbf` and `iat` checks. Default 5; more than 300 needs `allowLargeClockTolerance`. */
  clockTolerance?: number | undefined;
  /**
   * Accept a `clockTolerance` over 300 seconds. Every second of leeway is a second an expired or stolen
   * token keeps working: fix the clocks (NTP) instead where you can. Default false.
   */
  allowLargeClockTolerance?: boolean | undefined;
  /**
   * Accept `http:` issuers and JWKS URLs on hosts other than loopback (127.0.0.0/8, ::1, localhost).
   * Keys fetched over plain HTTP can be replaced by anyone on the path, who can then mint any token:
   * only for closed networks you trust. Default false.
   */
  allowInsecureHttp?: boolean | undefined;
  /** Refuse tokens whose `iat` is older than this; makes `iat` required. Default: no limit. */
  maxTokenAge?: number | undefined;
  /** Claims that must be present; `exp` always is. */
  requiredClaims?: readonly string[] | undefined;
  /**
   * `'lenient'` (default) accepts `typ` `JWT`, `at+jwt`, `application/at+jwt` or none; `'strict'` is RFC 9068:
   * `at+jwt` only, and the claims RFC 9068 section 2.2 requires (iss, exp, aud, sub, client_id, iat, jti).
   */
  typ?: 'lenient' | 'strict' | undefined;
  /** Extra claims holding granted scopes, besides `scope` and `scp` (e.g. `['permissions']` for Auth0 RBAC). */
  scopeClaims?: readonly string[] | undefined;
  /** Tokens longer than this many characters are refused before any parsing. Default 8192. */
  maxTokenLength?: number | undefined;
  /** The `fetch` used for every call to the identity provider (a proxy-aware one, say). Default: global `fetch`. */
  fetch?: typeof fetch | undefined;
  /** Timeout of one discovery or JWKS request, and of one `resolveIssuer` call. Default 5. */
  fetchTimeout?: number | undefined;
  /** Largest discovery or JWKS response accepted, in bytes. Default 524288 (512 KiB). */
  maxResponseBytes?: number | undefined;
  /** An unknown `kid` refetches the key set at most once per this many seconds. Default 30. */
  cooldown?: number | undefined;
  /** A key set older than this is refreshed (in the background while its keys still verify). Default 600. */
  maxAge?: number | undefined;
  /** When refreshing fails, the last good key set keeps serving for up to this long. Default 86400. */
  maxStale?: number | undefined;
  /**
   * Where key sets (JWKS and discovery metadata) and introspection answers (keyed by a SHA-256, never the
   * token) are shared between processes, e.g. `redisStore(client)` from `koa-token-guard/redis`.
   * Default: this process's memory.
   */
  store?: KeyStore | undefined;
  /** Observability: key set fetched / refreshed / refresh failed / served stale, store failures, and every refused token with its `code`. */
  onEvent?: EventHook | undefined;
  /**
   * The verified-token cache of this verifier: a token seen again is answered from memory, never past its
   * `exp` (with `clockTolerance`) nor after `maxTtl` seconds, and no longer once a key leaves its issuer's
   * key set. `max` bounds the entries (least recently used evicted first); once it is full, a new token
   * enters only at its second verification, so one-time tokens never evict those in use. `false` turns
   * it off. Default `{ max: 10000, maxTtl: 300 }`.
   */
  cache?: { max?: number | undefined; maxTtl?: number | undefined } | false | undefined;
  /**
   * The key sets of issuers `resolveIssuer` accepted, and the look-ups that decide them. Only an accepted
   * issuer takes a place: tokens naming issuers the resolver refuses, or is still deciding, never push
   * out a tenant's keys. Configured `issuer`s are always kept. Default
   * `{ max: 1000, maxPending: 100, maxPendingPerClient: 10, refusedTtl: 30 }`.
   */
  keySets?: KeySetsOptions | undefined;
}

/** The `keySets` group: how many resolved issuers' key sets are kept, and how issuer look-ups are bounded. */
export interface KeySetsOptions {
  /**
   * Key sets kept in memory: the least recently used (by a signature check) dropped first with its keys,
   * and fetched again only when a token of that issuer needs a key again. Set it above the number of
   * tenants active at once, and a key set in use is never dropped. Default 1000.
   */
  max?: number | undefined;
  /**
   * `resolveIssuer` calls under way at once, for all clients together. Past it, a token of an issuer not
   * decided yet gets 503 `key_source_unavailable` with `Retry-After` (its issuer may be real, so never a
   * 401) until one finishes. Default 100.
   */
  maxPending?: number | undefined;
  /**
   * `resolveIssuer` calls under way at once for one client (Koa's `ctx.request.ip`; behind a proxy set
   * `app.proxy` and `app.maxIpsCount` to the number of proxies, else a client picks its own address in
   * `X-Forwarded-For`), so one client naming made-up issuers cannot take every place from the others. Calls
   * without a client (the core used directly, issuers named by introspection answers) count only
   * towards `maxPending`. At most `maxPending`. Default 10.
   */
  maxPendingPerClient?: number | undefined;
  /**
   * Seconds a refused issuer is remembered (at most `max` of them, apart from the accepted ones), so
   * tokens repeating it do not call `resolveIssuer` each time. A tenant you add is refused this long at
   * most after a token of it was refused. 0 asks every time. Default 30.
   */
  refusedTtl?: number | undefined;
}

/** What `resolveIssuer` returns for an issuer it accepts. */
export interface IssuerSettings {
  /** The issuer's JWKS URL; skips discovery. Default: discovered from the issuer. */
  jwksUri?: string | undefined;
}

/** The defaults, in one place. */
export const DEFAULTS = Object.freeze({
  clockTolerance: 5,
  audienceClaim: 'aud',
  /** The largest `clockTolerance` accepted without `allowLargeClockTolerance`. */
  maxClockTolerance: 300,
  typ: 'lenient' as const,
  maxTokenLength: 8192,
  fetchTimeout: 5,
  maxResponseBytes: 512 * 1024,
  cooldown: 30,
  maxAge: 600,
  maxStale: 86_400,
  cache: Object.freeze({ max: 10_000, maxTtl: 300 }),
  keySets: Object.freeze({ max: 1000, maxPending: 100, maxPendingPerClient: 10, refusedTtl: 30 }),
});

export interface ResolvedVerifyOptions {
  readonly issuers: readonly string[];
  readonly audiences: readonly string[];
  readonly audienceClaim: string;
  readonly jwksUri: string | undefined;
  readonly secret: Uint8Array | undefined;
  readonly algorithms: readonly string[];
  readonly clockTolerance: number;
  readonly maxTokenAge: number | undefined;
  readonly requiredClaims: readonly string[];
  readonly typ: 'lenient' | 'strict';
  readonly scopeClaims: readonly string[];
  readonly maxTokenLength: number;
  readonly fetch: typeof fetch;
  readonly fetchTimeout: number;
  readonly maxResponseBytes: number;
  readonly cooldown: number;
  readonly maxAge: number;
  readonly maxStale: number;
  readonly resolveIssuer: VerifyOptions['resolveIssuer'];
  readonly allowInsecureHttp: boolean;
  readonly store: KeyStore | undefined;
  readonly onEvent: EventHook | undefined;
  readonly cache: { readonly max: number; readonly maxTtl: number } | false;
  readonly keySets: { readonly max: number; readonly maxPending: number; readonly maxPendingPerClient: number; readonly refusedTtl: number };
}

const RFC9068_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'];

function list(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value];
}

function nonNegative(name: string, value: number | undefined, fallback: number, positive = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    throw new ConfigurationError(`\`${name}\` must be a ${positive ? 'positive' : 'non-negative'} number of seconds (default ${fallback}); got ${String(value)}.`);
  }
  return value;
}

function checkUrl(name: string, value: string, allowInsecureHttp: boolean): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(`\`${name}\` must be an absolute URL, e.g. 'https://tenant.example.com/'; got ${JSON.stringify(value)}.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigurationError(`\`${name}\` must be an https URL; got ${JSON.stringify(value)}.`);
  }
  // Plain HTTP to the provider lets anyone on the path swap the keys; loopback stays easy for development.
  if (!providerUrlAllowed(value, allowInsecureHttp)) {
    throw new ConfigurationError(`\`${name}\` must be an https URL (http only on loopback, or with \`allowInsecureHttp: true\` on a network you trust); got ${JSON.stringify(value)}.`);
  }
}

function resolveCache(cache: VerifyOptions['cache']): ResolvedVerifyOptions['cache'] {
  if (cache === false) return false;
  if (cache !== undefined && (cache === null || typeof cache !== 'object')) {
    throw new ConfigurationError('`cache` must be `false` or an object like { max: 10000, maxTtl: 300 }.');
  }
  const max = cache?.max ?? DEFAULTS.cache.max;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new ConfigurationError(`\`cache.max\` must be a positive whole number of entries (default ${DEFAULTS.cache.max}); got ${String(max)}; use \`cache: false\` to turn the cache off.`);
  }
  return Object.freeze({ max, maxTtl: nonNegative('cache.maxTtl', cache?.maxTtl, DEFAULTS.cache.maxTtl, true) });
}

function positiveCount(name: string, value: number | undefined, fallback: number, what: string): number {
  const count = value ?? fallback;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new ConfigurationError(`\`${name}\` must be a positive whole number of ${what} (default ${fallback}); got ${String(count)}.`);
  }
  return count;
}

function resolveKeySets(keySets: VerifyOptions['keySets']): ResolvedVerifyOptions['keySets'] {
  if (keySets !== undefined && (keySets === null || typeof keySets !== 'object')) {
    throw new ConfigurationError('`keySets` must be an object like { max: 1000 }.');
  }
  const defaults = DEFAULTS.keySets;
  const max = positiveCount('keySets.max', keySets?.max, defaults.max, 'key sets');
  const maxPending = positiveCount('keySets.maxPending', keySets?.maxPending, defaults.maxPending, 'issuer look-ups');
  const maxPendingPerClient = positiveCount('keySets.maxPendingPerClient', keySets?.maxPendingPerClient, Math.min(defaults.maxPendingPerClient, maxPending), 'issuer look-ups');
  if (maxPendingPerClient > maxPending) {
    throw new ConfigurationError(`\`keySets.maxPendingPerClient\` (${maxPendingPerClient}) must not exceed \`keySets.maxPending\` (${maxPending}): one client's share is part of the whole.`);
  }
  const refusedTtl = nonNegative('keySets.refusedTtl', keySets?.refusedTtl, defaults.refusedTtl);
  return Object.freeze({ max, maxPending, maxPendingPerClient, refusedTtl });
}

/** Validates and freezes the options once, at startup. Throws a `ConfigurationError` saying how to fix them. */
export function resolveVerifyOptions(options: VerifyOptions): ResolvedVerifyOptions {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError("options are required, e.g. authenticate({ issuer: 'https://tenant.example.com/', audience: 'https://api.example.com' }).");
  }
  const issuers = list(options.issuer);
  if (options.resolveIssuer !== undefined && typeof options.resolveIssuer !== 'function') {
    throw new ConfigurationError('`resolveIssuer` must be a function (iss) => ({ jwksUri? }) | undefined.');
  }
  if ((issuers.length === 0 && options.resolveIssuer === undefined) || issuers.some((i) => typeof i !== 'string' || i === '')) {
    throw new ConfigurationError("`issuer` is required: the exact `iss` of your provider's tokens, e.g. 'https://tenant.example.com/' (or `resolveIssuer` for many tenants).");
  }
  const secret = options.secret === undefined ? undefined
    : typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
  const allowInsecureHttp = options.allowInsecureHttp === true;
  if (secret === undefined) for (const issuer of issuers) checkUrl('issuer', issuer, allowInsecureHttp);
  const audiences = list(options.audience);
  if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
    throw new ConfigurationError("`audience` is required and must not be empty: your API's identifier, e.g. 'https://api.example.com'.");
  }
  const audienceClaim = options.audienceClaim ?? DEFAULTS.audienceClaim;
  if (typeof audienceClaim !== 'string' || audienceClaim === '') {
    throw new ConfigurationError("`audienceClaim` must be a claim name, e.g. 'client_id' for AWS Cognito access tokens; omit it to check `aud`.");
  }
  if (options.jwksUri !== undefined) checkUrl('jwksUri', options.jwksUri, allowInsecureHttp);
  if (secret !== undefined && options.jwksUri !== undefined) {
    throw new ConfigurationError('`secret` and `jwksUri` are exclusive: use `secret` for HMAC (HS*) tokens, or a key set for asymmetric ones.');
  }
  if (options.resolveIssuer !== undefined && (secret !== undefined || options.jwksUri !== undefined)) {
    throw new ConfigurationError('`resolveIssuer` gives each issuer its own key set: drop `secret` and `jwksUri` (return `jwksUri` from the resolver instead).');
  }
  const store = options.store;
  if (store !== undefined && (store === null || typeof store.get !== 'function' || typeof store.set !== 'function')) {
    throw new ConfigurationError('`store` must have get(key) and set(key, value, ttl), e.g. redisStore(client) from koa-token-guard/redis.');
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
    throw new ConfigurationError('`onEvent` must be a function (event) => void.');
  }
  if (secret !== undefined && secret.byteLength < 32) {
    throw new ConfigurationError('`secret` must be at least 32 bytes (RFC 7518 3.2); generate one with `openssl rand -base64 48`.');
  }
  const allowed: readonly string[] = secret ? HMAC_ALGORITHMS : ASYMMETRIC_ALGORITHMS;
  const algorithms = options.algorithms === undefined ? [...allowed] : [...options.algorithms];
  if (algorithms.length === 0) throw new ConfigurationError('`algorithms` must not be empty; omit it to allow the defaults.');
  for (const alg of algorithms) {
    if (typeof alg === 'string' && alg.toLowerCase() === 'none') {
      throw new ConfigurationError('`algorithms` must not contain "none": unsigned tokens are never accepted.');
    }
    if (!allowed.includes(alg)) {
      throw new ConfigurationError(secret
        ? `\`algorithms\` contains ${JSON.stringify(alg)}, but with \`secret\` only ${HMAC_ALGORITHMS.join(', ')} are allowed.`
        : (HMAC_ALGORITHMS as readonly string[]).includes(alg)
          ? `\`algorithms\` contains ${alg}, which is never allowed with a key set (algorithm confusion, RFC 8725 3.1); use \`secret\` for HMAC tokens.`
          : `\`algorithms\` contains unsupported ${JSON.stringify(alg)}; choose from ${ASYMMETRIC_ALGORITHMS.join(', ')}.`);
    }
  }
  const typ = options.typ ?? DEFAULTS.typ;
  if (typ !== 'lenient' && typ !== 'strict') throw new ConfigurationError("`typ` must be 'lenient' or 'strict'.");
  const requiredClaims = new Set(['exp', ...(options.requiredClaims ?? [])]);
  if (audienceClaim !== 'aud') requiredClaims.add(audienceClaim);
  if (typ === 'strict') for (const c of RFC9068_CLAIMS) requiredClaims.add(c);
  const scopeClaims = [...(options.scopeClaims ?? [])];
  if (scopeClaims.some((c) => typeof c !== 'string' || c === '')) {
    throw new ConfigurationError("`scopeClaims` must list claim names, e.g. ['permissions'].");
  }
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== 'function') throw new ConfigurationError('`fetch` must be a function; Node >= 20.19 has a global fetch.');
  const maxTokenLength = nonNegative('maxTokenLength', options.maxTokenLength, DEFAULTS.maxTokenLength, true);
  const clockTolerance = nonNegative('clockTolerance', options.clockTolerance, DEFAULTS.clockTolerance);
  if (clockTolerance > DEFAULTS.maxClockTolerance && options.allowLargeClockTolerance !== true) {
    throw new ConfigurationError(`\`clockTolerance\` of ${clockTolerance} s exceeds ${DEFAULTS.maxClockTolerance} s: expired tokens would keep working that long. Synchronise clocks (NTP), or set \`allowLargeClockTolerance: true\` if you must.`);
  }
  const cache = resolveCache(options.cache);
  const keySets = resolveKeySets(options.keySets);

  return Object.freeze({
    issuers: Object.freeze(issuers),
    audiences: Object.freeze(audiences),
    audienceClaim,
    jwksUri: options.jwksUri,
    secret,
    algorithms: Object.freeze(algorithms),
    clockTolerance,
    maxTokenAge: options.maxTokenAge === undefined ? undefined : nonNegative('maxTokenAge', options.maxTokenAge, 0),
    requiredClaims: Object.freeze([...requiredClaims]),
    typ,
    scopeClaims: Object.freeze(scopeClaims),
    maxTokenLength,
    fetch: fetchFn,
    fetchTimeout: nonNegative('fetchTimeout', options.fetchTimeout, DEFAULTS.fetchTimeout, true),
    maxResponseBytes: nonNegative('maxResponseBytes', options.maxResponseBytes, DEFAULTS.maxResponseBytes, true),
    cooldown: nonNegative('cooldown', options.cooldown, DEFAULTS.cooldown),
    maxAge: nonNegative('maxAge', options.maxAge, DEFAULTS.maxAge),
    maxStale: nonNegative('maxStale', options.maxStale, DEFAULTS.maxStale),
    resolveIssuer: options.resolveIssuer,
    allowInsecureHttp,
    store,
    onEvent: options.onEvent,
    cache,
    keySets,
  });
}
