import { expect } from 'chai';
import { discover } from '../../lib/keys/discovery.js';
import { KeySourceError } from '../../lib/keys/fetch.js';

describe('keys/discovery', () => {
  const issuer = 'http://127.0.0.1:8080/';
  const answering = (jwksUri: string): typeof fetch => () => Promise.resolve(new Response(JSON.stringify({ issuer, jwks_uri: jwksUri })));
  const options = (jwksUri: string, allowInsecureHttp: boolean) => ({ fetch: answering(jwksUri), timeout: 5, maxBytes: 4096, allowInsecureHttp });

  it('refuses a jwks_uri on plain http off loopback from a loopback issuer, as for a configured URL (shape)', async () => {
    const failure = await discover(issuer, options('http://keys.example/jwks', false)).catch((e: unknown) => e);
    expect(failure).to.be.instanceOf(KeySourceError).and.to.include({ reason: 'shape' });
  });

  it('takes it with allowInsecureHttp, and an http jwks_uri on loopback without', async () => {
    expect((await discover(issuer, options('http://keys.example/jwks', true))).jwks_uri).to.equal('http://keys.example/jwks');
    expect((await discover(issuer, options('http://localhost:8081/jwks', false))).jwks_uri).to.equal('http://localhost:8081/jwks');
  });
});
