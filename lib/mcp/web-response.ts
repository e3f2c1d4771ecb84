import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { ParameterizedContext } from 'koa';

/**
 * Writes the SDK's web `Response` through Koa: status, headers (every `Set-Cookie`), and the body streamed
 * as it comes (SSE). A response without a body keeps its status: Koa would turn an empty 202 into a 204.
 */
export function writeWebResponse(ctx: ParameterizedContext, response: Response): void {
  ctx.body = null; // marks the body as deliberately empty, so Koa sends no "Accepted" text either
  ctx.status = response.status;
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') ctx.set(name, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) ctx.set('Set-Cookie', cookies);
  if (response.body !== null) ctx.body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>);
}
