import { Readable } from 'node:stream';
import type { ParameterizedContext } from 'koa';

const NO_BODY = new Set(['GET', 'HEAD']);

/** The request URL as Koa sees it (`app.proxy` honoured: `X-Forwarded-Proto`, `X-Forwarded-Host`). */
function urlOf(ctx: ParameterizedContext): string {
  const href = ctx.href;
  // No Host header (HTTP/1.0): the SDK needs an absolute URL, the path is what matters.
  return URL.canParse(href) ? href : new URL(ctx.originalUrl, 'http://localhost').href;
}

function headersOf(ctx: ParameterizedContext): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(ctx.req.headers)) {
    if (value === undefined || name.startsWith(':')) continue; // HTTP/2 pseudo-headers are not fields
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.append(name, value);
  }
  return headers;
}

/** What the SDK's `fetch` takes: the web `Request`, and the body when a body parser already read it. */
export interface WebExchange {
  request: Request;
  parsedBody: unknown;
}

/**
 * Builds the web `Request` the SDK serves from a Koa request: its body is the Node stream (the SDK reads
 * and bounds it) unless a body parser already consumed it into `ctx.request.body`; `signal` aborts it.
 */
export function toWebRequest(ctx: ParameterizedContext, signal: AbortSignal): WebExchange {
  const parsedBody = (ctx.request as { body?: unknown }).body;
  const streamed = parsedBody === undefined && !NO_BODY.has(ctx.method) && !ctx.req.readableEnded;
  const init: RequestInit & { duplex?: 'half' } = { method: ctx.method, headers: headersOf(ctx), signal };
  if (streamed) {
    init.body = Readable.toWeb(ctx.req) as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  return { request: new Request(urlOf(ctx), init), parsedBody };
}
