import type { Middleware } from 'koa';
import { AuthError } from '../errors.js';

/**
 * Opt-in error middleware that answers our refusals with the RFC 6750 JSON body
 * `{ "error": "...", "error_description": "..." }` and the same status and headers Koa would send.
 * Mount it before `authenticate()`; any other error passes through untouched.
 */
export function renderAuthErrors(): Middleware {
  return async function renderAuthErrorsMiddleware(ctx, next) {
    try {
      await next();
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      ctx.status = error.status;
      ctx.set(error.headers);
      ctx.body = error.toJSON();
    }
  };
}
