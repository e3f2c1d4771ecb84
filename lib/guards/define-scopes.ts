import { ConfigurationError } from '../errors.js';
import type { Guard } from './guard.js';
import { requireScopes, scopeList, type RequireScopesOptions } from './scopes.js';

/** The scopes of an API, declared once; its `requireScopes` accepts only those names. */
export interface ScopeCatalog<S extends string> {
  /** Every declared scope, in declaration order: what to publish as `scopes_supported`. */
  readonly names: readonly S[];
  /** `requireScopes()` limited to the declared names: a misspelt scope is a compile error (and a startup error in JavaScript). */
  requireScopes(scopes: S | readonly S[], options?: RequireScopesOptions): Guard;
  /** True when `scope` is declared (narrows a string to the declared names). */
  has(scope: string): scope is S;
}

/**
 * Declares an API's scopes once: `const scopes = defineScopes(['read:messages', 'write:messages'] as const)`,
 * then `scopes.requireScopes('read:messages')`. Checked at startup against RFC 6749 3.3.
 */
export function defineScopes<const S extends string>(names: readonly S[]): ScopeCatalog<S> {
  const declared = Object.freeze(scopeList('defineScopes', names) as S[]);
  const known = new Set<string>(declared);
  const has = (scope: string): scope is S => known.has(scope);
  return Object.freeze({
    names: declared,
    has,
    requireScopes(scopes: S | readonly S[], options?: RequireScopesOptions): Guard {
      const list = typeof scopes === 'string' ? [scopes] : scopes;
      const unknown = Array.isArray(list) ? (list as unknown[]).filter((s) => typeof s !== 'string' || !known.has(s)) : [];
      if (unknown.length > 0) {
        throw new ConfigurationError(`requireScopes() got undeclared scope ${JSON.stringify(unknown[0])}; declared: ${declared.join(', ')}.`);
      }
      return requireScopes(scopes, options);
    },
  });
}
