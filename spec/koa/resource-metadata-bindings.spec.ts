// RFC 9728 metadata derived from the DPoP and mTLS options that authenticate() really enforces, and the
// 401 that points clients to it (RFC 9728 5.1) in the challenge they are offered (RFC 9449 7.1).
import { expect } from 'chai';
import Koa from 'koa';
import { authenticate, protectedResourceMetadata, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { createDpopKey, createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { bearer } from '../support/http.js';
import { dpop, serve, type Served } from '../dpop/support.js';

const PATH = 'metadata-bindings-spec';

describe('koa: protectedResourceMetadata derived from authenticate({ dpop, mtls, resourceMetadata: true })', () => {
  let issuer: TestIssuer;
  const served: Served[] = [];
  before(async () => {
    issuer = await createTestIssuer({ audience: 'https://api.example.com' });
  });
  after(async () => issuer.close());
  afterEach(async () => {
    await Promise.all(served.splice(0).map((s) => s.close()));
  });

  /** An API at its own resource identifier (the metadata registry is per resource), with the metadata in front. */
  async function start(name: string, options: Partial<AuthenticateOptions>): Promise<{ s: Served; resource: string; metadataUrl: string }> {
    const resource = `https://api.example.com/${PATH}-${name}`;
    const app = new Koa<AuthState>();
    app.silent = true;
    app.use(protectedResourceMetadata({ resource, authorizationServers: [issuer.issuer] }));
    app.use(authenticate({ issuer: issuer.issuer, audience: resource, resourceMetadata: true, ...options }));
    app.use((ctx) => {
      ctx.body = { jkt: ctx.state.auth?.dpop?.jkt ?? null };
    });
    const s = await serve(app);
    served.push(s);
    return { s, resource, metadataUrl: `https://api.example.com/.well-known/oauth-protected-resource/${PATH}-${name}` };
  }

  it('publishes dpop_signing_alg_values_supported, dpop_bound_access_tokens_required and tls_client_certificate_bound_access_tokens', async () => {
    const { s, resource } = await start('required', { dpop: { algorithms: ['ES256', 'EdDSA'], required: true }, mtls: {} });
    const reply = await s.send(`/.well-known/oauth-protected-resource/${PATH}-required`);
    expect([reply.status, reply.json()]).to.deep.equal([200, {
      resource,
      authorization_servers: [issuer.issuer],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      dpop_bound_access_tokens_required: true,
      tls_client_certificate_bound_access_tokens: true,
    }]);
  });

  it('with required: true, a 401 without credentials offers only a DPoP challenge, carrying resource_metadata', async () => {
    const { s, metadataUrl } = await start('challenge-required', { dpop: { algorithms: ['ES256', 'EdDSA'], required: true }, mtls: {} });
    const reply = await s.send('/orders');
    // RFC 9449 7.1: a DPoP-only resource challenges with DPoP; errors.ts puts resource_metadata there when no Bearer challenge is offered.
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, `DPoP algs="ES256 EdDSA", resource_metadata="${metadataUrl}"`]);
  });

  it('with required: false, resource_metadata rides on the leading Bearer challenge, DPoP algs after it', async () => {
    const { s, metadataUrl } = await start('challenge-optional', { dpop: { algorithms: ['ES256', 'EdDSA'] }, mtls: {} });
    const document = (await s.send(`/.well-known/oauth-protected-resource/${PATH}-challenge-optional`)).json();
    expect(document).to.deep.include({ dpop_bound_access_tokens_required: false, tls_client_certificate_bound_access_tokens: true });
    const reply = await s.send('/orders');
    expect([reply.status, reply.headers['www-authenticate']]).to.deep.equal([401, `Bearer realm="api", resource_metadata="${metadataUrl}", DPoP algs="ES256 EdDSA"`]);
  });

  it('enforces what it publishes: a bound token with its ES256 proof passes, a Bearer token and an ES384 proof do not', async () => {
    const { s, resource, metadataUrl } = await start('enforced', { dpop: { algorithms: ['ES256', 'EdDSA'], required: true }, mtls: {} });
    const [key, es384] = await Promise.all([createDpopKey(), createDpopKey('ES384')]);
    const token = await issuer.sign({ aud: resource }, { dpopKey: key });
    const good = await s.send('/orders', { headers: dpop(token, await key.proof({ method: 'GET', url: `${s.origin}/orders`, accessToken: token })) });
    expect([good.status, good.json()]).to.deep.equal([200, { jkt: key.jkt }]);
    const plain = await s.send('/orders', { headers: bearer(await issuer.sign({ aud: resource })) });
    expect([plain.status, plain.headers['www-authenticate']]).to.deep.equal([
      401, `DPoP error="invalid_token", error_description="DPoP proof required", algs="ES256 EdDSA", resource_metadata="${metadataUrl}"`,
    ]);
    const other = await issuer.sign({ aud: resource }, { dpopKey: es384 });
    const wrongAlg = await s.send('/orders', { headers: dpop(other, await es384.proof({ method: 'GET', url: `${s.origin}/orders`, accessToken: other })) });
    expect([wrongAlg.status, wrongAlg.headers['www-authenticate']]).to.deep.equal([
      401, `DPoP error="invalid_dpop_proof", error_description="DPoP proof algorithm not allowed", algs="ES256 EdDSA", resource_metadata="${metadataUrl}"`,
    ]);
  });
});
