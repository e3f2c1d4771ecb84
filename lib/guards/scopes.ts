import { ConfigurationError, InsufficientScopeError } from '../errors.js';
import { createGuard, type Guard } from './guard.js';
import type { ScopesRequirement } from './requirement.js';

/** Options of `requireScopes()`. */
export interface RequireScopesOptions {
  /** `'all'` (default): the token must hold every listed scope; `'any'`: at least one. */
  match?: 'all' | 'any' | undefined;
}

// RFC 6749 3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Checks scope names at startup; returns them deduplicated. */
export function scopeList(guard: string, scopes: unknown): string[] {
  const list: unknown[] = typeof scopes === 'string' ? [scopes] : Array.isArray(scopes) ? scopes : [];
  if (list.length === 0) {
    throw new ConfigurationError(`${guard}() needs at least one scope, e.g. ${guard}('read:messages') or ${guard}(['read:messages', 'write:messages']).`);
  }
  for (const scope of list) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      throw new ConfigurationError(`${guard}() got ${JSON.stringify(scope)}: a scope is one non-empty token without spaces, quotes or backslashes (RFC 6749 3.3); pass several scopes as an array.`);
    }
  }
  return [...new Set(list as string[])];
}

/** The 403 for a scope requirement: `scope` lists every required scope, the description says how many are needed. */
export function insufficientScope(scopes: readonly string[], match: 'all' | 'any'): InsufficientScopeError {
  const description = scopes.length === 1 ? `requires scope ${scopes[0]}`
    : match === 'all' ? `requires all of the scopes: ${scopes.join(', ')}` : `requires one of the scopes: ${scopes.join(', ')}`;
  return new InsufficientScopeError(scopes, description);
}

/**
 * Refuses with 403 `insufficient_scope` unless the token holds the scopes: all of them (default) or,
 * with `{ match: 'any' }`, at least one. Reads the scopes `authenticate()` parsed once from `scope`,
 * `scp` and its `scopeClaims`; matches whole scope tokens only (`read` never satisfies `read:messages`).
 */
export function requireScopes<S extends string = string>(scopes: S | readonly S[], options: RequireScopesOptions = {}): Guard {
  return scopesGuard(scopes, options, new Map());
}

/**
 * `requireScopes()` where a scope is also satisfied by the scopes `impliedBy` lists for it (a
 * `defineScopes()` declaration's closure, computed once at startup). The refusal still names the
 * required scopes, never the implying ones.
 */
export function scopesGuard(scopes: unknown, options: RequireScopesOptions, impliedBy: ReadonlyMap<string, readonly string[]>): Guard {
  const list = Object.freeze(scopeList('requireScopes', scopes));
  const match = options.match ?? 'all';
  if (match !== 'all' && match !== 'any') throw new ConfigurationError("requireScopes() `match` must be 'all' or 'any'.");
  const implying = list.map((s) => impliedBy.get(s) ?? []);
  const declared = list.flatMap((s, i) => (implying[i]!.length > 0 ? [[s, Object.freeze([...implying[i]!])] as const] : []));
  const requirement: ScopesRequirement = declared.length === 0 ? { kind: 'scopes', scopes: list, match }
    : { kind: 'scopes', scopes: list, match, impliedBy: Object.freeze(Object.fromEntries(declared)) };
  if (requirement.impliedBy === undefined) {
    return createGuard('requireScopes', requirement, match === 'all'
      ? ({ scopes: granted }) => (list.every((s) => granted.has(s)) ? undefined : insufficientScope(list, match))
      : ({ scopes: granted }) => (list.some((s) => granted.has(s)) ? undefined : insufficientScope(list, match)));
  }
  // The scope itself first: one Set lookup when the token holds exactly what the route names.
  const holds = (granted: ReadonlySet<string>, i: number): boolean => {
    if (granted.has(list[i]!)) return true;
    for (const scope of implying[i]!) if (granted.has(scope)) return true;
    return false;
  };
  return createGuard('requireScopes', requirement, match === 'all'
    ? ({ scopes: granted }) => {
      for (let i = 0; i < list.length; i++) if (!holds(granted, i)) return insufficientScope(list, match);
      return undefined;
    }
    : ({ scopes: granted }) => {
      for (let i = 0; i < list.length; i++) if (holds(granted, i)) return undefined;
      return insufficientScope(list, match);
    });
}
