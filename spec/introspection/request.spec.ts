import { expect } from 'chai';
import { KeyObject } from 'node:crypto';
import { decodeJwt, exportJWK, generateKeyPair, type JWK } from 'jose';
import { useServer } from './support.js';
import { introspectionServer } from '../support/introspection-server.js';
import { clearKeySets, createIntrospector } from '../../lib/index.js';

describe('introspection/request', () => {
  const setup = useServer();

  it('POSTs token and token_type_hint=access_token with HTTP Basic client authentication (RFC 7662 2.1, RFC 6749 2.3.1)', async () => {
    const { server } = setup;
    const token = server.issue();
    const established = await setup.introspectorFor()(token);
    expect(established.source).to.equal('introspection');
    expect(server.requests).to.have.length(1);
    const [request] = server.requests;
    expect(request!.method).to.equal('POST');
    expect(request!.headers['content-type']).to.equal('application/x-www-form-urlencoded');
    expect(request!.headers.accept).to.equal('application/json');
    expect([...request!.params.keys()]).to.deep.equal(['token', 'token_type_hint']);
    expect(request!.params.get('token')).to.equal(token);
    expect(request!.params.get('token_type_hint')).to.equal('access_token');
    // The secret has characters that RFC 6749 2.3.1 form-encodes before joining.
    const expected = `${encodeURIComponent(server.clientId)}:${encodeURIComponent(server.clientSecret).replace(/%20/g, '+').replace(/'/g, '%27')}`;
    expect(request!.headers.authorization).to.equal(`Basic ${Buffer.from(expected).toString('base64')}`);
  });

  it('finds the endpoint in the metadata the key set already discovered: one discovery request in all', async () => {
    const { server } = setup;
    const introspect = setup.introspectorFor();
    await introspect(server.issue());
    await introspect(server.issue());
    expect(server.discoveryCount()).to.equal(1);
  });

  it('sends client_id and client_secret in the body with client_secret_post, and no Authorization header', async () => {
    const { server } = setup;
    const token = server.issue();
    await setup.introspectorFor({}, { clientAuth: 'client_secret_post' })(token);
    const [request] = server.requests;
    expect(request!.headers.authorization).to.equal(undefined);
    expect(Object.fromEntries(request!.params)).to.deep.equal({
      token, token_type_hint: 'access_token', client_id: server.clientId, client_secret: server.clientSecret,
    });
  });

  it('uses a configured endpoint as is, without any discovery', async () => {
    const { server } = setup;
    await setup.introspectorFor({ jwksUri: `${server.issuer}jwks` }, { endpoint: server.endpoint })(server.issue());
    expect(server.requests).to.have.length(1);
    expect(server.discoveryCount()).to.equal(0);
  });
});

describe('introspection/request: private_key_jwt (RFC 7523)', () => {
  for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
    it(`authenticates with a fresh ${alg} client assertion per call: iss = sub = clientId, aud = the issuer, jti, short exp`, async () => {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const publicJwk: JWK = { ...(await exportJWK(publicKey)), alg };
      const server = await introspectionServer({ clientPublicJwk: publicJwk });
      try {
        // A private JWK, a CryptoKey and a KeyObject.
        for (const key of [await exportJWK(privateKey), privateKey, KeyObject.from(privateKey)]) {
          const introspect = createIntrospector({
            issuer: server.issuer, audience: server.audience,
            introspection: { clientId: server.clientId, clientAuth: 'private_key_jwt', privateKey: key },
          });
          await introspect(server.issue());
          await introspect(server.issue());
        }
        expect(server.requests).to.have.length(6);
        const assertions = new Set(server.requests.map((r) => r.params.get('client_assertion')));
        expect(assertions.size).to.equal(6);
        for (const request of server.requests) {
          expect(request.headers.authorization).to.equal(undefined);
          expect(request.params.get('client_id')).to.equal(server.clientId);
          expect(request.params.has('client_secret')).to.be.false;
        }
      } finally {
        await server.close();
        clearKeySets(server.issuer);
      }
    });
  }

  it('names the endpoint URL as the assertion audience with assertionAudience: \'endpoint\' (Okta), the issuer by default', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const clientPublicJwk: JWK = { ...(await exportJWK(publicKey)), alg: 'ES256' };
    for (const assertionAudience of ['endpoint', 'issuer', undefined] as const) {
      const server = await introspectionServer({ clientPublicJwk, assertionAudience: assertionAudience ?? 'issuer' });
      try {
        const introspect = createIntrospector({
          issuer: server.issuer, audience: server.audience,
          introspection: { clientId: server.clientId, clientAuth: 'private_key_jwt', privateKey, assertionAudience },
        });
        expect((await introspect(server.issue())).source).to.equal('introspection');
        const aud = decodeJwt(server.requests[0]!.params.get('client_assertion')!).aud;
        expect(aud, String(assertionAudience)).to.equal(assertionAudience === 'endpoint' ? server.endpoint : server.issuer);
      } finally {
        await server.close();
        clearKeySets(server.issuer);
      }
    }
  });

  it('is refused by the server when signed with another key: 503 introspection_unavailable, not 401', async () => {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const other = await generateKeyPair('ES256', { extractable: true });
    const server = await introspectionServer({ clientPublicJwk: { ...(await exportJWK(publicKey)), alg: 'ES256' } });
    try {
      const introspect = createIntrospector({
        issuer: server.issuer, audience: server.audience,
        introspection: { clientId: server.clientId, clientAuth: 'private_key_jwt', privateKey: other.privateKey },
      });
      const error = await introspect(server.issue()).then(() => undefined, (e: unknown) => e as { status: number; code: string });
      expect(error?.status).to.equal(503);
      expect(error?.code).to.equal('introspection_unavailable');
    } finally {
      await server.close();
      clearKeySets(server.issuer);
    }
  });
});
