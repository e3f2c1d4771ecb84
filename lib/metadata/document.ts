// RFC 9728 protected-resource metadata, built from the configuration that is enforced. Koa-free.
import { ConfigurationError } from '../errors.js';
import { describeRoutes, isMcpRoute, mcpPrimitivesOf, type McpRouteLike, type RouterLike } from '../guards/describe-routes.js';
import { scopesOf } from '../guards/requirement.js';
import { scopeList } from '../guards/scopes.js';
import { providerUrlAllowed } from '../url.js';
import { factsForAudience, factsOf, factsVersion, mergeFacts, resourceServerOf, type ResourceServerFacts } from './facts.js';
import { checkResource, metadataPath } from './resource.js';

/** Options of `protectedResourceMetadata()`. */
export interface ProtectedResourceMetadataOptions {
  /** The resource identifier (RFC 8707), published exactly as given: tokens must be issued for it, e.g. `'https://api.example.com/mcp'`. */
  resource: string;
  /** The issuer identifiers of the authorization servers that issue tokens for the resource (one or more). */
  authorizationServers: string | readonly string[];
  /**
   * `scopes_supported`: a list of scope names (e.g. `defineScopes(…).names`), a @koa/router router
   * whose routes' requirements name them (read with `describeRoutes()`, an MCP route's tool guards
   * included), or the middleware `serveMcp()` returns, whose tool guards name them. Default: not published.
   */
  scopesSupported?: readonly string[] | RouterLike | McpRouteLike | undefined;
  /** `resource_name`: a human-readable name of the resource. */
  resourceName?: string | undefined;
  /** `resource_documentation`: a URL of developer documentation. */
  resourceDocumentation?: string | undefined;
  /** `resource_policy_uri`: a URL of the resource's data-use policy. */
  resourcePolicyUri?: string | undefined;
  /** `resource_tos_uri`: a URL of the resource's terms of service. */
  resourceTosUri?: string | undefined;
  /** `jwks_uri`: the resource's own public keys (for signed responses), if it has any. */
  jwksUri?: string | undefined;
  /** `authorization_details_types_supported` (RFC 9396). */
  authorizationDetailsTypesSupported?: readonly string[] | undefined;
  /**
   * Any further RFC 9728 or extension field, published as given (snake_case, JSON values). Fields derived
   * from the configuration (`resource`, `authorization_servers`, `scopes_supported`, `bearer_methods_supported`,
   * `dpop_*`, `tls_client_certificate_bound_access_tokens`) cannot be set here.
   */
  fields?: Readonly<Record<string, unknown>> | undefined;
  /**
   * The `authenticate()` middleware(s) protecting the resource, whose token methods, DPoP and mTLS settings
   * the metadata publishes. Default: every `authenticate()` whose `audience` lists `resource`.
   */
  authenticate?: unknown;
  /** `Cache-Control: max-age` of the metadata response, in seconds. Default 3600. */
  cacheMaxAge?: number | undefined;
}

/** The RFC 9728 2 metadata document. */
export interface ProtectedResourceMetadata {
  readonly resource: string;
  readonly authorization_servers: readonly string[];
  readonly scopes_supported?: readonly string[];
  readonly bearer_methods_supported: readonly string[];
  readonly dpop_signing_alg_values_supported?: readonly string[];
  readonly dpop_bound_access_tokens_required?: boolean;
  readonly tls_client_certificate_bound_access_tokens?: boolean;
  readonly [field: string]: unknown;
}

/** The defaults of `protectedResourceMetadata()`, in one place. */
export const METADATA_DEFAULTS = Object.freeze({
  cacheMaxAge: 3600,
});

const DERIVED = new Set([
  'resource', 'authorization_servers', 'scopes_supported', 'bearer_methods_supported',
  'dpop_signing_alg_values_supported', 'dpop_bound_access_tokens_required', 'tls_client_certificate_bound_access_tokens',
]);
const OPTION_FIELDS: Readonly<Record<string, string>> = {
  resource_name: 'resourceName', resource_documentation: 'resourceDocumentation', resource_policy_uri: 'resourcePolicyUri',
  resource_tos_uri: 'resourceTosUri', jwks_uri: 'jwksUri', authorization_details_types_supported: 'authorizationDetailsTypesSupported',
};

/** The checked configuration, and how to read what may change until the first request (facts, routes). */
export interface ResolvedMetadata {
  readonly resource: string;
  /** The path-suffixed metadata path (RFC 9728 3.1), e.g. `/.well-known/oauth-protected-resource/mcp`. */
  readonly path: string;
  readonly cacheMaxAge: number;
  /** Builds the document from what is registered now. */
  build(): ProtectedResourceMetadata;
  /** A value that changes when `build()` could answer differently. */
  version(): number;
}

function urlField(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (!providerUrlAllowed(value, false)) {
    throw new ConfigurationError(`\`${name}\` must be an absolute https URL (http only on loopback); got ${JSON.stringify(value)}.`);
  }
  return value;
}

function authorizationServers(value: unknown): readonly string[] {
  const list: unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? [...value as unknown[]] : [];
  if (list.length === 0) {
    throw new ConfigurationError("`authorizationServers` must list at least one issuer, e.g. ['https://auth.example.com/']: clients find where to get tokens there.");
  }
  for (const issuer of list) {
    urlField('authorizationServers', issuer);
    if ((issuer as string).includes('?') || (issuer as string).includes('#')) {
      throw new ConfigurationError(`\`authorizationServers\` must be issuer identifiers, without query or fragment (RFC 8414 2); got ${JSON.stringify(issuer)}.`);
    }
  }
  return Object.freeze([...new Set(list as string[])]);
}

function explicitFacts(value: unknown, resource: string): ResourceServerFacts | undefined {
  if (value === undefined) return undefined;
  const list: unknown[] = Array.isArray(value) ? value as unknown[] : [value];
  const facts = list.map((m, i) => {
    const server = resourceServerOf(m);
    if (server === undefined) throw new ConfigurationError(`\`authenticate\`${Array.isArray(value) ? ` item ${i + 1}` : ''} must be the middleware authenticate() returned.`);
    if (!server.audiences.includes(resource)) {
      throw new ConfigurationError(`the authenticate() passed accepts audiences ${server.audiences.map((a) => JSON.stringify(a)).join(', ')}, not the resource ${JSON.stringify(resource)}: tokens issued for the resource would be refused. Add it to \`audience\`.`);
    }
    return server.facts;
  });
  return mergeFacts(facts);
}

/** Checks the options at startup (`ConfigurationError` saying how to fix them). */
export function resolveMetadataOptions(options: ProtectedResourceMetadataOptions): ResolvedMetadata {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError("protectedResourceMetadata() needs options, e.g. { resource: 'https://api.example.com/mcp', authorizationServers: ['https://auth.example.com/'] }.");
  }
  const resourceUrl = checkResource('resource', options.resource);
  const resource = options.resource;
  const servers = authorizationServers(options.authorizationServers);
  const cacheMaxAge = options.cacheMaxAge ?? METADATA_DEFAULTS.cacheMaxAge;
  if (!Number.isSafeInteger(cacheMaxAge) || cacheMaxAge < 0) {
    throw new ConfigurationError(`\`cacheMaxAge\` must be a whole number of seconds (default ${METADATA_DEFAULTS.cacheMaxAge}); got ${String(cacheMaxAge)}.`);
  }

  const fixed: Record<string, unknown> = {};
  const text = (name: keyof ProtectedResourceMetadataOptions, field: string): void => {
    const value = options[name];
    if (value === undefined) return;
    if (typeof value !== 'string' || value === '') throw new ConfigurationError(`\`${name}\` must be a non-empty string.`);
    fixed[field] = value;
  };
  text('resourceName', 'resource_name');
  for (const [name, field] of [['resourceDocumentation', 'resource_documentation'], ['resourcePolicyUri', 'resource_policy_uri'], ['resourceTosUri', 'resource_tos_uri'], ['jwksUri', 'jwks_uri']] as const) {
    const value = urlField(name, options[name]);
    if (value !== undefined) fixed[field] = value;
  }
  if (options.authorizationDetailsTypesSupported !== undefined) {
    const types = options.authorizationDetailsTypesSupported as unknown;
    if (!Array.isArray(types) || types.some((t) => typeof t !== 'string' || t === '')) {
      throw new ConfigurationError("`authorizationDetailsTypesSupported` must be a list of type names, e.g. ['payment_initiation'].");
    }
    fixed.authorization_details_types_supported = Object.freeze([...types as string[]]);
  }
  const extra = options.fields ?? {};
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) throw new ConfigurationError('`fields` must be an object of further metadata fields, e.g. { signed_metadata: "…" }.');
  for (const [field, value] of Object.entries(extra)) {
    if (DERIVED.has(field)) throw new ConfigurationError(`\`fields.${field}\` is derived from the configuration so it never disagrees with what is enforced; remove it.`);
    if (field in OPTION_FIELDS) throw new ConfigurationError(`\`fields.${field}\` has its own option: use \`${OPTION_FIELDS[field]}\`.`);
    if (value === undefined) continue;
    fixed[field] = JSON.parse(JSON.stringify(value)) as unknown; // a snapshot: later changes to the object do not leak in
  }

  const scopes = options.scopesSupported;
  let readScopes: () => readonly string[];
  if (scopes === undefined) readScopes = () => [];
  else if (Array.isArray(scopes)) {
    const list = Object.freeze(scopes.length === 0 ? [] : scopeList('scopesSupported', scopes));
    readScopes = () => list;
  } else if (isMcpRoute(scopes)) {
    // Read when the document is built: serveMcp()'s factory runs then (once), not at startup.
    readScopes = () => scopesOf(mcpPrimitivesOf(scopes)!.flatMap((p) => p.requirements));
  } else {
    const router = scopes as RouterLike;
    describeRoutes(router); // throws now when it is not a router
    // Read when the document is built, so routes added after this call are included.
    readScopes = () => scopesOf(describeRoutes(router).flatMap((r) => [...r.requirements, ...(r.mcp ?? []).flatMap((p) => p.requirements)]));
  }

  const pinned = explicitFacts(options.authenticate, resource);
  const readFacts = pinned !== undefined ? () => pinned : () => factsForAudience(resource) ?? factsOf({});

  const build = (): ProtectedResourceMetadata => {
    const facts = readFacts();
    const scopesSupported = readScopes();
    const document: Record<string, unknown> = {
      resource,
      authorization_servers: servers,
      ...(scopesSupported.length > 0 ? { scopes_supported: scopesSupported } : {}),
      bearer_methods_supported: facts.bearerMethods,
      ...fixed,
      ...(facts.mtls ? { tls_client_certificate_bound_access_tokens: true } : {}),
      ...(facts.dpop !== undefined
        ? { dpop_signing_alg_values_supported: facts.dpop.algorithms, dpop_bound_access_tokens_required: facts.dpop.required }
        : {}),
    };
    return Object.freeze(document) as ProtectedResourceMetadata;
  };
  return Object.freeze({ resource, path: metadataPath(resourceUrl), cacheMaxAge, build, version: pinned !== undefined ? () => 0 : factsVersion });
}

/**
 * The RFC 9728 metadata document for `options`, as `protectedResourceMetadata()` serves it now: for
 * another framework's adapter, or to publish it elsewhere.
 */
export function protectedResourceMetadataDocument(options: ProtectedResourceMetadataOptions): ProtectedResourceMetadata {
  return resolveMetadataOptions(options).build();
}
