import { expect } from 'chai';
import Router from '@koa/router';
import {
  authenticate, ConfigurationError, defineScopes, protectedResourceMetadataDocument, requireScopes, requireToken, anyOf,
  type ProtectedResourceMetadataOptions,
} from '../../lib/index.js';
import { uniqueIssuer } from '../support/provider.js';

const AS = 'https://auth.example.com/';
let counter = 0;
/** A resource no other spec registers an authenticate() for. */
const uniqueResource = (): string => `https://api.example.com/mcp-${++counter}-${process.pid}`;

function configurationError(options: Partial<ProtectedResourceMetadataOptions>): string {
  try {
    protectedResourceMetadataDocument({ resource: uniqueResource(), authorizationServers: [AS], ...options });
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigurationError');
}

describe('metadata/document (RFC 9728 2)', () => {
  describe('fields', () => {
    it('publishes resource exactly as configured, the authorization servers and the header method by default', () => {
      const resource = uniqueResource();
      expect(protectedResourceMetadataDocument({ resource, authorizationServers: AS })).to.deep.equal({
        resource,
        authorization_servers: [AS],
        bearer_methods_supported: ['header'],
      });
    });

    it('keeps a pathless resource without the slash URL parsing would add', () => {
      const doc = protectedResourceMetadataDocument({ resource: 'https://api.example.com', authorizationServers: [AS, 'https://other.example.com'] });
      expect(doc.resource).to.equal('https://api.example.com');
      expect(doc.authorization_servers).to.deep.equal([AS, 'https://other.example.com']);
    });

    it('publishes scopes_supported from a list such as defineScopes().names', () => {
      const scopes = defineScopes(['messages:read', 'messages:write'] as const);
      const doc = protectedResourceMetadataDocument({ resource: uniqueResource(), authorizationServers: [AS], scopesSupported: scopes.names });
      expect(doc.scopes_supported).to.deep.equal(['messages:read', 'messages:write']);
    });

    it("publishes scopes_supported from a router: the scopes its routes' guards require, routes added later included", () => {
      const router = new Router();
      router.use(requireToken());
      router.get('/a', requireScopes('messages:read'), () => undefined);
      const options = { resource: uniqueResource(), authorizationServers: [AS], scopesSupported: router };
      router.post('/b', anyOf(requireScopes(['messages:write', 'messages:admin'], { match: 'any' }), requireScopes('messages:read')), () => undefined);
      expect(protectedResourceMetadataDocument(options).scopes_supported).to.deep.equal(['messages:read', 'messages:write', 'messages:admin']);
    });

    it('publishes the optional descriptive fields and any further field', () => {
      const doc = protectedResourceMetadataDocument({
        resource: 'https://api.example.com/docs-only',
        authorizationServers: [AS],
        resourceName: 'Messages API',
        resourceDocumentation: 'https://docs.example.com/messages',
        resourcePolicyUri: 'https://example.com/policy',
        resourceTosUri: 'https://example.com/tos',
        jwksUri: 'https://api.example.com/jwks.json',
        authorizationDetailsTypesSupported: ['payment_initiation'],
        fields: { resource_signing_alg_values_supported: ['ES256'], x_vendor: { tier: 'gold' } },
      });
      expect(doc).to.deep.include({
        resource_name: 'Messages API',
        resource_documentation: 'https://docs.example.com/messages',
        resource_policy_uri: 'https://example.com/policy',
        resource_tos_uri: 'https://example.com/tos',
        jwks_uri: 'https://api.example.com/jwks.json',
        authorization_details_types_supported: ['payment_initiation'],
        resource_signing_alg_values_supported: ['ES256'],
        x_vendor: { tier: 'gold' },
      });
    });
  });

  describe('fields derived from authenticate()', () => {
    const base = { issuer: uniqueIssuer(), jwksUri: 'https://keys.example.com/jwks' };

    it('bearer_methods_supported lists the token locations the authenticate() for the resource accepts', () => {
      const resource = uniqueResource();
      authenticate({ ...base, audience: resource, allowQueryToken: true, allowBodyToken: true });
      expect(protectedResourceMetadataDocument({ resource, authorizationServers: [AS] }).bearer_methods_supported).to.deep.equal(['header', 'body', 'query']);
    });

    it('an empty bearer_methods_supported when getToken replaces the RFC 6750 methods', () => {
      const resource = uniqueResource();
      authenticate({ ...base, audience: resource, getToken: () => undefined });
      expect(protectedResourceMetadataDocument({ resource, authorizationServers: [AS] }).bearer_methods_supported).to.deep.equal([]);
    });

    it('reads the authenticate() passed explicitly, and refuses one whose audience is not the resource', () => {
      const resource = uniqueResource();
      const auth = authenticate({ ...base, audience: [resource, 'legacy-client'], allowBodyToken: true });
      expect(protectedResourceMetadataDocument({ resource, authorizationServers: [AS], authenticate: auth }).bearer_methods_supported)
        .to.deep.equal(['header', 'body']);
      const other = authenticate({ ...base, audience: 'https://elsewhere.example.com' });
      expect(configurationError({ resource, authenticate: other })).to.match(/not the resource .* Add it to `audience`/);
      expect(configurationError({ authenticate: () => undefined })).to.match(/must be the middleware authenticate\(\) returned/);
    });

    it('DPoP and mTLS fields when authenticate() configures them (read structurally)', () => {
      const resource = uniqueResource();
      const options = { ...base, audience: resource, dpop: { required: true, algorithms: ['ES256', 'EdDSA'] }, mtls: {} };
      authenticate(options as Parameters<typeof authenticate>[0]);
      expect(protectedResourceMetadataDocument({ resource, authorizationServers: [AS] })).to.deep.include({
        dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
        dpop_bound_access_tokens_required: true,
        tls_client_certificate_bound_access_tokens: true,
      });
    });

    it('merges several authenticate()s for one resource: supported if any accepts, required only if all require', () => {
      const resource = uniqueResource();
      authenticate({ ...base, audience: resource, dpop: { required: true, algorithms: ['ES256'] } });
      authenticate({ ...base, audience: resource, allowQueryToken: true, dpop: { algorithms: ['PS256'] } });
      const doc = protectedResourceMetadataDocument({ resource, authorizationServers: [AS] });
      expect(doc).to.deep.include({ bearer_methods_supported: ['header', 'query'], dpop_signing_alg_values_supported: ['ES256', 'PS256'], dpop_bound_access_tokens_required: false });
      expect(doc).not.to.have.property('tls_client_certificate_bound_access_tokens');
    });

    it('refuses derived fields in `fields`, so they cannot disagree with what is enforced', () => {
      for (const field of ['bearer_methods_supported', 'resource', 'scopes_supported', 'dpop_bound_access_tokens_required', 'tls_client_certificate_bound_access_tokens']) {
        expect(configurationError({ fields: { [field]: [] } }), field).to.match(/derived from the configuration/);
      }
      expect(configurationError({ fields: { resource_name: 'x' } })).to.match(/use `resourceName`/);
    });
  });

  describe('configuration errors (at startup)', () => {
    it('needs at least one authorization server, each an https issuer identifier', () => {
      expect(configurationError({ authorizationServers: [] })).to.match(/`authorizationServers` must list at least one issuer/);
      expect(configurationError({ authorizationServers: undefined as unknown as string[] })).to.match(/at least one issuer/);
      expect(configurationError({ authorizationServers: ['http://auth.example.com/'] })).to.match(/https URL \(http only on loopback\)/);
      expect(configurationError({ authorizationServers: ['https://auth.example.com/?tenant=1'] })).to.match(/without query or fragment/);
      expect(configurationError({ authorizationServers: ['auth.example.com'] })).to.match(/absolute https URL/);
    });

    it('refuses a resource with a fragment, a query, http off loopback, or not absolute', () => {
      expect(configurationError({ resource: 'https://api.example.com/mcp#x' })).to.match(/must not contain a fragment \(RFC 8707 2\)/);
      expect(configurationError({ resource: 'https://api.example.com/mcp?v=1' })).to.match(/must not contain a query/);
      expect(configurationError({ resource: 'http://api.example.com/mcp' })).to.match(/must be an https URL \(http only on loopback/);
      expect(configurationError({ resource: '/mcp' })).to.match(/must be an absolute URL/);
      expect(configurationError({ resource: 'urn:example:api' })).to.match(/must be an https URL/);
    });

    it('accepts an http resource on loopback, for development', () => {
      expect(protectedResourceMetadataDocument({ resource: 'http://127.0.0.1:3000/mcp', authorizationServers: ['http://localhost:4000'] }).resource)
        .to.equal('http://127.0.0.1:3000/mcp');
    });

    it('checks scopes, descriptive URLs, cacheMaxAge and the router', () => {
      expect(configurationError({ scopesSupported: ['a b'] })).to.match(/RFC 6749 3.3/);
      expect(configurationError({ resourceDocumentation: 'docs' })).to.match(/`resourceDocumentation` must be an absolute https URL/);
      expect(configurationError({ cacheMaxAge: -1 })).to.match(/`cacheMaxAge` must be a whole number of seconds/);
      expect(configurationError({ scopesSupported: {} })).to.match(/describeRoutes\(\) expects a @koa\/router Router/);
    });
  });
});
