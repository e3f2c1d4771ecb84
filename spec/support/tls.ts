// Real TLS on loopback for mTLS specs: an https server that asks for a client certificate and, like an
// RFC 8705 resource server accepting self-signed ones, leaves trust to the token's binding.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { clientCertificate, type ClientCertificate } from './certificates.js';
import { readReply, type Reply } from './http.js';

export interface TlsServer {
  port: number;
  /** One GET over a new TLS connection (no session reuse; or through `agent`), presenting `certificate` if given. */
  get: (path: string, options?: { certificate?: ClientCertificate | undefined; headers?: Record<string, string>; agent?: https.Agent }) => Promise<Reply>;
  close: () => Promise<void>;
}

let serverCertificate: Promise<ClientCertificate> | undefined;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any app state and context
export async function tlsServer(app: Koa<any, any>): Promise<TlsServer> {
  const own = await (serverCertificate ??= clientCertificate('localhost'));
  const handler = app.callback();
  const server = https.createServer({ key: own.keyPem, cert: own.pem, requestCert: true, rejectUnauthorized: false }, (req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    get: (path, { certificate, headers = {}, agent } = {}) => new Promise<Reply>((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port, path, headers, agent: agent ?? false,
        ...(certificate === undefined ? {} : { key: certificate.keyPem, cert: certificate.pem }),
        ca: own.pem, checkServerIdentity: () => undefined, // the spec's own self-signed server; trust is not under test
      }, (res) => {
        readReply(res).then(resolve, reject);
      });
      req.on('error', reject);
      req.end();
    }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
