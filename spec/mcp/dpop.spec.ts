// The MCP SDK's own v2 client with DPoP (RFC 9449, SEP-1932): its `OAuthClientProvider.dpop()` hook, here on
// a ClientCredentialsProvider, makes the SDK sign a proof into the token request and present the DPoP-bound
// token with the DPoP scheme and a fresh proof on every MCP request. oidc-provider on loopback issues the
// bound tokens (features.dPoP, resource indicators); serveMcp() behind authenticate({ dpop }) answers with
// this library's DPoP challenges, and the client's scope step-up still works through them.
import { expect } from 'chai';
import type http from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { Client, ClientCredentialsProvider, DpopSession, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { McpServer } from '@modelcontextprotocol/server';
import { authenticate, defineScopes, protectedResourceMetadata, type AuthState } from '../../lib/index.js';
import { serveMcp, toolGuard } from '../../lib/mcp/index.js';
import { clientCredentialsServer, listen, type Listening } from '../support/client-credentials-server.js';
import { ALGS } from '../dpop/support.js';

const CLIENT = { clientId: 'dpop-agent', clientSecret: 'a-long-enough-client-secret-for-the-mcp-dpop-spec' };
const scopes = defineScopes({ 'messages:admin': ['messages:read'], 'messages:read': [] });

/** The SDK's ClientCredentialsProvider has no dpop() of its own: implementing the hook is how a client opts in. */
class DpopClientCredentialsProvider extends ClientCredentialsProvider {
  readonly session = DpopSession.create();
  dpop(): Promise<DpopSession> {
    return this.session;
  }
}

interface Exchange { method: string; url: string; status: number; challenge: string | null; authorization: string | null; proof: string | null; mcpMethod: string | null }

describe('mcp/dpop (the SDK v2 client with provider.dpop() against serveMcp and oidc-provider)', function () {
  this.timeout(20_000);
  let as: Listening;
  let mcp: Listening;
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
    // messages:admin is granted only when asked for: the first token lacks it, so the step-up is real.
    as = await clientCredentialsServer({ client: CLIENT, scope: 'messages:read messages:admin', defaultResource: () => resource, dpop: true });

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
    await Promise.all([mcp.close(), as.close()]);
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
