import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EndpointAnswer, EndpointRequest } from './endpoints.js';

/** A running loopback server; `close()` ends every connection, including hanging requests. */
export interface LoopbackServer {
  readonly origin: string;
  /** Answers requests held by a hang outage, with what the issuer answers now. */
  release(): void;
  close(): Promise<void>;
}

// Form bodies of introspection and token requests are small; anything larger is refused unread.
const MAX_BODY_BYTES = 64 * 1024;

function headersOf(req: http.IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) resolve(undefined);
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Serves `answer(request)` over real HTTP on 127.0.0.1. */
export async function startLoopback(answer: (request: EndpointRequest, retried: boolean) => Promise<EndpointAnswer>, port = 0): Promise<LoopbackServer> {
  const held = new Set<() => void>();
  const respond = async (request: EndpointRequest, res: http.ServerResponse, retried: boolean): Promise<void> => {
    const result = await answer(request, retried);
    if (res.destroyed) return;
    if (result.kind === 'hang') {
      const retry = (): void => {
        held.delete(retry);
        if (!res.destroyed) void respond(request, res, true);
      };
      held.add(retry);
      return;
    }
    res.writeHead(result.status, result.headers);
    res.end(result.body);
  };
  const server = http.createServer((req, res) => {
    void readBody(req).then((body) => {
      if (body === undefined) {
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ error: 'request_too_large' }));
        return;
      }
      const { pathname, search } = new URL(req.url ?? '/', 'http://127.0.0.1');
      return respond({ method: req.method ?? 'GET', pathname, search, headers: headersOf(req), body }, res, false);
    }).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    release() {
      for (const retry of [...held]) retry();
    },
    close() {
      held.clear();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
