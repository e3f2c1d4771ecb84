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

/**
 * Expands the requirements (all must pass) into OR-of-AND form: `allOf` multiplies alternatives,
 * `anyOf` and `match: 'any'` add them, and a scope some declared scopes imply gets them as
 * alternatives. Alternatives implied by others (a superset of another) are dropped. Throws a
 * `ConfigurationError` naming `where` when more than `max` alternatives remain at any step.
 */
export function expressRequirements(requirements: readonly Requirement[], max: number, where: string): Expressed {
  let inexpressible = false;
  const bounded = (alternatives: Alternatives): Alternatives => {
    const kept = absorb(alternatives);
    if (kept.length > max) {
      throw new ConfigurationError(`openApiSecurity(): the requirements of ${where} expand to more than ${max} alternatives of scopes (${kept.length} at least); simplify its anyOf/allOf/match: 'any' combinations, or raise maxAlternatives.`);
    }
    return kept;
  };
  const and = (parts: readonly Alternatives[]): Alternatives =>
    parts.reduce<Alternatives>((left, right) => bounded(left.flatMap((l) => right.map((r) => [...new Set([...l, ...r])]))), [[]]);
  const or = (parts: readonly Alternatives[]): Alternatives => bounded(parts.flat());
  const walk = (r: Requirement): Alternatives => {
    switch (r.kind) {
      case 'token': return [[]];
      case 'scopes': {
        const each = r.scopes.map((s) => [[s], ...impliersOf(r, s).map((i) => [i])]);
        return r.match === 'all' ? and(each) : or(each);
      }
      case 'allOf': return and(r.requirements.map(walk));
      case 'anyOf': return or(r.requirements.map(walk));
      default:
        // A claim, an audience, an auth level: needs a token, which OpenAPI shows; the rest goes to the extension.
        inexpressible = true;
        return [[]];
    }
  };
  const alternatives = and(requirements.map(walk));
  return { alternatives, inexpressible };
}

// Drops duplicates and every alternative that holds all the scopes of an earlier-kept or smaller one.
function absorb(alternatives: Alternatives): Alternatives {
  const sets = alternatives.map((a) => new Set(a));
  const covers = (small: ReadonlySet<string>, big: ReadonlySet<string>): boolean => small.size <= big.size && [...small].every((s) => big.has(s));
  return alternatives.filter((_, i) => !sets.some((other, j) => j !== i && covers(other, sets[i]!) && (other.size < sets[i]!.size || j < i)));
}
