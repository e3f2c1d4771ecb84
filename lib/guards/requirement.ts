/**
 * What a guard requires, as plain data: `describeRoutes()` reads it to document routes, build an
 * OpenAPI `security` section or fail a spec on an unguarded route. Nothing here holds a secret: claim
 * expectations are described in words, and a predicate is shown only as `'predicate'`.
 */

/** `requireToken()`: any token `authenticate()` verified; no scope or claim needed. */
export interface TokenRequirement {
  readonly kind: 'token';
}

/** `requireScopes()`: the token must hold every scope (`all`) or at least one (`any`). */
export interface ScopesRequirement {
  readonly kind: 'scopes';
  readonly scopes: readonly string[];
  readonly match: 'all' | 'any';
  /**
   * Present only when a `defineScopes()` declaration makes other scopes imply some of these: per
   * required scope, the declared scopes that satisfy it too (transitively), e.g.
   * `{ 'messages:read': ['messages:admin'] }`.
   */
  readonly impliedBy?: Readonly<Record<string, readonly string[]>>;
}

/** `requireAudience()`: the token's `aud` must contain one of these. */
export interface AudienceRequirement {
  readonly kind: 'audience';
  readonly audiences: readonly string[];
}

/** `requireClaim()`: the named claim must meet an expectation. */
export interface ClaimRequirement {
  readonly kind: 'claim';
  readonly claim: string;
  /** The expectation in words: `"owner"`, `one of "owner", "admin"`, `predicate`, or your own `description`. */
  readonly expected: string;
}

/** `requireAuthLevel()` (RFC 9470): how the user authenticated (`acr`) and how recently (`auth_time`). */
export interface AuthLevelRequirement {
  readonly kind: 'authLevel';
  /** The accepted `acr` values; absent when any will do. */
  readonly acr?: readonly string[];
  /** The largest accepted age of the authentication, in seconds; absent when any age will do. */
  readonly maxAge?: number;
}

/** `anyOf()` / `allOf()`: a tree of requirements. */
export interface CompositeRequirement {
  readonly kind: 'anyOf' | 'allOf';
  readonly requirements: readonly Requirement[];
}

export type Requirement = TokenRequirement | ScopesRequirement | AudienceRequirement | ClaimRequirement | AuthLevelRequirement | CompositeRequirement;

/**
 * Every scope named anywhere in the requirements, in first-seen order: material for
 * `scopes_supported`. Scopes a declaration makes imply a required one follow it.
 */
export function scopesOf(requirements: Requirement | readonly Requirement[]): string[] {
  const seen = new Set<string>();
  const walk = (r: Requirement): void => {
    if (r.kind === 'scopes') {
      for (const s of r.scopes) {
        seen.add(s);
        for (const implying of impliersOf(r, s)) seen.add(implying);
      }
    } else if (r.kind === 'anyOf' || r.kind === 'allOf') r.requirements.forEach(walk);
  };
  for (const r of (Array.isArray(requirements) ? requirements : [requirements]) as readonly Requirement[]) walk(r);
  return [...seen];
}

/** The declared scopes that imply `scope` in a scope requirement (own keys only: a scope may be named `constructor`). */
export function impliersOf(requirement: ScopesRequirement, scope: string): readonly string[] {
  const impliedBy = requirement.impliedBy;
  return impliedBy !== undefined && Object.hasOwn(impliedBy, scope) ? impliedBy[scope]! : [];
}
