import { randomBytes } from 'node:crypto';
import type { TestClient } from './token-endpoint.js';
import type { TestIntrospectionOptions, TestIssuerOptions } from './types.js';

// The client registrations of createTestIssuer(), checked at creation with a message saying what is missing.

function checkClient(client: { clientId?: unknown; clientSecret?: unknown; jwks?: unknown; redirectUris?: unknown }, option: string): void {
  if (typeof client.clientId !== 'string' || client.clientId === '') throw new TypeError(`koa-token-guard/testing: \`${option}\` needs a clientId (a non-empty string).`);
  // Only a client that redirects (the authorization code grant, PKCE) may be public.
  if (client.clientSecret === undefined && client.jwks === undefined && (option !== 'clients' || client.redirectUris === undefined)) {
    throw new TypeError(`koa-token-guard/testing: client ${client.clientId} of \`${option}\` needs a clientSecret (client_secret_basic/_post) or jwks (private_key_jwt)${option === 'clients' ? ', or redirectUris for a public client' : ''}.`);
  }
}

// RFC 6749 §3.1.2: a redirection URI is absolute and has no fragment.
function checkRedirectUris(client: TestClient): void {
  const uris: unknown = client.redirectUris;
  if (uris === undefined) return;
  if (!Array.isArray(uris) || uris.length === 0 || uris.some((uri) => typeof uri !== 'string' || !URL.canParse(uri) || uri.includes('#'))) {
    throw new TypeError(`koa-token-guard/testing: client ${client.clientId}: \`redirectUris\` must be absolute URLs without a fragment.`);
  }
}

/** The introspection client: generated for `true`, copied otherwise; undefined without introspection. */
export function introspectionClient(option: TestIssuerOptions['introspection']): TestIntrospectionOptions | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { clientId: `resource-server-${randomBytes(3).toString('hex')}`, clientSecret: randomBytes(24).toString('base64url') };
  checkClient(option, 'introspection');
  return { clientId: option.clientId, clientSecret: option.clientSecret, jwks: option.jwks === undefined ? undefined : [...option.jwks] };
}

/** The token endpoint's clients by id; undefined without `clients`. */
export function tokenClients(clients: TestIssuerOptions['clients']): Map<string, TestClient> | undefined {
  if (clients === undefined) return undefined;
  const byId = new Map<string, TestClient>();
  for (const client of clients) {
    checkClient(client, 'clients');
    if (byId.has(client.clientId)) throw new TypeError(`koa-token-guard/testing: client ${client.clientId} is listed twice in \`clients\`.`);
    if (client.format !== undefined && client.format !== 'jwt' && client.format !== 'opaque') {
      throw new TypeError(`koa-token-guard/testing: client ${client.clientId}: \`format\` must be 'jwt' or 'opaque'.`);
    }
    checkRedirectUris(client);
    byId.set(client.clientId, { ...client, ...(client.redirectUris === undefined ? {} : { redirectUris: [...client.redirectUris] }) });
  }
  return byId;
}
