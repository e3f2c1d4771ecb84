import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EndpointAnswer } from './endpoints.js';

/** A running loopback server; `close()` ends every connection, including hanging requests. */
export interface LoopbackServer {
  readonly origin: string;
  /** Answers requests held by a hang outage, with what the issuer answers now. */
  release(): void;
  close(): Promise<void>;
}

/** Serves `answer(pathname)` over real HTTP on 127.0.0.1. */
export async function startLoopback(answer: (pathname: string, retried: boolean) => EndpointAnswer, port = 0): Promise<LoopbackServer> {
  const held = new Set<() => void>();
  const respond = (req: http.IncomingMessage, res: http.ServerResponse, retried = false): void => {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const result = req.method === 'GET' || req.method === 'HEAD' ? answer(pathname, retried) : { kind: 'json' as const, status: 405, headers: {}, body: { error: 'method_not_allowed' } };
    if (result.kind === 'hang') {
      const retry = (): void => {
        held.delete(retry);
        if (!res.destroyed) respond(req, res, true);
      };
      held.add(retry);
      return;
    }
    res.writeHead(result.status, result.headers);
    res.end(JSON.stringify(result.body));
  };
  const server = http.createServer(respond);
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
