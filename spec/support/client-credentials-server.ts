// Loopback servers for the MCP specs: a plain HTTP listener, and oidc-provider as an authorization server
// issuing JWT access tokens by client credentials with resource indicators (RFC 8707), the way MCP clients get theirs.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { MemoryAdapter } from './oidc-adapter.js';

export interface Listening {
  readonly server: http.Server;
  readonly origin: string;
  /** Closes the server and every connection still open. */
  close(): Promise<void>;
}

/** `handler` on 127.0.0.1, a port of its own. */
export async function listen(handler: http.RequestListener): Promise<Listening> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ClientCredentialsServerOptions {
  /** The one client, authenticating with client_secret_basic. */
  readonly client: { readonly clientId: string; readonly clientSecret: string };
  /** What any resource may be granted; a client-credentials token carries only the scopes asked for. */
  readonly scope: string;
  /** The resource of a token request that names none. */
  readonly defaultResource: () => string;
  /** DPoP-bound tokens for clients that send a proof (RFC 9449). */
  readonly dpop?: boolean;
}

/** oidc-provider on loopback: client credentials, resource indicators, ES256 JWT access tokens for the requested resource. */
export async function clientCredentialsServer(options: ClientCredentialsServerOptions): Promise<Listening> {
  let handler: http.RequestListener = (_req, res) => res.end();
  const listening = await listen((req, res) => handler(req, res));
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const { client, scope, defaultResource } = options;
  const provider = new Provider(listening.origin, {
    adapter: MemoryAdapter,
    clients: [{
      client_id: client.clientId, client_secret: client.clientSecret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [],
      token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'ES256',
    }],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'as-1', alg: 'ES256', use: 'sig' }] },
    cookies: { keys: ['a-cookie-signing-key-for-the-mcp-specs'] },
    ttl: { ClientCredentials: 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: { enabled: options.dpop === true },
      resourceIndicators: {
        enabled: true,
        defaultResource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, target) => ({
          scope, audience: target, accessTokenTTL: 300, accessTokenFormat: 'jwt' as const, jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  const callback = provider.callback();
  handler = (req, res) => void callback(req, res);
  return listening;
}
