import { ConfigurationError, InsufficientScopeError, InsufficientUserAuthenticationError, type AuthError } from '../errors.js';
import { createGuard, isGuard, type Guard, type GuardContext, type GuardResult } from './guard.js';
import type { CompositeRequirement, Requirement } from './requirement.js';
import { insufficientScope } from './scopes.js';

function checkGuards(name: string, guards: readonly unknown[]): readonly Guard[] {
  if (guards.length === 0) throw new ConfigurationError(`${name}() needs at least one guard, e.g. ${name}(requireScopes('admin'), requireClaim('role', 'owner')).`);
  guards.forEach((g, i) => {
    if (!isGuard(g)) {
      throw new ConfigurationError(`${name}() argument ${i + 1} is not a guard: pass requireScopes(), requireAudience(), requireClaim(), anyOf() or allOf() results.`);
    }
  });
  return Object.freeze([...guards as Guard[]]);
}

// The scopes a client should ask for to satisfy a requirement, and whether all of them are needed.
interface ScopeHint { scopes: string[]; all: boolean }
function hintOf(r: Requirement): ScopeHint {
  switch (r.kind) {
    case 'scopes': return { scopes: [...r.scopes], all: r.match === 'all' || r.scopes.length === 1 };
    case 'anyOf': return r.requirements.map(hintOf).find((h) => h.scopes.length > 0) ?? { scopes: [], all: true };
    case 'allOf': {
      const hints = r.requirements.map(hintOf);
      return { scopes: [...new Set(hints.flatMap((h) => h.scopes))], all: hints.every((h) => h.all) };
    }
    default: return { scopes: [], all: true };
  }
}

const hasScopes = (e: AuthError): boolean => e instanceof InsufficientScopeError && e.scopes.length > 0;
// A client can act on these: ask for the named scopes, or step up its user's authentication (RFC 9470).
const actionable = (e: AuthError): boolean => hasScopes(e) || e instanceof InsufficientUserAuthenticationError;

/**
 * Of several refusals, the one a client can act on: the first (in guard order) that names scopes or asks
 * for a step-up, then any 403, then the first. The order of the guards states which remedy to offer first.
 */
function mostUseful(failures: readonly AuthError[]): AuthError {
  return failures.find(actionable) ?? failures.find((f) => f.status === 403) ?? failures[0]!;
}

function firstPass(guards: readonly Guard[], ctx: GuardContext, from: number, failures: AuthError[]): GuardResult | Promise<GuardResult> {
  for (let i = from; i < guards.length; i++) {
    const result = guards[i]!.check(ctx);
    if (result === undefined) return undefined;
    if (result instanceof Promise) {
      return result.then((failure) => {
        if (failure === undefined) return undefined;
        failures.push(failure);
        return firstPass(guards, ctx, i + 1, failures);
      });
    }
    failures.push(result);
  }
  return mostUseful(failures);
}

function firstFailure(guards: readonly Guard[], ctx: GuardContext, from: number): GuardResult | Promise<GuardResult> {
  for (let i = from; i < guards.length; i++) {
    const result = guards[i]!.check(ctx);
    if (result === undefined) continue;
    if (result instanceof Promise) return result.then((failure) => failure ?? firstFailure(guards, ctx, i + 1));
    return result;
  }
  return undefined;
}

/**
 * Passes when at least one guard passes (checked in order, stopping at the first pass); the
 * downstream handler runs once. When every guard refuses, answers with the most useful refusal: the
 * first that names scopes or asks for a step-up (`requireAuthLevel()`), else the first 403, else the first refusal.
 */
export function anyOf(...guards: Guard[]): Guard {
  const list = checkGuards('anyOf', guards);
  const requirement: CompositeRequirement = { kind: 'anyOf', requirements: Object.freeze(list.map((g) => g.requirement)) };
  return createGuard('anyOf', requirement, (_auth, ctx) => firstPass(list, ctx, 0, []));
}

/**
 * Passes when every guard passes (checked in order, stopping at the first refusal). A scope refusal
 * names every scope the whole `allOf` requires, so the client can ask for all of them at once.
 */
export function allOf(...guards: Guard[]): Guard {
  const list = checkGuards('allOf', guards);
  const requirement: CompositeRequirement = { kind: 'allOf', requirements: Object.freeze(list.map((g) => g.requirement)) };
  const hint = hintOf(requirement);
  const widen = (failure: GuardResult): GuardResult => {
    if (failure === undefined || !hint.all || !hasScopes(failure) || failure.code !== 'insufficient_scope') return failure;
    const widened = insufficientScope(hint.scopes, 'all');
    widened.realm = failure.realm;
    return widened;
  };
  return createGuard('allOf', requirement, (_auth, ctx) => {
    const result = firstFailure(list, ctx, 0);
    return result instanceof Promise ? result.then(widen) : widen(result);
  });
}
