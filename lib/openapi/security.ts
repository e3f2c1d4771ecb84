import { ConfigurationError } from '../errors.js';
import { describeRoutes, type RouteDescription, type RouterLike } from '../guards/describe-routes.js';
import { scopesOf, type Requirement } from '../guards/requirement.js';
import { expressRequirements } from './alternatives.js';
import { openApiPaths } from './path.js';

/** One OAuth 2.0 flow of an OpenAPI `oauth2` scheme; `scopes` may be left out (see {@link OpenApiScheme}). */
export interface OpenApiOAuthFlow {
  authorizationUrl?: string | undefined;
  tokenUrl?: string | undefined;
  refreshUrl?: string | undefined;
  /** Scope name → description. Left out: every scope the routes use, with an empty description. */
  scopes?: Readonly<Record<string, string>> | undefined;
}

/** The flows of an OpenAPI `oauth2` scheme. */
export interface OpenApiOAuthFlows {
  implicit?: OpenApiOAuthFlow | undefined;
  password?: OpenApiOAuthFlow | undefined;
  clientCredentials?: OpenApiOAuthFlow | undefined;
  authorizationCode?: OpenApiOAuthFlow | undefined;
}

/**
 * The security scheme the routes' requirements refer to, under `components.securitySchemes[name]`:
 * - `'bearer'`: `{ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }` named `bearerAuth`; its
 *   requirement arrays list the scopes (OpenAPI 3.1 allows "role names" for any scheme type);
 * - `{ type: 'oauth2', flows }` named `oauth2` by default: a flow without `scopes` gets every scope
 *   the routes use; a flow with `scopes` must list each of them (a `ConfigurationError` otherwise);
 * - `{ type: 'openIdConnect', openIdConnectUrl }` named `openIdConnect` by default;
 * - `{ type: 'http', scheme: 'bearer', bearerFormat? }` named `bearerAuth` by default.
 *
 * `name` sets the key; `description` is copied.
 */
export type OpenApiScheme =
  | 'bearer'
  | { name?: string | undefined; description?: string | undefined; type: 'oauth2'; flows: OpenApiOAuthFlows }
  | { name?: string | undefined; description?: string | undefined; type: 'openIdConnect'; openIdConnectUrl: string }
  | { name?: string | undefined; description?: string | undefined; type: 'http'; scheme: 'bearer'; bearerFormat?: string | undefined };

/** Options of `openApiSecurity()`. */
export interface OpenApiSecurityOptions {
  /** The security scheme to declare and refer to. */
  scheme: OpenApiScheme;
  /**
   * The most alternatives one operation's `security` may list (default 64): `allOf` of alternatives
   * multiplies them, and past this bound the routes are better simplified than documented.
   */
  maxAlternatives?: number | undefined;
}

/** The defaults of `openApiSecurity()`. */
export const OPENAPI_DEFAULTS = Object.freeze({
  maxAlternatives: 64,
  /** The operation extension holding what OpenAPI cannot say (claims, audiences, auth levels). */
  extension: 'x-koa-token-guard' as const,
  schemeNames: Object.freeze({ http: 'bearerAuth', oauth2: 'oauth2', openIdConnect: 'openIdConnect' }),
});

/** An OpenAPI Security Requirement Object: scheme name → scopes (or role names). */
export type OpenApiSecurityRequirement = Record<string, string[]>;

/** What `openApiSecurity()` says about one operation. */
export interface OpenApiOperationSecurity {
  /** Alternatives, any one suffices; `[]` for a `publicRoute()`. */
  security: OpenApiSecurityRequirement[];
  /** Present when a requirement OpenAPI cannot express applies: every requirement of the route, as `describeRoutes()` shows them. */
  'x-koa-token-guard'?: { requirements: readonly Requirement[] };
}

/** An OpenAPI 3.1 fragment: merge `components.securitySchemes` and each `paths[path][method]` into your document. */
export interface OpenApiSecurityFragment {
  components: { securitySchemes: Record<string, Record<string, unknown>> };
  paths: Record<string, Record<string, OpenApiOperationSecurity>>;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/**
 * The OpenAPI 3.1 security of a @koa/router router (or of `describeRoutes()` output), derived from
 * the guards it enforces: `requireScopes()` needing all scopes is one requirement object;
 * `match: 'any'` and `anyOf()` are alternatives; `allOf()` of alternatives is expanded to
 * alternatives of combined scopes (a `ConfigurationError` past `maxAlternatives`); a scope a
 * `defineScopes()` declaration implies is satisfied by the scopes implying it too; `requireToken()` is
 * an empty scope list; `publicRoute()` is `security: []`. Claims, audiences and auth levels, which
 * OpenAPI cannot express, add the route's requirements under `x-koa-token-guard`.
 *
 * Paths become OpenAPI templates (`/orgs/:orgId` → `/orgs/{orgId}`; an optional part gives one path
 * with and one without). Left out: unguarded routes (no security to state: keep a spec on
 * `describeRoutes()` for them), RegExp routes, methods OpenAPI has no field for, and MCP routes
 * (`serveMcp()`: one JSON-RPC endpoint, not REST operations; its tools' guards are in `describeRoutes()`).
 */
export function openApiSecurity(router: RouterLike | readonly RouteDescription[], options: OpenApiSecurityOptions): OpenApiSecurityFragment {
  // An MCP route is one JSON-RPC endpoint, not a REST operation: its tools' guards are in describeRoutes() and scopes_supported.
  const routes = (Array.isArray(router) ? router as readonly RouteDescription[] : describeRoutes(router as RouterLike)).filter((r) => r.mcp === undefined);
  const max = options?.maxAlternatives ?? OPENAPI_DEFAULTS.maxAlternatives;
  if (!Number.isInteger(max) || max < 1) throw new ConfigurationError(`openApiSecurity() \`maxAlternatives\` must be a positive whole number (default ${OPENAPI_DEFAULTS.maxAlternatives}).`);
  const [name, scheme] = securityScheme(options?.scheme, scopesOf(routes.flatMap((r) => r.requirements)));
  const paths: OpenApiSecurityFragment['paths'] = {};
  for (const route of routes) {
    const method = route.method.toLowerCase();
    if (route.access === 'unguarded' || !METHODS.has(method)) continue;
    for (const path of openApiPaths(route.path)) {
      const item = paths[path] ??= {};
      // Two routes on one path and method: the first registered is the one that answers.
      item[method] ??= operationSecurity(route, name, max);
    }
  }
  return { components: { securitySchemes: { [name]: scheme } }, paths };
}

function operationSecurity(route: RouteDescription, name: string, max: number): OpenApiOperationSecurity {
  if (route.access === 'public') return { security: [] };
  const { alternatives, inexpressible } = expressRequirements(route.requirements, max, `${route.method} ${route.path}`);
  const security = alternatives.map((scopes) => ({ [name]: [...scopes] }));
  return inexpressible ? { security, [OPENAPI_DEFAULTS.extension]: { requirements: route.requirements } } : { security };
}

function securityScheme(option: OpenApiScheme | undefined, used: readonly string[]): [string, Record<string, unknown>] {
  const scheme = option === 'bearer' ? { type: 'http' as const, scheme: 'bearer' as const } : option;
  if (scheme === undefined || scheme === null || typeof scheme !== 'object' || !['http', 'oauth2', 'openIdConnect'].includes(scheme.type)) {
    throw new ConfigurationError("openApiSecurity() needs a `scheme`: 'bearer', { type: 'oauth2', flows: {…} } or { type: 'openIdConnect', openIdConnectUrl: '…' }.");
  }
  const { name = OPENAPI_DEFAULTS.schemeNames[scheme.type], description, ...rest } = scheme;
  if (typeof name !== 'string' || name === '') throw new ConfigurationError('openApiSecurity() `scheme.name` must be a non-empty string.');
  const described = description === undefined ? {} : { description };
  switch (rest.type) {
    case 'http':
      if (rest.scheme !== 'bearer') throw new ConfigurationError("openApiSecurity() supports the http scheme 'bearer' only: tokens come as Bearer.");
      return [name, { type: 'http', scheme: 'bearer', bearerFormat: rest.bearerFormat ?? 'JWT', ...described }];
    case 'openIdConnect':
      if (typeof rest.openIdConnectUrl !== 'string' || !URL.canParse(rest.openIdConnectUrl)) {
        throw new ConfigurationError('openApiSecurity() `scheme.openIdConnectUrl` must be the URL of the OpenID Connect discovery document.');
      }
      return [name, { type: 'openIdConnect', openIdConnectUrl: rest.openIdConnectUrl, ...described }];
    case 'oauth2':
      return [name, { type: 'oauth2', flows: oauthFlows(rest.flows, used), ...described }];
  }
}

function oauthFlows(flows: OpenApiOAuthFlows | undefined, used: readonly string[]): Record<string, unknown> {
  const entries = Object.entries(flows ?? {}).filter(([, flow]) => flow !== undefined);
  if (entries.length === 0) throw new ConfigurationError("openApiSecurity() an oauth2 scheme needs `flows`, e.g. { clientCredentials: { tokenUrl: 'https://auth.example.com/oauth/token' } }.");
  return Object.fromEntries(entries.map(([kind, flow]) => {
    const { scopes, ...urls } = flow as OpenApiOAuthFlow;
    if (scopes === undefined) return [kind, { ...urls, scopes: Object.fromEntries(used.map((s) => [s, ''])) }];
    const missing = used.filter((s) => !Object.hasOwn(scopes, s));
    if (missing.length > 0) {
      throw new ConfigurationError(`openApiSecurity() the ${kind} flow's scopes lack ${missing.map((s) => JSON.stringify(s)).join(', ')}, which routes require; list them or leave \`scopes\` out to list every scope the routes use.`);
    }
    return [kind, { ...urls, scopes: { ...scopes } }];
  }));
}
