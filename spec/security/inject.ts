// In-process requests through a Koa app's real callback (its own error handling and rendering), without
// sockets: loopback HTTP under nock costs milliseconds per request, too slow for ten thousand fuzz cases.
import { IncomingMessage, ServerResponse, type OutgoingHttpHeaders } from 'node:http';
import { Socket } from 'node:net';
import type Koa from 'koa';

export interface Injected { status: number; headers: OutgoingHttpHeaders; body: string }

// Node keeps the first of these when a request repeats them, and joins the others with ', '.
const FIRST_WINS = new Set(['authorization', 'host', 'content-type', 'content-length', 'user-agent']);

/** Sends one GET with exactly these raw header lines (repeats included) to the app's callback. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any app state and context
export function inject(app: Koa<any, any>, path: string, rawHeaders: readonly string[]): Promise<Injected> {
  const handler = app.callback();
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = path;
  req.httpVersion = '1.1';
  req.rawHeaders = [...rawHeaders];
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (headers[name] === undefined) headers[name] = value;
    else if (!FIRST_WINS.has(name)) headers[name] = `${headers[name]}, ${value}`;
  }
  req.headers = headers;
  req.push(null);
  const res = new ServerResponse(req);
  return new Promise<Injected>((resolve, reject) => {
    const chunks: string[] = [];
    const text = (chunk: string | Uint8Array): string => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    res.write = ((chunk: string | Uint8Array) => {
      chunks.push(text(chunk));
      return true;
    }) as typeof res.write;
    res.end = ((chunk?: string | Uint8Array | (() => void)) => {
      if (chunk !== undefined && typeof chunk !== 'function') chunks.push(text(chunk));
      resolve({ status: res.statusCode, headers: res.getHeaders(), body: chunks.join('') });
      return res;
    }) as typeof res.end;
    handler(req, res).catch(reject);
  });
}
