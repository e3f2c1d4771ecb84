import { expect } from 'chai';
import type { TokenGuardEvent } from '../../lib/index.js';
import { signingKey } from '../support/provider.js';
import { rejection } from '../support/rejection.js';
import { useServer } from './support.js';

const now = (): number => Math.floor(Date.now() / 1000);

describe('introspection/jwt-response (RFC 9701)', () => {
  const setup = useServer();
  const signed = () => setup.introspectorFor({}, { jwtResponse: true });

  it('asks for application/token-introspection+jwt and takes the claims from a verified token_introspection', async () => {
    const { server } = setup;
    const established = await signed()(server.issue({ scope: 'read:messages' }));
    expect(server.requests[0]!.headers.accept).to.equal('application/token-introspection+jwt');
    expect(established.source).to.equal('introspection');
    expect(established.claims.sub).to.equal('user-1');
    expect([...established.scopes]).to.deep.equal(['read:messages']);
  });

  it("verifies with the issuer's key set object the JWT verifier uses: no second JWKS", async () => {
    const { server } = setup;
    let jwks = 0;
    const fetchCounting: typeof fetch = (input, init) => {
      if (String(input instanceof Request ? input.url : input).endsWith('/jwks')) jwks++;
      return fetch(input, init);
    };
    const introspect = setup.introspectorFor({ fetch: fetchCounting }, { jwtResponse: true });
    await introspect(server.issue());
    await introspect(server.issue());
    expect(jwks).to.equal(1);
  });

  it('still refuses an inactive answer with 401 token_inactive', async () => {
    const error = await rejection(signed()('never-issued'));
    expect([error.status, error.code]).to.deep.equal([401, 'token_inactive']);
  });

  const variants: [string, (server: typeof setup.server) => Promise<void> | void][] = [
    ['a plain JSON answer (a downgrade)', (s) => { s.override = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"active":true}' }); }],
    ['a wrong typ', (s) => { s.jwt.header = { typ: 'JWT' }; }],
    ['no typ', (s) => { s.jwt.header = { typ: undefined }; }],
    ['another iss', (s) => { s.jwt.claims = { iss: 'https://evil.example.com/' }; }],
    ['an aud other than our client id', (s) => { s.jwt.claims = { aud: 'another-client' }; }],
    ['no iat', (s) => { s.jwt.claims = { iat: undefined }; }],
    ['an old iat (a replayed answer)', (s) => { s.jwt.claims = { iat: now() - 600 }; }],
    ['a key outside the issuer\'s key set', async (s) => { s.jwt.key = await signingKey('ES256', 'rogue-introspection'); }],
    ['no token_introspection member', (s) => { s.jwt.claims = { token_introspection: undefined }; }],
    ['a token_introspection that is not an object', (s) => { s.jwt.claims = { token_introspection: 'active' }; }],
    ['something that is not a JWT', (s) => { s.override = () => ({ status: 200, headers: { 'content-type': 'application/token-introspection+jwt' }, body: 'not-a-jwt' }); }],
  ];
  for (const [name, arrange] of variants) {
    it(`answers 503 introspection_unavailable for ${name}, never 401`, async () => {
      const { server } = setup;
      const token = server.issue();
      await arrange(server);
      const events: TokenGuardEvent[] = [];
      const error = await rejection(setup.introspectorFor({ onEvent: (e) => events.push(e) }, { jwtResponse: true })(token));
      expect([error.status, error.code]).to.deep.equal([503, 'introspection_unavailable']);
      expect(events.find((e) => e.type === 'introspection_failed')).to.deep.include({ failure: 'jwt_invalid' });
    });
  }
});
