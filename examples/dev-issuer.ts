// An embedded development issuer, built on the test kit (koa-token-guard/testing): discovery, JWKS, a token endpoint
// for the client-credentials grant and an introspection endpoint, all on loopback, keys generated at start. For
// trying the API without any account; never use it in production.
import { randomBytes } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { createTestIssuer, type TestClient, type TestIssuerRequests } from 'koa-token-guard/testing';

/** A demo client of the token endpoint: what it is called, and its dev-only secret. */
export interface DevClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

// Client credentials printed in the banner: development values, the issuer lives on 127.0.0.1 only.
const client = (clientId: string, scope: string, extra: Partial<TestClient> = {}): TestClient & DevClient =>
  ({ clientId, scope, ...extra, clientSecret: `${clientId}-secret` });

/** The demo clients, by what their tokens are for. Client-credentials tokens have the client as `sub`. */
export const devClients = {
  // Acts for the example's one user record, so GET /me finds it.
  reader: client('reader', 'read:messages', { claims: { sub: 'dev-user' } }),
  writer: client('writer', 'read:messages write:messages'),
  profileOnly: client('profile-only', 'profile'),
  admin: client('admin', 'admin'),
  owner: client('owner', 'read:messages', { claims: { role: 'owner' } }),
  // A client the user store has never heard of.
  stranger: client('stranger', 'profile'),
  // Gets opaque (reference) tokens: the API introspects them at the issuer.
  legacy: client('legacy', 'read:messages write:messages', { format: 'opaque' }),
  // The MCP client of examples/mcp/call.ts: it may have messages:admin, and gets it when it asks (the step-up).
  mcpAgent: client('mcp-agent', 'messages:read messages:write messages:admin'),
} as const;

export interface DevIssuer {
  issuer: string;
  jwksUri: string;
  /** The client-credentials token endpoint. */
  tokenEndpoint: string;
  /** The introspection endpoint and the API's own client there (the secret is generated at start). */
  introspection: { endpoint: string; clientId: string; clientSecret: string };
  /** Mints an ES256 access token (typ at+jwt) for the audience directly; claims override the defaults. */
  mint(claims?: JWTPayload & { scope?: string }, options?: { expired?: boolean; badSignature?: boolean }): Promise<string>;
  /** Hands out an opaque token, as the token endpoint does for the `legacy` client. */
  mintOpaque(claims?: JWTPayload & { scope?: string }): string;
  /** Revokes a token: introspection answers inactive from now on. */
  revoke(token: string): void;
  /** Requests served so far, per endpoint. */
  readonly requests: TestIssuerRequests;
  close(): Promise<void>;
}

export async function startDevIssuer(audience: string, port = 0): Promise<DevIssuer> {
  const now = Math.floor(Date.now() / 1000);
  const kit = await createTestIssuer({
    audience,
    port,
    algorithms: ['ES256'],
    claims: { sub: 'dev-user', client_id: 'dev-client', scope: undefined },
    expiresIn: 3600,
    introspection: { clientId: 'messages-api', clientSecret: randomBytes(16).toString('base64url') },
    clients: [
      ...Object.values(devClients),
      // Its tokens are born expired: how an old token is answered, without waiting an hour.
      client('expired', 'read:messages', { claims: { iat: now - 7200, exp: now - 3600 } }),
    ],
  });
  const introspection = kit.introspection!;
  return {
    issuer: kit.issuer,
    jwksUri: kit.jwksUri,
    tokenEndpoint: kit.tokenEndpoint!,
    introspection: { endpoint: introspection.endpoint, clientId: introspection.clientId, clientSecret: introspection.clientSecret! },
    mint: (claims = {}, options = {}) => kit.sign(claims, { expired: options.expired, wrongSignature: options.badSignature }),
    mintOpaque: (claims = {}) => kit.issueOpaque(claims),
    revoke: (token) => kit.revoke(token),
    get requests() {
      return kit.requests;
    },
    close: () => kit.close(),
  };
}
