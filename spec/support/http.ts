// Real HTTP on loopback against a Koa app: statuses and headers exactly as a client sees them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';

export interface Reply { status: number; headers: http.IncomingHttpHeaders; text: string; json(): unknown }

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string;
}

/** Sends one request to the app on an ephemeral loopback port and closes the server again. */
/** Reads a whole response into a `Reply`. */
export function readReply(res: http.IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) as unknown });
    });
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any app state and context
export async function request(app: Koa<any, any>, path: string, options: RequestOptions = {}): Promise<Reply> {
  const handler = app.callback();
  const server = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<Reply>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
        readReply(res).then(resolve, reject);
      });
      req.on('error', reject);
      req.end(options.body);
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
