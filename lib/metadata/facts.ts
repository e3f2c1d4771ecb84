// What an authenticate() enforces that RFC 9728 metadata publishes, registered at startup so the
// metadata is derived from the enforcing configuration instead of repeated by the user.
import { ASYMMETRIC_ALGORITHMS } from '../core/options.js';

/** An RFC 9728 `bearer_methods_supported` value: RFC 6750 2.1, 2.2, 2.3. */
export type BearerMethod = 'header' | 'body' | 'query';

/** The enforced facts of one `authenticate()` that the resource's metadata publishes. */
export interface ResourceServerFacts {
  /** How a token may be sent; empty when `getToken` replaces the RFC 6750 methods. */
  readonly bearerMethods: readonly BearerMethod[];
  /** RFC 9449 DPoP, when configured: the proof algorithms and whether bound tokens are required. */
  readonly dpop: { readonly algorithms: readonly string[]; readonly required: boolean } | undefined;
  /** RFC 8705 mutual-TLS certificate-bound tokens, when configured. */
  readonly mtls: boolean;
}

/**
 * The parts of `authenticate()`'s options the facts come from. DPoP and mTLS are read structurally:
 * any `dpop: {…}` / `mtls: {…}` group turns them on.
 */
export interface FactSource {
  allowQueryToken?: boolean | undefined;
  allowBodyToken?: boolean | undefined;
  getToken?: unknown;
  dpop?: { required?: boolean | undefined; algorithms?: readonly string[] | undefined } | false | undefined;
  mtls?: { required?: boolean | undefined } | false | undefined;
}

/** The facts of an `authenticate()` configured with `options` (already validated). */
export function factsOf(options: FactSource): ResourceServerFacts {
  const bearerMethods: BearerMethod[] = options.getToken !== undefined ? [] : ['header'];
  if (options.getToken === undefined && options.allowBodyToken === true) bearerMethods.push('body');
  if (options.getToken === undefined && options.allowQueryToken === true) bearerMethods.push('query');
  const dpop = options.dpop !== undefined && options.dpop !== false && options.dpop !== null
    // RFC 9449 allows only asymmetric proof algorithms; the default is every one jose verifies.
    ? Object.freeze({ algorithms: Object.freeze([...(options.dpop.algorithms ?? ASYMMETRIC_ALGORITHMS)]), required: options.dpop.required === true })
    : undefined;
  const mtls = options.mtls !== undefined && options.mtls !== false && options.mtls !== null;
  return Object.freeze({ bearerMethods: Object.freeze(bearerMethods), dpop, mtls });
}

/** Several `authenticate()`s protecting one resource: what any accepts is supported, what all require is required. */
export function mergeFacts(all: readonly ResourceServerFacts[]): ResourceServerFacts | undefined {
  if (all.length === 0) return undefined;
  if (all.length === 1) return all[0];
  const order: readonly BearerMethod[] = ['header', 'body', 'query'];
  const methods = new Set(all.flatMap((f) => f.bearerMethods));
  const withDpop = all.filter((f) => f.dpop !== undefined);
  return Object.freeze({
    bearerMethods: Object.freeze(order.filter((m) => methods.has(m))),
    dpop: withDpop.length === 0 ? undefined : Object.freeze({
      algorithms: Object.freeze([...new Set(withDpop.flatMap((f) => f.dpop!.algorithms))]),
      required: all.every((f) => f.dpop?.required === true),
    }),
    mtls: all.some((f) => f.mtls),
  });
}

const byMiddleware = new WeakMap<object, { audiences: readonly string[]; facts: ResourceServerFacts }>();
// audience → distinct facts (keyed by their JSON), so creating many alike authenticate()s stays bounded.
const byAudience = new Map<string, Map<string, ResourceServerFacts>>();
let version = 0;

/** Called by `authenticate()` at startup. */
export function registerResourceServer(middleware: object, audiences: readonly string[], facts: ResourceServerFacts): void {
  byMiddleware.set(middleware, { audiences, facts });
  const key = JSON.stringify(facts);
  for (const audience of audiences) {
    let known = byAudience.get(audience);
    if (known === undefined) byAudience.set(audience, known = new Map<string, ResourceServerFacts>());
    if (!known.has(key)) {
      known.set(key, facts);
      version++;
    }
  }
}

/** The facts and audiences of an `authenticate()` middleware, or undefined for anything else. */
export function resourceServerOf(middleware: unknown): { audiences: readonly string[]; facts: ResourceServerFacts } | undefined {
  return typeof middleware === 'function' ? byMiddleware.get(middleware) : undefined;
}

/** The merged facts of every `authenticate()` created so far whose audience is `resource`. */
export function factsForAudience(resource: string): ResourceServerFacts | undefined {
  return mergeFacts([...byAudience.get(resource)?.values() ?? []]);
}

/** Changes whenever new facts are registered: a cheap check for a document built earlier. */
export function factsVersion(): number {
  return version;
}
