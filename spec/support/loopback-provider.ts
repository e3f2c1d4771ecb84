// An identity provider on a real loopback port, for specs spanning processes (nock cannot): serves
// discovery and JWKS and counts requests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { signingKey, type SigningKey } from './provider.js';

export interface LoopbackProvider {
  issuer: string;
  audience: string;
  key: SigningKey;
  counts: { discovery: number; jwks: number };
  /** false: answer 503 to everything. */
  setUp(up: boolean): void;
  sign(): Promise<string>;
  close(): Promise<void>;
}

export async function loopbackProvider(): Promise<LoopbackProvider> {
  const key = await signingKey('ES256', 'loopback-1');
  const counts = { discovery: 0, jwks: 0 };
  let up = true;
  let issuer = '';
  const server = http.createServer((req, res) => {
    if (!up) {
      res.writeHead(503).end();
      return;
    }
    let body: unknown;
    if (req.url === '/.well-known/openid-configuration') {
      counts.discovery++;
      body = { issuer, jwks_uri: `${issuer}jwks` };
    } else if (req.url === '/jwks') {
      counts.jwks++;
      body = { keys: [key.publicJwk] };
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const audience = 'https://api.example.com';
  return {
    issuer,
    audience,
    key,
    counts,
    setUp: (value) => {
      up = value;
    },
    sign: () => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, aud: audience, sub: 'user-1', iat: now, exp: now + 300 })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' }).sign(key.privateKey);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
