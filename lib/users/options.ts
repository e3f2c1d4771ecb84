import type { AccessTokenClaims } from '../core/verify.js';
import { ConfigurationError } from '../errors.js';

/** A bounded cache: at most `max` entries, each kept at most `ttl` seconds. */
export interface CacheOptions {
  /** Most entries kept; the least recently used goes first. */
  max?: number | undefined;
  /** Seconds an entry is kept. */
  ttl?: number | undefined;
}

/** Finds the application's own user for verified claims; `null`/`undefined` means "no such user here". */
export type ResolveUser<TClaims extends object, TUser, TCtx> =
  (claims: TClaims & AccessTokenClaims, ctx: TCtx) => TUser | null | undefined | Promise<TUser | null | undefined>;

/** Options about the caller behind the token: the `resolveUser` hook and the userinfo lookup. */
export interface UserOptions<TClaims extends object, TUser, TCtx> {
  /**
   * Maps verified claims to your own user (a database row found or created from `sub`); `ctx.state.user`
   * is then what it returns. It runs after `ctx.state.auth` is set, so it may call `fetchUserInfo(ctx)`.
   * `null`/`undefined` refuses the request (`unknownUserStatus`); a thrown error propagates unchanged.
   */
  resolveUser?: ResolveUser<TClaims, TUser, TCtx> | undefined;
  /**
   * Cache `resolveUser` results by issuer + `sub` (never by token), concurrent calls for one user coalesced.
   * `true` uses the defaults (1000 users, 60 s). Default false: called on every request.
   */
  userCache?: boolean | CacheOptions | undefined;
  /** Status when `resolveUser` finds no user: 401 `invalid_token` (default) or 403. */
  unknownUserStatus?: 401 | 403 | undefined;
  /** The userinfo endpoint for `fetchUserInfo(ctx)`. Default: the issuer's discovery `userinfo_endpoint`; required with `jwksUri` or `secret`. */
  userinfoEndpoint?: string | undefined;
  /** Bounds of the per-token userinfo cache: `max` tokens (default 1000); `ttl` caps the default lifetime, the token's `exp`. */
  userinfoCache?: CacheOptions | undefined;
}

/** The defaults of the user options, in one place. Durations in seconds. */
export const USER_DEFAULTS = Object.freeze({
  userCacheMax: 1000,
  userCacheTtl: 60,
  unknownUserStatus: 401 as const,
  userinfoCacheMax: 1000,
});

export interface ResolvedCache {
  readonly max: number;
  /** Seconds; undefined for no limit beyond the entry's own. */
  readonly ttl: number | undefined;
}

function positive(name: string, value: unknown, integer: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new ConfigurationError(`\`${name}\` must be a positive ${integer ? 'integer' : 'number of seconds'}; got ${String(value)}.`);
  }
  return value;
}

function cacheOptions(name: string, value: CacheOptions, max: number, ttl: number | undefined): ResolvedCache {
  if (value === null || typeof value !== 'object') throw new ConfigurationError(`\`${name}\` must be an object { max, ttl }.`);
  return Object.freeze({
    max: value.max === undefined ? max : positive(`${name}.max`, value.max, true),
    ttl: value.ttl === undefined ? ttl : positive(`${name}.ttl`, value.ttl, false),
  });
}

/** `userCache` resolved: undefined when caching is off. */
export function resolveUserCache(value: UserOptions<object, unknown, unknown>['userCache']): ResolvedCache | undefined {
  if (value === undefined || value === false) return undefined;
  return cacheOptions('userCache', value === true ? {} : value, USER_DEFAULTS.userCacheMax, USER_DEFAULTS.userCacheTtl);
}

export function resolveUnknownUserStatus(value: unknown): 401 | 403 {
  if (value === undefined) return USER_DEFAULTS.unknownUserStatus;
  if (value !== 401 && value !== 403) throw new ConfigurationError(`\`unknownUserStatus\` must be 401 or 403; got ${JSON.stringify(value)}.`);
  return value;
}

export function resolveUserinfoCache(value: CacheOptions | undefined): ResolvedCache {
  return cacheOptions('userinfoCache', value ?? {}, USER_DEFAULTS.userinfoCacheMax, undefined);
}
