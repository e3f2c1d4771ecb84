import { AsyncLocalStorage } from 'node:async_hooks';
import type { ParameterizedContext } from 'koa';
import type { AuthError } from '../errors.js';

/** One HTTP exchange `serveMcp()` hands the SDK: the Koa context tool guards read, and their refusal. */
export interface McpExchange {
  readonly ctx: ParameterizedContext;
  /** Set by a `toolGuard()` that refused: `serveMcp()` throws it instead of sending the SDK's own 403. */
  refusal: AuthError | undefined;
}

// The SDK calls a tool's scopeChallenge with the JSON-RPC request only; this carries the Koa context to it.
export const exchanges = new AsyncLocalStorage<McpExchange>();
