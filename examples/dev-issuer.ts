// An embedded development issuer: discovery and JWKS on loopback, keys generated at start.
// For trying the API without any account; never use it in production.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';

export interface DevIssuer {
  issuer: string;
  jwksUri: string;
  /** Mints an ES256 access token (typ at+jwt) for the audience; claims override the defaults. */
  mint(claims?: JWTPayload & { scope?: string }, options?: { expired?: boolean; badSignature?: boolean }): Promise<string>;
  close(): Promise<void>;
}

export async function startDevIssuer(audience: string, port = 0): Promise<DevIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const other = await generateKeyPair('ES256');
  const kid = 'dev-es256';
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  let issuer = '';
  const server = http.createServer((req, res) => {
    const body = req.url === '/.well-known/openid-configuration'
      ? { issuer, jwks_uri: `${issuer}.well-known/jwks.json`, token_endpoint: `${issuer}token` }
      : req.url === '/.well-known/jwks.json' ? jwks : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
    res.end(JSON.stringify(body ?? { error: 'not_found' }));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  return {
    issuer,
    jwksUri: `${issuer}.well-known/jwks.json`,
    async mint(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const times = options.expired ? { iat: now - 7200, exp: now - 3600 } : { iat: now, exp: now + 3600 };
      return new SignJWT({ iss: issuer, aud: audience, sub: 'dev-user', client_id: 'dev-client', jti: crypto.randomUUID(), ...times, ...claims })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
        .sign(options.badSignature ? other.privateKey : privateKey);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
