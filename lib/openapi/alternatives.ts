/**
 * Route requirements as OpenAPI can say them: a list of alternatives (any one suffices), each a set
 * of scopes (all needed). `[]` as an alternative means "any token".
 */
import { ConfigurationError } from '../errors.js';
import { impliersOf, type Requirement } from '../guards/requirement.js';

export type Alternatives = ReadonlyArray<readonly string[]>;

/** What the requirements say in OpenAPI terms, and whether some of them (claims, audience, …) it cannot say. */
export interface Expressed {
  readonly alternatives: Alternatives;
  readonly inexpressible: boolean;
}

// One alternative: its scopes, and whether it also needs something OpenAPI cannot say (a claim…).
interface Alternative {
  readonly scopes: readonly string[];
  readonly conditional: boolean;
}

/**
 * Expands the requirements (all must pass) into OR-of-AND form: `allOf` multiplies alternatives,
 * `anyOf` and `match: 'any'` add them, and a scope some declared scopes imply gets them as
 * alternatives. An alternative needing a superset of another's scopes is dropped, unless the smaller
 * one also needs a claim, an audience or an auth level (then it is not really weaker). Throws a
 * `ConfigurationError` naming `where` when more than `max` alternatives remain at any step.
 */
export function expressRequirements(requirements: readonly Requirement[], max: number, where: string): Expressed {
  let inexpressible = false;
  const bounded = (alternatives: readonly Alternative[]): Alternative[] => {
    const kept = absorb(alternatives);
    if (kept.length > max) {
      throw new ConfigurationError(`openApiSecurity(): the requirements of ${where} expand to more than ${max} alternatives of scopes (${kept.length} at least); simplify its anyOf/allOf/match: 'any' combinations, or raise maxAlternatives.`);
    }
    return kept;
  };
  const and = (parts: ReadonlyArray<readonly Alternative[]>): Alternative[] =>
    parts.reduce<Alternative[]>((left, right) => bounded(left.flatMap((l) => right.map((r) => ({
      scopes: [...new Set([...l.scopes, ...r.scopes])],
      conditional: l.conditional || r.conditional,
    })))), [{ scopes: [], conditional: false }]);
  const or = (parts: ReadonlyArray<readonly Alternative[]>): Alternative[] => bounded(parts.flat());
  const only = (scopes: readonly string[]): Alternative[] => [{ scopes, conditional: false }];
  const walk = (r: Requirement): Alternative[] => {
    switch (r.kind) {
      case 'token': return only([]);
      case 'scopes': {
        const each = r.scopes.map((s) => [s, ...impliersOf(r, s)].flatMap((one) => only([one])));
        return r.match === 'all' ? and(each) : or(each);
      }
      case 'allOf': return and(r.requirements.map(walk));
      case 'anyOf': return or(r.requirements.map(walk));
      default:
        // A claim, an audience, an auth level: needs a token, which OpenAPI shows; the rest goes to the extension.
        inexpressible = true;
        return [{ scopes: [], conditional: true }];
    }
  };
  // OpenAPI cannot tell two alternatives with the same scopes apart: list each scope set once.
  const seen = new Set<string>();
  const alternatives = and(requirements.map(walk)).map((a) => a.scopes).filter((scopes) => {
    const key = JSON.stringify([...scopes].sort());
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { alternatives, inexpressible };
}

// Drops every alternative for which another, needing nothing OpenAPI cannot say, suffices: one with a
// subset of its scopes (the first of equal ones is kept).
function absorb(alternatives: readonly Alternative[]): Alternative[] {
  const sets = alternatives.map((a) => new Set(a.scopes));
  const covers = (small: ReadonlySet<string>, big: ReadonlySet<string>): boolean => small.size <= big.size && [...small].every((s) => big.has(s));
  return alternatives.filter((alternative, i) => !alternatives.some((other, j) => j !== i && !other.conditional && covers(sets[j]!, sets[i]!)
    && (sets[j]!.size < sets[i]!.size || alternative.conditional || j < i)));
}
