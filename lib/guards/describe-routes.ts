import { ConfigurationError } from '../errors.js';
import { isGuard, isPublicRoute } from './guard.js';
import type { Requirement } from './requirement.js';

/** The parts of a @koa/router layer `describeRoutes()` reads (duck-typed: @koa/router stays optional). */
export interface RouteLayerLike {
  readonly methods: readonly string[];
  readonly path: string | RegExp;
  readonly regexp?: RegExp | undefined;
  readonly stack: readonly unknown[];
  readonly name?: string | null | undefined;
}

/** A @koa/router `Router`, or the middleware its `routes()` returns. */
export type RouterLike = RouterStack | { readonly router?: RouterStack | undefined };

interface RouterStack {
  readonly stack: readonly RouteLayerLike[];
  /** `new Router({ exclusive: true })` runs only the matched route's layer: no router-level middleware. */
  readonly exclusive?: boolean | undefined;
}

/** One tool, resource, resource template or prompt an MCP route (`serveMcp()`) serves, with what guards it. */
export interface McpPrimitiveDescription {
  readonly kind: 'tool' | 'resource' | 'resourceTemplate' | 'prompt';
  /** The name it was registered with. */
  readonly name: string;
  /** A resource's URI, a resource template's URI template. */
  readonly uri?: string;
  /**
   * `guarded` with a `toolGuard()` as its `scopeChallenge`, `unguarded` with none (any token the route
   * accepts may use it), `unknown` with another `scopeChallenge` (the SDK's `requireScopes`, your own),
   * which may refuse but whose requirement cannot be read.
   */
  readonly access: 'guarded' | 'unguarded' | 'unknown';
  /** Every guard of its `toolGuard()`, in order; all must pass. Empty unless `guarded`. */
  readonly requirements: readonly Requirement[];
}

// serveMcp()'s middleware carries its description under this key, so this module never loads the MCP SDK.
const MCP_PRIMITIVES: unique symbol = Symbol.for('koa-token-guard.mcp.describe');

/** Marks `middleware` as an MCP route whose primitives `describe()` lists (called by `serveMcp()`). */
export function describesMcp<T extends object>(middleware: T, describe: () => readonly McpPrimitiveDescription[]): T {
  return Object.defineProperty(middleware, MCP_PRIMITIVES, { value: describe });
}

/** The middleware `serveMcp()` returns, as `protectedResourceMetadata({ scopesSupported })` takes it. */
export interface McpRouteLike {
  describe(): readonly McpPrimitiveDescription[];
}

/** True for the middleware `serveMcp()` returns. */
export function isMcpRoute(value: unknown): value is McpRouteLike {
  return typeof value === 'function' && typeof (value as { [MCP_PRIMITIVES]?: unknown })[MCP_PRIMITIVES] === 'function';
}

/** The primitives of `serveMcp()`'s middleware (its factory runs on the first call), or undefined for anything else. */
export function mcpPrimitivesOf(value: unknown): readonly McpPrimitiveDescription[] | undefined {
  return isMcpRoute(value) ? (value as unknown as { [MCP_PRIMITIVES]: () => readonly McpPrimitiveDescription[] })[MCP_PRIMITIVES]() : undefined;
}

/** One method of one route, with what guards it. */
export interface RouteDescription {
  readonly method: string;
  /** The full path, prefixes of nested routers included; a RegExp route is shown as its source. */
  readonly path: string;
  /** The route's name, when it was registered with one. */
  readonly name?: string | undefined;
  /** `guarded` when at least one guard applies, `public` when only `publicRoute()` marks it, else `unguarded`. */
  readonly access: 'guarded' | 'public' | 'unguarded';
  /** Every guard's requirement that applies, in the order they run: router-level ones first; all must pass. */
  readonly requirements: readonly Requirement[];
  /**
   * Present on an MCP route (`serveMcp()`): every tool, resource and prompt its factory registers, with
   * the guards of each, read by running the factory once, without `authInfo`, on the first description.
   */
  readonly mcp?: readonly McpPrimitiveDescription[];
}

/**
 * Lists every route of a @koa/router router, nested routers included, with the requirements of the
 * guards that protect it: those mounted with `router.use()` (on this router or a nested one, on a path
 * the route is under) before the route, and those on the route itself. Guards mounted with `app.use()`
 * or hidden inside a `compose()` are not visible here; mount them on a router.
 *
 * For docs, an OpenAPI `security` section or `scopes_supported`, and for a spec that fails on a route
 * nobody guarded: `expect(describeRoutes(router).filter((r) => r.access === 'unguarded')).to.be.empty`.
 * An MCP route (`serveMcp()`) also lists its tools, resources and prompts with their `toolGuard()`s (`mcp`).
 */
export function describeRoutes(router: RouterLike): RouteDescription[] {
  const source: RouterStack | undefined = 'stack' in router ? router : router.router;
  const stack = source?.stack;
  if (stack === undefined || typeof stack.forEach !== 'function') throw new ConfigurationError('describeRoutes() expects a @koa/router Router, or the middleware its routes() returns.');
  const exclusive = source?.exclusive === true;
  const routes: RouteDescription[] = [];
  stack.forEach((layer, index) => {
    if (layer.methods.length === 0) return;
    const requirements: Requirement[] = [];
    let isPublic = false;
    const collect = (fns: readonly unknown[]): void => {
      for (const fn of fns) {
        if (isGuard(fn)) requirements.push(fn.requirement);
        else if (isPublicRoute(fn)) isPublic = true;
      }
    };
    if (!exclusive) for (const middleware of stack.slice(0, index)) {
      if (middleware.methods.length === 0 && appliesTo(middleware, layer.path)) collect(middleware.stack);
    }
    collect(layer.stack);
    let mcp: readonly McpPrimitiveDescription[] | undefined;
    for (const fn of layer.stack) mcp ??= mcpPrimitivesOf(fn);
    const access = requirements.length > 0 ? 'guarded' : isPublic ? 'public' : 'unguarded';
    const path = typeof layer.path === 'string' ? layer.path : String(layer.path);
    // @koa/router adds HEAD to every GET route; list it only when registered on its own.
    const methods = layer.methods.includes('GET') ? layer.methods.filter((m) => m !== 'HEAD') : layer.methods;
    for (const method of methods) {
      routes.push({ method, path, ...(layer.name ? { name: layer.name } : {}), access, requirements: [...requirements], ...(mcp === undefined ? {} : { mcp }) });
    }
  });
  return routes;
}

// Whether router-level middleware runs for every request of a route. When unsure, say no: a guard
// reported where it does not apply would hide an unguarded route, the reverse only fails a spec.
function appliesTo(middleware: RouteLayerLike, path: string | RegExp): boolean {
  const regexp = middleware.regexp;
  if (regexp === undefined) return false;
  regexp.lastIndex = 0;
  // A RegExp route can match any path: only middleware that matches every path surely runs for it.
  // A path pattern is tested as written; its `:param` segments match the middleware's own params.
  return regexp.test(typeof path === 'string' ? path : '');
}
