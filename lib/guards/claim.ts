import type { ParameterizedContext } from 'koa';
import { ConfigurationError, InsufficientScopeError } from '../errors.js';
import type { AccessTokenClaims } from '../core/verify.js';
import { createGuard, type Guard, type GuardContext, type GuardResult } from './guard.js';
import type { ClaimRequirement } from './requirement.js';

/** A value a claim can be compared with. */
export type ClaimValue = string | number | boolean;

/**
 * The Koa context a claim predicate receives: on a @koa/router route (or `router.use(path, guard)`),
 * `params` holds the route's path parameters, e.g. `ctx.params.orgId`. `guard.check(ctx)` passes the
 * context it is given.
 */
export type ClaimContext = ParameterizedContext & { readonly params: Readonly<Record<string, string>> };

/**
 * Decides on a present claim; only `true` passes. Type-check `value` first: it comes from the token.
 * `ctx` ties the claim to the request, e.g. tenant isolation:
 * `(org, claims, ctx) => org === ctx.params.orgId`.
 */
export type ClaimPredicate<TValue = unknown, TClaims extends object = AccessTokenClaims> =
  (value: Exclude<TValue, undefined>, claims: TClaims, ctx: ClaimContext) => boolean | Promise<boolean>;

/** Options of `requireClaim()`. */
export interface RequireClaimOptions {
  /** How `describeRoutes()` shows the expectation, e.g. `'member of the tenant'`. Default: the values, or `'predicate'`. */
  description?: string | undefined;
}

const isClaimValue = (v: unknown): v is ClaimValue => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/**
 * Refuses with 403 `insufficient_scope` unless the claim `name` is present and meets `expected`:
 * equals the value, equals one of a list of values (an array claim passes when one of its elements
 * does), or makes the predicate `(value, claims, ctx)` return `true`; `ctx` lets it compare the claim
 * with the request, e.g. `requireClaim('org_id', (org, claims, ctx) => org === ctx.params.orgId)`
 * keeps a tenant's token out of other tenants' paths. The refusal names the claim, never its value. A
 * predicate that throws propagates its error (an application bug, answered 500).
 */
export function requireClaim<TClaims extends object = AccessTokenClaims, K extends keyof TClaims & string = keyof TClaims & string>(
  name: K,
  expected: ClaimValue | readonly ClaimValue[] | ClaimPredicate<TClaims[K], TClaims>,
  options: RequireClaimOptions = {},
): Guard {
  if (typeof name !== 'string' || name === '') throw new ConfigurationError("requireClaim() needs a claim name, e.g. requireClaim('role', 'owner').");
  const label = name.replace(/[^\x21\x23-\x5B\x5D-\x7E]/g, '');
  const fail = (): InsufficientScopeError => new InsufficientScopeError([], `${label} claim not accepted for this resource`, 'claim_requirement_failed');
  let evaluate: (value: unknown, claims: Record<string, unknown>, ctx: GuardContext) => GuardResult | Promise<GuardResult>;
  let described: string;
  if (typeof expected === 'function') {
    const predicate = expected as (value: unknown, claims: Record<string, unknown>, ctx: GuardContext) => unknown;
    described = 'predicate';
    evaluate = (value, claims, ctx) => {
      const answer = predicate(value, claims, ctx);
      if (answer instanceof Promise) return answer.then((ok) => (ok === true ? undefined : fail()));
      return answer === true ? undefined : fail();
    };
  } else {
    const values: unknown[] = Array.isArray(expected) ? [...expected as unknown[]] : [expected];
    if (values.length === 0 || !values.every(isClaimValue)) {
      throw new ConfigurationError(`requireClaim('${label}', …) expects a string, number or boolean, a non-empty list of them, or a predicate (value, claims) => boolean.`);
    }
    const accepted = new Set<unknown>(values);
    described = values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
    evaluate = (value) => (accepted.has(value) || (Array.isArray(value) && value.some((v) => accepted.has(v))) ? undefined : fail());
  }
  if (options.description !== undefined) described = options.description;
  const requirement: ClaimRequirement = { kind: 'claim', claim: name, expected: described };
  return createGuard('requireClaim', requirement, ({ claims }, ctx) => {
    const all = claims as Record<string, unknown>;
    const value = Object.hasOwn(all, name) ? all[name] : undefined;
    return value === undefined || value === null ? fail() : evaluate(value, all, ctx);
  });
}
