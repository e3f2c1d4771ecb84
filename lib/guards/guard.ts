import type { Next, ParameterizedContext } from 'koa';
import { AuthError, GuardOrderError, MissingCredentialsError } from '../errors.js';
import { authContextOf, withChallenge, type AuthInfo, type AuthState } from '../koa/state.js';
import type { Requirement } from './requirement.js';

/** What a guard's check yields: nothing when the request passes, else the refusal it would throw. */
export type GuardResult = AuthError | undefined;

/** The part of a Koa context a guard reads. */
export type GuardContext = Pick<ParameterizedContext, 'state'>;

/**
 * Koa middleware that refuses a request unless its verified token meets `requirement`.
 * Usable on a route, a router (`router.use(guard)`) or a nested router.
 */
export interface Guard {
  (ctx: ParameterizedContext, next: Next): Promise<unknown>;
  /** What the guard requires, as data (read by `describeRoutes()`). */
  readonly requirement: Requirement;
  /**
   * Evaluates the guard without running anything downstream: undefined when the request passes, else
   * the `AuthError` the middleware would throw. Throws `GuardOrderError` when `authenticate()` did not run.
   */
  check(ctx: GuardContext): GuardResult | Promise<GuardResult>;
}

const GUARD: unique symbol = Symbol.for('koa-token-guard.guard');
const PUBLIC: unique symbol = Symbol.for('koa-token-guard.public');

/** True for the middleware of `requireScopes()`, `requireAudience()`, `requireClaim()`, `anyOf()`, `allOf()`. */
export function isGuard(value: unknown): value is Guard {
  return typeof value === 'function' && (value as { [GUARD]?: unknown })[GUARD] === true;
}

/** Middleware that marks a route as deliberately public for `describeRoutes()`; it lets every request through. */
export type PublicRoute = ((ctx: ParameterizedContext, next: Next) => Promise<unknown>) & { readonly [PUBLIC]: true };

/** Marks a route as deliberately public, so `describeRoutes()` reports it as `public`, not `unguarded`. */
export function publicRoute(): PublicRoute {
  const marker = (_ctx: ParameterizedContext, next: Next): Promise<unknown> => next();
  return Object.defineProperty(marker, PUBLIC, { value: true }) as PublicRoute;
}

export function isPublicRoute(value: unknown): value is PublicRoute {
  return typeof value === 'function' && (value as { [PUBLIC]?: unknown })[PUBLIC] === true;
}

type Evaluate = (auth: AuthInfo, ctx: GuardContext) => GuardResult | Promise<GuardResult>;

/**
 * Builds a guard from its requirement and an evaluation of a verified token. The shared part lives
 * here: refusing loudly when `authenticate()` did not run, answering 401 when `optional: true` let a
 * request without credentials through, and giving every refusal the realm (and `resource_metadata`) of `authenticate()`.
 */
export function createGuard(name: string, requirement: Requirement, evaluate: Evaluate): Guard {
  function check(ctx: GuardContext): GuardResult | Promise<GuardResult> {
    const context = authContextOf(ctx);
    if (context === undefined) throw new GuardOrderError(name);
    const auth = (ctx.state as unknown as AuthState).auth;
    const result = auth === undefined ? new MissingCredentialsError() : evaluate(auth, ctx);
    if (result === undefined) return undefined;
    if (result instanceof AuthError) return withChallenge(result, context);
    return result.then((failure) => (failure === undefined ? undefined : withChallenge(failure, context)));
  }

  // Not async: a passing synchronous check hands back next()'s own promise, with no frame or promise of its own (issue 23).
  function guard(ctx: ParameterizedContext, next: Next): Promise<unknown> {
    let result: GuardResult | Promise<GuardResult>;
    try {
      result = check(ctx);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what check() threw, passed on as it is
      return Promise.reject(error);
    }
    if (result === undefined) return next();
    if (result instanceof AuthError) return Promise.reject(result);
    return result.then((failure) => (failure === undefined ? next() : Promise.reject(failure)));
  }

  Object.defineProperty(guard, 'name', { value: name });
  Object.defineProperty(guard, GUARD, { value: true });
  return Object.assign(guard, { requirement: Object.freeze(requirement), check }) as Guard;
}
