// The MCP SDK's own v2 client with DPoP (RFC 9449, SEP-1932): its `OAuthClientProvider.dpop()` hook, here on
// a ClientCredentialsProvider, makes the SDK sign a proof into the token request and present the DPoP-bound
// token with the DPoP scheme and a fresh proof on every MCP request. oidc-provider on loopback issues the
// bound tokens (features.dPoP, resource indicators); serveMcp() behind authenticate({ dpop }) answers with
// this library's DPoP challenges, and the client's scope step-up still works through them.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';
import { Client, ClientCredentialsProvider, DpopSession, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { authenticate, defineScopes, protectedResourceMetadata, type AuthState } from '../../lib/index.js';
import { serveMcp, toolGuard } from '../../lib/mcp/index.js';
import { MemoryAdapter } from '../support/oidc-adapter.js';

const CLIENT = { clientId: 'dpop-agent', clientSecret: 'a-long-enough-client-secret-for-the-mcp-dpop-spec' };
const ALGS = 'RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519';
const scopes = defineScopes({ 'messages:admin': ['messages:read'], 'messages:read': [] });

/** The SDK's ClientCredentialsProvider has no dpop() of its own: implementing the hook is how a client opts in. */
class DpopClientCredentialsProvider extends ClientCredentialsProvider {
  readonly session = DpopSession.create();
  dpop(): Promise<DpopSession> {
    return this.session;
  }
}

interface Exchange { method: string; url: string; status: number; challenge: string | null; authorization: string | null; proof: string | null; mcpMethod: string | null }

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('mcp/dpop (the SDK v2 client with provider.dpop() against serveMcp and oidc-provider)', function () {
  this.timeout(20_000);
  let as: { server: http.Server; origin: string };
  let mcp: { server: http.Server; origin: string };
  let resource: string;
  let metadata: string;
  let exchanges: Exchange[] = [];
  let ran: string[] = [];

  // Innermost fetch of every request the client makes (the SDK wraps it with its DPoP signer), so the
  // headers seen here are the ones sent.
  const recordingFetch: typeof fetch = async (input, init) => {
    const reply = await fetch(input, init);
    const headers = new Headers(init?.headers);
    exchanges.push({
      method: init?.method ?? 'GET', url: input instanceof Request ? input.url : String(input), status: reply.status, challenge: reply.headers.get('www-authenticate'),
      authorization: headers.get('authorization'), proof: headers.get('dpop'), mcpMethod: headers.get('mcp-method'),
    });
    return reply;
  };

  before(async () => {
    let koaHandler: http.RequestListener = (_req, res) => res.end();
    mcp = await listen((req, res) => koaHandler(req, res));
    resource = `${mcp.origin}/mcp`;
    metadata = `${mcp.origin}/.well-known/oauth-protected-resource/mcp`;
    let providerHandler: http.RequestListener = (_req, res) => res.end();
    as = await listen((req, res) => providerHandler(req, res));
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const provider = new Provider(as.origin, {
      adapter: MemoryAdapter,
      clients: [{
        client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [],
        token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'ES256',
      }],
      jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'as-1', alg: 'ES256', use: 'sig' }] },
      cookies: { keys: ['a-cookie-signing-key-for-the-mcp-dpop-spec'] },
      ttl: { ClientCredentials: 300 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        dPoP: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => resource,
          useGrantedResource: () => true,
          // messages:admin is granted only when asked for: the first token lacks it, so the step-up is real.
          getResourceServerInfo: (_ctx, target) => ({
            scope: 'messages:read messages:admin', audience: target, accessTokenTTL: 300, accessTokenFormat: 'jwt' as const, jwt: { sign: { alg: 'ES256' } },
          }),
        },
      },
    });
    const providerCallback = provider.callback();
    providerHandler = (req, res) => void providerCallback(req, res);

    const app = new Koa<AuthState>();
    app.silent = true;
    app.use(protectedResourceMetadata({ resource, authorizationServers: [as.origin], scopesSupported: scopes.names }));
    app.use(authenticate({ issuer: as.origin, audience: resource, resourceMetadata: true, challengeScope: ['messages:read'], dpop: {} }));
    const router = new Router<AuthState>();
    router.all('/mcp', serveMcp(() => {
      const server = new McpServer({ name: 'messages', version: '1.0.0' });
      server.registerTool('read_messages', { scopeChallenge: toolGuard(scopes.requireScopes('messages:read')) }, () => {
        ran.push('read_messages');
        return { content: [{ type: 'text', text: 'hello' }] };
      });
      server.registerTool('purge_messages', { scopeChallenge: toolGuard(scopes.requireScopes('messages:admin')) }, () => {
        ran.push('purge_messages');
        return { content: [{ type: 'text', text: 'purged' }] };
      });
      return server;
    }));
    app.use(router.routes());
    const koaCallback = app.callback();
    koaHandler = (req, res) => void koaCallback(req, res);
  });

  beforeEach(() => {
    exchanges = [];
    ran = [];
  });

  after(async () => {
    await Promise.all([close(mcp.server), close(as.server)]);
  });

  it('gets DPoP-bound tokens, presents them with the DPoP scheme and a proof, and steps up on our DPoP 403', async () => {
    const authProvider = new DpopClientCredentialsProvider({ ...CLIENT, expectedIssuer: as.origin });
    const session = await authProvider.session;
    const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider, fetch: recordingFetch });
    const client = new Client({ name: 'spec', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(transport);
    expect((await client.listTools()).tools.map((t) => t.name)).to.have.members(['read_messages', 'purge_messages']);
    expect(await client.callTool({ name: 'read_messages', arguments: {} })).to.have.deep.property('content', [{ type: 'text', text: 'hello' }]);
    const first = authProvider.tokens()!;
    expect(await client.callTool({ name: 'purge_messages', arguments: {} })).to.have.deep.property('content', [{ type: 'text', text: 'purged' }]);
    const second = authProvider.tokens()!;
    await client.close();
    expect(ran).to.deep.equal(['read_messages', 'purge_messages']);

    const flow = exchanges.map((e) => `${e.method} ${e.url.replace(mcp.origin, 'MCP').replace(as.origin, 'AS')} ${e.mcpMethod ?? '-'} ${e.status}`);
    expect(flow).to.deep.equal([
      'POST MCP/mcp server/discover 401',
      'GET MCP/.well-known/oauth-protected-resource/mcp - 200',
      'GET AS/.well-known/oauth-authorization-server - 404',
      'GET AS/.well-known/openid-configuration - 200',
      'POST AS/token - 200',
      'POST MCP/mcp server/discover 200',
      'POST MCP/mcp tools/list 200',
      'POST MCP/mcp tools/call 200',
      'POST MCP/mcp tools/call 403',
      'GET MCP/.well-known/oauth-protected-resource/mcp - 200',
      'GET AS/.well-known/oauth-authorization-server - 404',
      'GET AS/.well-known/openid-configuration - 200',
      'POST AS/token - 200',
      'POST MCP/mcp tools/call 200',
    ]);
    // Both schemes on the 401, Bearer first (a Bearer client is still served), DPoP naming its algs (RFC 9449 7.1);
    // the client reads scope and resource_metadata from the first challenge.
    expect(exchanges[0]!.challenge).to.equal(`Bearer realm="api", scope="messages:read", resource_metadata="${metadata}", DPoP algs="${ALGS}"`);
    // A DPoP request is refused with the DPoP scheme, naming the one missing scope.
    expect(exchanges[8]!.challenge).to.equal(`DPoP error="insufficient_scope", error_description="requires scope messages:admin", scope="messages:admin", algs="${ALGS}", resource_metadata="${metadata}"`);

    // Both tokens are DPoP-bound to the session's key, the second one stepped up.
    for (const [tokens, scope] of [[first, 'messages:read'], [second, 'messages:read messages:admin']] as const) {
      expect(tokens.token_type).to.equal('DPoP');
      const claims = decodeJwt(tokens.access_token);
      expect([claims.cnf, claims.scope, claims.aud]).to.deep.equal([{ jkt: session.thumbprint }, scope, resource]);
    }
    // Every token request carried a proof; every MCP request after the first 401 carried the token with the DPoP scheme and a proof of the same key.
    expect(exchanges.filter((e) => e.url === `${as.origin}/token`).every((e) => e.proof !== null && e.authorization?.startsWith('Basic '))).to.equal(true);
    const mcpCalls = exchanges.filter((e) => e.url === resource).slice(1);
    expect(mcpCalls).to.have.length(5);
    for (const [i, call] of mcpCalls.entries()) {
      expect(call.authorization).to.equal(`DPoP ${i === 4 ? second.access_token : first.access_token}`);
      const header = decodeProtectedHeader(call.proof!);
      expect([header.typ, await calculateJwkThumbprint(header.jwk as JWK), decodeJwt(call.proof!).htu]).to.deep.equal(['dpop+jwt', session.thumbprint, resource]);
    }
    expect(new Set(mcpCalls.map((call) => decodeJwt(call.proof!).jti)).size).to.equal(mcpCalls.length);
  });

  it("publishes DPoP in the resource's metadata, from authenticate({ dpop })'s configuration (RFC 9728 2)", async () => {
    const document = await (await fetch(metadata)).json() as Record<string, unknown>;
    expect([document.dpop_signing_alg_values_supported, document.dpop_bound_access_tokens_required]).to.deep.equal([ALGS.split(' '), false]);
  });
});
