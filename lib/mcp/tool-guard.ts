import type { ScopeChallengeHandler } from '@modelcontextprotocol/server';
import { ConfigurationError, GuardOrderError, InsufficientScopeError } from '../errors.js';
import { allOf } from '../guards/compose.js';
import { isGuard, type Guard } from '../guards/guard.js';
import type { Requirement } from '../guards/requirement.js';
import { exchanges } from './exchange.js';

const REQUIREMENTS: unique symbol = Symbol('koa-token-guard.toolGuard');

/** The requirements of a `toolGuard()`'s guards, or undefined for any other `scopeChallenge`. */
export function toolGuardRequirements(handler: unknown): readonly Requirement[] | undefined {
  return typeof handler === 'function' ? (handler as { [REQUIREMENTS]?: readonly Requirement[] })[REQUIREMENTS] : undefined;
}

// The SDK insists on at least one valid scope token to stop a call; this one is never sent (serveMcp sends ours).
const REFUSED: readonly [string, ...string[]] = ['koa-token-guard:refused'];

/**
 * This library's guards (`requireScopes`, a `defineScopes` catalog's, `requireClaim`, `requireAudience`,
 * `requireAuthLevel`, `anyOf`, `allOf`) as an MCP tool's, resource's or prompt's `scopeChallenge`. All must
 * pass (as `allOf`). A refusal is rendered by this library, not the SDK: `serveMcp()` answers with the
 * guard's own error, so it carries the realm, `resource_metadata`, the DPoP challenge of a DPoP request,
 * `acr_values`/`max_age` of an auth level, and every scope the call needs. Works only behind `serveMcp()`.
 */
export function toolGuard(...guards: Guard[]): ScopeChallengeHandler {
  if (guards.length === 0 || !guards.every(isGuard)) {
    throw new ConfigurationError("toolGuard() takes this library's guards, at least one, e.g. toolGuard(scopes.requireScopes('messages:read'), requireClaim('tenant', 'acme')).");
  }
  const guard = allOf(...guards);
  const challenge: ScopeChallengeHandler = async () => {
    const exchange = exchanges.getStore();
    if (exchange === undefined) throw new GuardOrderError('toolGuard'); // not served by serveMcp()
    const failure = await guard.check(exchange.ctx);
    if (failure === undefined) return undefined;
    exchange.refusal ??= failure;
    return { scopes: failure instanceof InsufficientScopeError && failure.scopes.length > 0 ? failure.scopes as [string, ...string[]] : REFUSED };
  };
  // What describeRoutes() and scopes_supported read, as the guards of a route carry theirs.
  return Object.defineProperty(challenge, REQUIREMENTS, { value: Object.freeze(guards.map((g) => g.requirement)) });
}
