import { ConfigurationError } from '../errors.js';
import type { Guard } from './guard.js';
import { scopeList, scopesGuard, type RequireScopesOptions } from './scopes.js';

/** The scopes of an API, declared once; its `requireScopes` accepts only those names. */
export interface ScopeCatalog<S extends string> {
  /** Every declared scope, in declaration order: what to publish as `scopes_supported`. */
  readonly names: readonly S[];
  /**
   * `requireScopes()` limited to the declared names: a misspelt scope is a compile error (and a
   * startup error in JavaScript). With a declaration of implications, a required scope is also
   * satisfied by every scope that implies it.
   */
  requireScopes(scopes: S | readonly S[], options?: RequireScopesOptions): Guard;
  /** True when `scope` is declared (narrows a string to the declared names). */
  has(scope: string): scope is S;
}

/**
 * Each declared scope with the scopes it implies directly, e.g.
 * `{ 'messages:admin': ['messages:read', 'messages:write'], 'messages:read': [], 'messages:write': [] }`.
 * An implied scope must be declared too (a misspelt one is a compile error).
 */
export type ScopeDeclaration<S extends string> = { readonly [K in S]: readonly NoInfer<S>[] };

/**
 * Declares an API's scopes once, checked at startup against RFC 6749 3.3:
 * `const scopes = defineScopes(['read:messages', 'write:messages'] as const)`, then
 * `scopes.requireScopes('read:messages')`.
 *
 * Declared as an object, a scope implies the ones it lists, transitively: with
 * `{ 'messages:admin': ['messages:read'], 'messages:read': [] }` a token holding `messages:admin`
 * passes `scopes.requireScopes('messages:read')`. Implications come from this declaration only, never
 * from a token; they are resolved here, once. A cycle or an implied scope that is not declared
 * throws a `ConfigurationError`.
 */
export function defineScopes<const S extends string>(names: readonly S[]): ScopeCatalog<S>;
export function defineScopes<const S extends string>(declaration: ScopeDeclaration<S>): ScopeCatalog<S>;
export function defineScopes<const S extends string>(input: readonly S[] | ScopeDeclaration<S>): ScopeCatalog<S> {
  const implies = Array.isArray(input) ? undefined : declaredImplications(input);
  const declared = Object.freeze(scopeList('defineScopes', implies === undefined ? input : [...implies.keys()]) as S[]);
  const known = new Set<string>(declared);
  const impliedBy = implies === undefined ? new Map<string, string[]>() : implyingScopes(implies);
  const has = (scope: string): scope is S => known.has(scope);
  return Object.freeze({
    names: declared,
    has,
    requireScopes(scopes: S | readonly S[], options: RequireScopesOptions = {}): Guard {
      const list = typeof scopes === 'string' ? [scopes] : scopes;
      const unknown = Array.isArray(list) ? (list as unknown[]).filter((s) => typeof s !== 'string' || !known.has(s)) : [];
      if (unknown.length > 0) {
        throw new ConfigurationError(`requireScopes() got undeclared scope ${JSON.stringify(unknown[0])}; declared: ${declared.join(', ')}.`);
      }
      return scopesGuard(scopes, options, impliedBy);
    },
  });
}

// The declaration as a map, each implied scope checked to be declared.
function declaredImplications(declaration: object): Map<string, readonly string[]> {
  if (declaration === null || typeof declaration !== 'object') {
    throw new ConfigurationError("defineScopes() expects a list of scopes or an object { scope: [scopes it implies] }, e.g. defineScopes({ admin: ['read'], read: [] }).");
  }
  const implies = new Map<string, readonly string[]>(Object.entries(declaration));
  for (const [scope, implied] of implies) {
    if (!Array.isArray(implied)) {
      throw new ConfigurationError(`defineScopes(): ${JSON.stringify(scope)} must list the scopes it implies as an array ([] for none).`);
    }
    for (const name of implied as unknown[]) {
      if (typeof name !== 'string' || !implies.has(name)) {
        throw new ConfigurationError(`defineScopes(): ${JSON.stringify(scope)} implies ${JSON.stringify(name)}, which is not declared; declare it too, e.g. ${JSON.stringify(name)}: [].`);
      }
    }
  }
  return implies;
}

// For every scope, the scopes that imply it directly or transitively; throws on a cycle.
function implyingScopes(implies: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const impliedBy = new Map<string, string[]>();
  for (const scope of implies.keys()) {
    const seen = new Set<string>();
    const visit = (name: string, path: readonly string[]): void => {
      for (const implied of implies.get(name)!) {
        if (path.includes(implied)) {
          const cycle = [...path.slice(path.indexOf(implied)), implied];
          throw new ConfigurationError(`defineScopes(): the scopes ${cycle.join(' → ')} imply each other in a cycle; implications go one way, from a broader scope to narrower ones.`);
        }
        if (seen.has(implied)) continue;
        seen.add(implied);
        const list = impliedBy.get(implied);
        if (list === undefined) impliedBy.set(implied, [scope]);
        else list.push(scope);
        visit(implied, [...path, implied]);
      }
    };
    visit(scope, [scope]);
  }
  return impliedBy;
}
