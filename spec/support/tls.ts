// Real TLS on loopback for mTLS specs: an https server that asks for a client certificate and, like an
// RFC 8705 resource server accepting self-signed ones, leaves trust to the token's binding.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import nock from 'nock';
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
        // The server's self-signed certificate is the only CA, and its CN (no SAN) is checked against the SNI
        // name. A per-request checkServerIdentity would be simpler, but Node >= 22.23.2 and 24.18.1
        // (CVE-2026-58040) then neither resume sessions nor keep connections alive for that request.
        ca: own.pem, servername: 'localhost',
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

/**
 * Runs `fn` with nock's request interception lifted, for specs about connection reuse: nock hands every
 * request an agent of its own, so under it no connection is ever kept alive. Loopback only, as ever.
 */
export async function withoutNock<T>(fn: () => Promise<T>): Promise<T> {
  if (!nock.isActive()) return fn();
  nock.restore();
  try {
    return await fn();
  } finally {
    nock.activate();
  }
}
