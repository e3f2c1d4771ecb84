// A Koa app served on one loopback port for a whole spec: DPoP proofs name the exact URL, port included.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { readReply, type Reply, type RequestOptions } from '../support/http.js';

export interface Served {
  /** The origin, e.g. `http://127.0.0.1:41234`. */
  readonly origin: string;
  send(path: string, options?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any app state and context
export async function serve(app: Koa<any, any>): Promise<Served> {
  const handler = app.callback();
  const server = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    send: (path, options = {}) => new Promise<Reply>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
        readReply(res).then(resolve, reject);
      });
      req.on('error', reject);
      req.end(options.body);
    }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `Authorization: DPoP <token>` with its proof. */
export const dpop = (token: string, proof: string | string[]): Record<string, string | string[]> => ({ authorization: `DPoP ${token}`, dpop: proof });

export const ALGS = 'RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519';
