// A JWT bound both ways (cnf.jkt and cnf["x5t#S256"]) over real TLS with DPoP: RFC 9449 and RFC 8705 both hold,
// so it passes only with the right client certificate AND a proof of the right key.
import { expect } from 'chai';
import Koa from 'koa';
import { authenticate, certificateThumbprint, type AuthState } from '../../lib/index.js';
import { createDpopKey, createTestIssuer, type TestDpopKey, type TestIssuer } from '../../lib/testing/index.js';
import { clientCertificate, type ClientCertificate } from '../support/certificates.js';
import { tlsServer, type TlsServer } from '../support/tls.js';
import { ALGS } from '../dpop/support.js';

const audience = 'https://api.example.com';
const dpopChallenge = (error: string, description: string): string => `DPoP error="${error}", error_description="${description}", algs="${ALGS}"`;

describe('e2e: a token bound to a DPoP key and a client certificate, over real TLS', () => {
  let issuer: TestIssuer;
  let key: TestDpopKey;
  let thief: TestDpopKey;
  let a: ClientCertificate;
  let b: ClientCertificate;
  let server: TlsServer;
  let token: string;
  before(async () => {
    [issuer, key, thief, a, b] = await Promise.all([
      createTestIssuer({ audience }), createDpopKey(), createDpopKey(), clientCertificate('client-a'), clientCertificate('client-b'),
    ]);
    const app = new Koa<AuthState>();
    app.silent = true;
    app.use(authenticate({ issuer: issuer.issuer, audience, dpop: {}, mtls: {} }));
    app.use((ctx) => {
      ctx.body = { dpop: ctx.state.auth?.dpop ?? null, mtls: ctx.state.auth?.mtls ?? null };
    });
    server = await tlsServer(app);
    token = await issuer.sign({}, { dpopKey: key, certificate: a.pem });
  });
  after(async () => {
    await server.close();
    await issuer.close();
  });

  const url = (): string => `https://127.0.0.1:${server.port}/orders`;
  const withProof = async (by = key): Promise<Record<string, string>> => ({
    authorization: `DPoP ${token}`, dpop: await by.proof({ method: 'GET', url: url(), accessToken: token }),
  });
  const refusal = async (certificate: ClientCertificate | undefined, headers: Record<string, string>): Promise<[number, unknown]> => {
    const reply = await server.get('/orders', { certificate, headers });
    return [reply.status, reply.headers['www-authenticate']];
  };

  it('passes with certificate A and a proof of its key: 200 with both bindings in ctx.state.auth', async () => {
    const reply = await server.get('/orders', { certificate: a, headers: await withProof() });
    expect([reply.status, reply.json()]).to.deep.equal([200, { dpop: { jkt: key.jkt }, mtls: { thumbprint: certificateThumbprint(a.der) } }]);
  });

  it('refuses the right proof without a certificate, or from certificate B', async () => {
    // Presented with the DPoP scheme, so the challenge is a DPoP one (RFC 9449 7.1), naming the certificate.
    expect(await refusal(undefined, await withProof())).to.deep.equal([401, dpopChallenge('invalid_token', 'client certificate required')]);
    expect(await refusal(b, await withProof())).to.deep.equal([401, dpopChallenge('invalid_token', 'client certificate does not match the token')]);
  });

  it('refuses certificate A without a proof, as Bearer, or with another key’s proof', async () => {
    expect(await refusal(a, { authorization: `DPoP ${token}` })).to.deep.equal([401, dpopChallenge('invalid_dpop_proof', 'DPoP proof missing')]);
    expect(await refusal(a, { authorization: `Bearer ${token}` })).to.deep.equal([
      401, `Bearer realm="api", error="invalid_token", error_description="token bound to a DPoP key needs a DPoP proof", DPoP algs="${ALGS}"`,
    ]);
    expect(await refusal(a, await withProof(thief))).to.deep.equal([401, dpopChallenge('invalid_dpop_proof', 'DPoP proof key does not match the token')]);
  });

  it('refuses a replayed proof even with certificate A', async () => {
    const headers = await withProof();
    expect((await server.get('/orders', { certificate: a, headers })).status).to.equal(200);
    expect(await refusal(a, headers)).to.deep.equal([401, dpopChallenge('invalid_dpop_proof', 'DPoP proof already used')]);
  });
});
