import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { resolveVerifyOptions, type ResolvedVerifyOptions, type VerifyOptions } from '../core/options.js';
import {
  type AuthError,
  ConfigurationError,
  InsufficientScopeError,
  InvalidTokenError,
  KeySourceUnavailableError,
  UserInfoUnavailableError,
} from '../errors.js';
import { fetchJson, KeySourceError } from '../keys/fetch.js';
import { cacheChannel } from '../telemetry/channels.js';
import { keySetFor } from '../keys/registry.js';
import { providerUrlAllowed } from '../url.js';
import { resolveUserinfoCache, type ResolvedCache, type UserOptions } from './options.js';

/** An OpenID Connect userinfo response (Core 5.3.2): `sub` always equals the token's. Shared between requests: read-only. */
export interface UserInfo {
  readonly sub: string;
  readonly [claim: string]: unknown;
}

/** What the lookup needs from a verified token. */
export interface TokenForUserInfo {
  readonly token: string;
  readonly claims: { readonly iss: string; readonly exp: number; readonly sub?: string | undefined };
}

export interface UserInfoClientOptions {
  /** The userinfo endpoint for a (verified) issuer. */
  endpointFor: (issuer: string) => Promise<string>;
  fetch: typeof fetch;
  /** Seconds. */
  timeout: number;
  maxBytes: number;
  cache: ResolvedCache;
  /** `Retry-After` seconds of a 503 when the provider sent none. */
  retryAfter: number;
  realm?: string | undefined;
  /** Clock in milliseconds; replaceable for specs. */
  now?: () => number;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Tokens of one issuer and subject cached at once: a user's few devices, not a client minting tokens,
 * whose every new token would otherwise evict someone else's answer (one more userinfo call for them).
 */
const TOKENS_PER_SUBJECT = 4;

/** A cached answer and its issuer + subject's hash, which holds at most `TOKENS_PER_SUBJECT` entries. */
interface Cached {
  readonly info: UserInfo;
  readonly subject: string;
}

/**
 * Calls the provider's userinfo endpoint with the caller's access token. Answers are cached per token
 * (by its SHA-256, never shared between two tokens of one user: their scopes may differ) until the
 * token's `exp`, bounded in entries and to `TOKENS_PER_SUBJECT` per issuer and subject, so one client
 * cannot empty the cache for the others; concurrent lookups for one token share one request. Refusals
 * and failures are never cached.
 */
export class UserInfoClient {
  readonly #options: UserInfoClientOptions;
  readonly #now: () => number;
  #cache: LRUCache<string, Cached> | undefined;
  /** Cached token keys per subject, oldest first; a subject is forgotten with its last entry. */
  readonly #bySubject = new Map<string, Set<string>>();
  readonly #inflight = new Map<string, Promise<UserInfo>>();
  /** Userinfo requests made, for observability and specs. */
  fetchCount = 0;

  constructor(options: UserInfoClientOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
  }

  /** The userinfo of a verified token, or an `AuthError` (401, 403 or 503). */
  get(verified: TokenForUserInfo): Promise<UserInfo> {
    const { sub } = verified.claims;
    // Without `sub` the answer cannot be bound to the token (Core 5.3.2): do not even ask.
    if (typeof sub !== 'string') return Promise.reject(this.#realm(new InvalidTokenError('claim_missing', 'missing required claim')));
    const key = createHash('sha256').update(verified.token).digest('base64url');
    // Created on first use: most authenticate() instances never look userinfo up.
    this.#cache ??= new LRUCache<string, Cached>({
      max: this.#options.cache.max,
      perf: { now: this.#now },
      ttlResolution: 0,
      dispose: (cached, token) => this.#forget(cached.subject, token),
    });
    const hit = this.#cache.get(key);
    if (cacheChannel.hasSubscribers) cacheChannel.publish({ cache: 'userinfo', realm: this.#options.realm, hit: hit !== undefined });
    if (hit !== undefined) return Promise.resolve(hit.info);
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#load(key, verified, sub);
      this.#inflight.set(key, pending);
      const forget = (): void => void this.#inflight.delete(key);
      pending.then(forget, forget);
    }
    return pending;
  }

  async #load(key: string, { token, claims }: TokenForUserInfo, sub: string): Promise<UserInfo> {
    let endpoint: string;
    try {
      endpoint = await this.#options.endpointFor(claims.iss);
    } catch (error) {
      if (error instanceof KeySourceUnavailableError) throw this.#realm(new UserInfoUnavailableError(error.retryAfter, { cause: error }));
      throw error;
    }
    const { fetch: baseFetch, timeout, maxBytes } = this.#options;
    const withToken: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${token}`);
      return baseFetch(input, { ...init, headers });
    };
    this.fetchCount++;
    let body: Record<string, unknown>;
    try {
      // No redirect is followed: the caller's token would go with it to wherever it leads.
      ({ body } = await fetchJson(endpoint, { fetch: withToken, timeout, maxBytes, operation: 'userinfo' }, 0));
    } catch (error) {
      throw this.#realm(this.#refusal(error));
    }
    if (body.sub !== sub) throw this.#realm(new InvalidTokenError('userinfo_sub_mismatch', 'user information does not match the token'));
    const info = deepFreeze(body) as UserInfo;
    const untilExp = claims.exp * 1000 - this.#now();
    const ttl = Math.min(untilExp, (this.#options.cache.ttl ?? Infinity) * 1000);
    if (ttl >= 1) this.#remember(key, createHash('sha256').update(`${claims.iss}\u0000${sub}`).digest('base64url'), info, Math.floor(ttl));
    return info;
  }

  /** Caches an answer; a subject at its share makes room with its own oldest token, never another's. */
  #remember(key: string, subject: string, info: UserInfo, ttl: number): void {
    const cache = this.#cache!;
    const held = this.#bySubject.get(subject);
    if (held !== undefined && held.size >= TOKENS_PER_SUBJECT) cache.delete(held.values().next().value!);
    cache.set(key, { info, subject }, { ttl });
    // Looked up again: the set may have evicted this subject's last other entry, and its Set with it.
    let keys = this.#bySubject.get(subject);
    if (keys === undefined) this.#bySubject.set(subject, (keys = new Set()));
    keys.add(key);
  }

  #forget(subject: string, key: string): void {
    const keys = this.#bySubject.get(subject);
    if (keys === undefined) return;
    keys.delete(key);
    if (keys.size === 0) this.#bySubject.delete(subject);
  }

  #refusal(error: unknown): AuthError {
    if (error instanceof KeySourceError && error.reason === 'status') {
      // RFC 6750 3.1 at the provider: 401 the token is no longer accepted there, 403 it lacks a scope (openid).
      if (error.status === 401) return new InvalidTokenError('userinfo_rejected', 'token not accepted by the identity provider', { cause: error });
      if (error.status === 403) return new InsufficientScopeError(['openid'], 'insufficient scope for user information', 'userinfo_forbidden');
    }
    const retryAfter = error instanceof KeySourceError ? error.retryAfter : undefined;
    return new UserInfoUnavailableError(retryAfter ?? this.#options.retryAfter, { cause: error });
  }

  #realm<E extends AuthError>(error: E): E {
    error.realm = this.#options.realm;
    return error;
  }
}

function checkEndpoint(value: unknown, allowInsecureHttp: boolean): string {
  if (providerUrlAllowed(value, allowInsecureHttp)) return value;
  throw new ConfigurationError(`\`userinfoEndpoint\` must be an absolute https URL (http only on loopback, or with \`allowInsecureHttp\`), e.g. 'https://tenant.example.com/userinfo'; got ${JSON.stringify(value)}.`);
}

function endpointResolver(options: ResolvedVerifyOptions, configured: string | undefined): (issuer: string) => Promise<string> {
  if (configured !== undefined) {
    const endpoint = Promise.resolve(checkEndpoint(configured, options.allowInsecureHttp));
    return () => endpoint;
  }
  if (options.secret !== undefined || options.jwksUri !== undefined) {
    return () => Promise.reject(new ConfigurationError(
      'fetchUserInfo() needs `userinfoEndpoint` when keys come from `jwksUri` or `secret` (no discovery): set it to the provider\'s userinfo URL.'));
  }
  // The issuer's key set already holds its discovery metadata: no extra request. An issuer accepted
  // by `resolveIssuer` is not listed up front; its key set comes from the same process-wide registry.
  return async (issuer) => {
    const metadata = await keySetFor({ issuer }, options, false).metadata();
    const endpoint = metadata?.userinfo_endpoint;
    // The caller's bearer token goes to this URL: the same https rule as for keys.
    if (!providerUrlAllowed(endpoint, options.allowInsecureHttp)) {
      throw new ConfigurationError(`the discovery metadata of ${issuer} names no usable \`userinfo_endpoint\`: set \`userinfoEndpoint\`.`);
    }
    return endpoint;
  };
}

/** Builds the userinfo lookup of one `authenticate()` at startup: options checked, endpoint source bound. */
export function createUserInfoClient(
  options: VerifyOptions & Pick<UserOptions<object, unknown, unknown>, 'userinfoEndpoint' | 'userinfoCache'>,
  realm?: string,
): UserInfoClient {
  const resolved = resolveVerifyOptions(options);
  return new UserInfoClient({
    endpointFor: endpointResolver(resolved, options.userinfoEndpoint),
    fetch: resolved.fetch,
    timeout: resolved.fetchTimeout,
    maxBytes: resolved.maxResponseBytes,
    cache: resolveUserinfoCache(options.userinfoCache),
    retryAfter: resolved.cooldown,
    realm,
  });
}
