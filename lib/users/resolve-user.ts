import { LRUCache } from 'lru-cache';
import type { AccessTokenClaims } from '../core/verify.js';
import { ConfigurationError, UnknownUserError } from '../errors.js';
import { resolveUnknownUserStatus, resolveUserCache, type ResolveUser, type UserOptions } from './options.js';

/** Resolves verified claims to the application's user, or throws `UnknownUserError` when there is none. */
export type UserResolver<TClaims extends object, TUser, TCtx> = (claims: TClaims & AccessTokenClaims, ctx: TCtx) => Promise<TUser>;

export interface UserResolverOptions<TClaims extends object, TUser, TCtx>
  extends Pick<UserOptions<TClaims, TUser, TCtx>, 'userCache' | 'unknownUserStatus'> {
  resolveUser: ResolveUser<TClaims, TUser, TCtx>;
  /** The realm of the refusal's challenge. */
  realm?: string | undefined;
  /** Clock in milliseconds; replaceable for specs. */
  now?: () => number;
}

// lru-cache refuses null and undefined values; boxing also keeps a falsy user (0, '') cacheable.
interface Box<TUser> { readonly user: TUser }

/**
 * Builds the resolver once, at startup. With `userCache`, results are kept by issuer + `sub` (a token
 * without `sub` is never cached), and concurrent calls for one user share a single `resolveUser` call,
 * which receives the first request's ctx. Misses and errors are never cached: a user created a moment
 * later is found on the next request, and a failing database is asked again.
 */
export function createUserResolver<TClaims extends object, TUser, TCtx>(
  options: UserResolverOptions<TClaims, TUser, TCtx>,
): UserResolver<TClaims, TUser, TCtx> {
  const { resolveUser, realm } = options;
  if (typeof resolveUser !== 'function') throw new ConfigurationError('`resolveUser` must be a function (claims, ctx) => user | null.');
  const status = resolveUnknownUserStatus(options.unknownUserStatus);
  const cacheOptions = resolveUserCache(options.userCache);
  const unknown = (): UnknownUserError => {
    const error = new UnknownUserError(status);
    error.realm = realm;
    return error;
  };

  if (cacheOptions === undefined) {
    return async (claims, ctx) => {
      const user = await resolveUser(claims, ctx);
      if (user === null || user === undefined) throw unknown();
      return user;
    };
  }

  const now = options.now ?? (() => Date.now());
  const cache = new LRUCache<string, Box<TUser>>({ max: cacheOptions.max, ttl: cacheOptions.ttl! * 1000, perf: { now }, ttlResolution: 0 });
  const inflight = new Map<string, Promise<Box<TUser> | undefined>>();

  const load = async (key: string, claims: TClaims & AccessTokenClaims, ctx: TCtx): Promise<Box<TUser> | undefined> => {
    const user = await resolveUser(claims, ctx);
    if (user === null || user === undefined) return undefined;
    const box = { user };
    cache.set(key, box);
    return box;
  };

  return async (claims, ctx) => {
    const { iss, sub } = claims;
    let box: Box<TUser> | undefined;
    if (typeof sub !== 'string') {
      const user = await resolveUser(claims, ctx);
      box = user === null || user === undefined ? undefined : { user };
    } else {
      // NUL cannot appear in a URL issuer, so no two (iss, sub) pairs share a key.
      const key = `${iss}\u0000${sub}`;
      box = cache.get(key);
      if (box === undefined) {
        let pending = inflight.get(key);
        if (pending === undefined) {
          pending = load(key, claims, ctx);
          inflight.set(key, pending);
          // Registered after set: a resolveUser that throws synchronously must not leave its promise behind.
          const forget = (): void => void inflight.delete(key);
          pending.then(forget, forget);
        }
        box = await pending;
      }
    }
    if (box === undefined) throw unknown();
    return box.user;
  };
}
