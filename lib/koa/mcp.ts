import type { ParameterizedContext } from 'koa';
import { authContextOf, type AuthState } from './state.js';

/**
 * The shape of the MCP TypeScript SDK's `AuthInfo`, v2 (`@modelcontextprotocol/server`) and v1
 * (`@modelcontextprotocol/sdk`, which ignores `resourceMetadataUrl`); declared here so the root never
 * imports the SDK. What tool handlers receive as `ctx.http.authInfo` (v2) or `extra.authInfo` (v1).
 */
export interface McpAuthInfo {
  /** The access token. */
  token: string;
  /** The OAuth client: the token's `client_id` (RFC 9068), else `azp`, else `''`. */
  clientId: string;
  /** The scopes `authenticate()` parsed from the token. */
  scopes: string[];
  /** The token's `exp`, in seconds since the epoch. */
  expiresAt?: number;
  /** The RFC 8707 resource the token was issued for: its `aud` value that `authenticate()` accepted, when a URL. */
  resource?: URL;
  /** The RFC 9728 metadata URL of `authenticate({ resourceMetadata })`, when on: the SDK names it in the challenges it builds. */
  resourceMetadataUrl?: string;
  /** `sub` and every verified claim. */
  extra?: Record<string, unknown>;
}

function resourceOf(aud: unknown, accepted: readonly string[] | undefined): URL | undefined {
  const values: unknown[] = Array.isArray(aud) ? aud as unknown[] : [aud];
  for (const value of values) {
    if (typeof value !== 'string' || (accepted !== undefined && !accepted.includes(value)) || !URL.canParse(value)) continue;
    return new URL(value);
  }
  return undefined;
}

/**
 * Maps `ctx.state.auth` to the MCP SDK's `AuthInfo`; undefined when the request carried no token
 * (`optional: true`). SDK v2: `serveMcp()` (`koa-token-guard/mcp`) hands it over for you. SDK v1: set it
 * where the Streamable HTTP transport reads it, `ctx.req.auth = mcpAuthInfo(ctx)`, then `transport.handleRequest(…)`.
 */
export function mcpAuthInfo(ctx: Pick<ParameterizedContext, 'state'>): McpAuthInfo | undefined {
  const auth = (ctx.state as AuthState).auth;
  if (auth === undefined) return undefined;
  const claims = auth.claims as Record<string, unknown>;
  const clientId = typeof claims.client_id === 'string' ? claims.client_id : typeof claims.azp === 'string' ? claims.azp : '';
  const context = authContextOf(ctx);
  const resource = resourceOf(claims.aud, context?.audiences);
  return {
    token: auth.token,
    clientId,
    scopes: [...auth.scopes],
    ...(typeof claims.exp === 'number' ? { expiresAt: claims.exp } : {}),
    ...(resource !== undefined ? { resource } : {}),
    ...(context?.resourceMetadata !== undefined ? { resourceMetadataUrl: context.resourceMetadata } : {}),
    extra: { sub: claims.sub, claims },
  };
}
