import { expect } from 'chai';
import { AUTH_CONTEXT, mcpAuthInfo } from '../../lib/index.js';

function contextWith(claims: Record<string, unknown> | undefined, audiences?: string[]): { state: Record<string | symbol, unknown> } {
  const state: Record<string | symbol, unknown> = { [AUTH_CONTEXT]: { realm: 'api', audiences } };
  if (claims !== undefined) state.auth = { token: 'the-token', header: { alg: 'ES256' }, claims, scopes: new Set(['messages:read', 'messages:write']) };
  return { state };
}

describe('koa/mcpAuthInfo', () => {
  const resource = 'https://api.example.com/mcp';

  it("maps ctx.state.auth to the MCP SDK's AuthInfo", () => {
    const claims = { sub: 'agent-1', client_id: 'agent', exp: 1_800_000_000, aud: resource };
    expect(mcpAuthInfo(contextWith(claims, [resource]))).to.deep.equal({
      token: 'the-token', clientId: 'agent', scopes: ['messages:read', 'messages:write'], expiresAt: 1_800_000_000,
      resource: new URL(resource), extra: { sub: 'agent-1', claims },
    });
  });

  it('takes the resource from the aud value authenticate() accepted, and clientId from azp without client_id', () => {
    const info = mcpAuthInfo(contextWith({ azp: 'spa', aud: ['https://other.example.com', resource] }, [resource]));
    expect([info?.clientId, info?.resource?.href]).to.deep.equal(['spa', resource]);
  });

  it('leaves out what the token does not say', () => {
    const info = mcpAuthInfo(contextWith({ client_id: 'agent' }, [resource]));
    expect(info).to.deep.equal({ token: 'the-token', clientId: 'agent', scopes: ['messages:read', 'messages:write'], extra: { sub: undefined, claims: { client_id: 'agent' } } });
    expect(mcpAuthInfo(contextWith({ aud: 'https://other.example.com/' }, [resource]))?.resource).to.equal(undefined);
    expect(mcpAuthInfo(contextWith({ aud: 'urn:example:api' }, ['urn:example:api']))?.resource?.href).to.equal('urn:example:api');
  });

  it('is undefined when no token came (authenticate({ optional: true }))', () => {
    expect(mcpAuthInfo(contextWith(undefined))).to.equal(undefined);
  });
});
