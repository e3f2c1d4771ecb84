import { expect } from 'chai';
import { useServer } from './support.js';
import { rejection } from '../support/rejection.js';

const now = (): number => Math.floor(Date.now() / 1000);

describe('introspection/response', () => {
  const setup = useServer();

  it('accepts an active answer: source introspection, no header, the answer as claims, scopes parsed, frozen', async () => {
    const { server } = setup;
    const token = server.issue({ scope: 'read:messages write:messages', permissions: ['admin'] });
    const established = await setup.introspectorFor({ scopeClaims: ['permissions'] })(token);
    expect(established.source).to.equal('introspection');
    expect(established.token).to.equal(token);
    expect(established.header).to.equal(undefined);
    expect(established.claims.sub).to.equal('user-1');
    expect(established.claims.iss).to.equal(server.issuer);
    expect([...established.scopes]).to.deep.equal(['read:messages', 'write:messages', 'admin']);
    expect(Object.isFrozen(established) && Object.isFrozen(established.claims)).to.be.true;
  });

  it('gives an answer without iss the configured issuer (resolveUser keys by issuer + sub, fetchUserInfo finds its endpoint by it)', async () => {
    const { server } = setup;
    const established = await setup.introspectorFor()(server.issue({ iss: undefined }));
    expect(established.claims.iss).to.equal(server.issuer);
  });

  const refusals: [string, Record<string, unknown>, string][] = [
    ['active false', { active: false }, 'token_inactive'],
    ['active "true" (a string, not the boolean)', { active: 'true' }, 'token_inactive'],
    ['active 1', { active: 1 }, 'token_inactive'],
    ['another issuer', { iss: 'https://evil.example.com/' }, 'issuer_invalid'],
    ['a null iss (not an absent one)', { iss: null }, 'issuer_invalid'],
    ['another audience', { aud: 'https://other.example.com' }, 'audience_invalid'],
    ['no audience', { aud: undefined }, 'claim_missing'],
    ['expired', { exp: now() - 60 }, 'token_expired'],
    ['not yet valid', { nbf: now() + 600 }, 'token_not_yet_valid'],
    ['issued in the future', { iat: now() + 600 }, 'claim_invalid'],
    ['a non-numeric exp', { exp: 'tomorrow' }, 'claim_invalid'],
    ['a non-string sub', { sub: 42 }, 'claim_invalid'],
    ['a refresh token', { token_type: 'refresh_token' }, 'typ_invalid'],
    ['an RFC 8693 refresh token type', { token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, 'typ_invalid'],
    ['an ID token type', { token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'typ_invalid'],
    ['a refresh token by Ory Hydra\'s token_use', { token_use: 'refresh_token' }, 'typ_invalid'],
    ['a refresh token by token_use, without token_type', { token_use: 'refresh_token', token_type: undefined }, 'typ_invalid'],
    ['an unknown token_use', { token_use: 'id_token' }, 'typ_invalid'],
    ['a non-string token_use', { token_use: ['access_token'] }, 'claim_invalid'],
    ['a malformed scope', { scope: ['read:messages'] }, 'scope_claim_invalid'],
    // One NumericDate rule for every time member (lib/core/numeric-date.ts): finite, 0 to 9999-12-31.
    ['an exp after 9999-12-31', { exp: 253_402_300_800 }, 'claim_invalid'],
    ['a negative nbf', { nbf: -1 }, 'claim_invalid'],
    ['a non-numeric auth_time', { auth_time: 'yesterday' }, 'claim_invalid'],
    ['a null auth_time', { auth_time: null }, 'claim_invalid'],
    // RFC 9449 6.2: a DPoP token's answer carries its binding; without one it would pass as a plain bearer token.
    ['token_type DPoP without cnf', { token_type: 'DPoP' }, 'claim_missing'],
    ['token_type dpop with a cnf but no jkt', { token_type: 'dpop', cnf: { 'x5t#S256': 'abc' } }, 'claim_missing'],
  ];
  for (const [name, members, code] of refusals) {
    it(`refuses ${name}: 401 invalid_token, code ${code}`, async () => {
      const { server } = setup;
      const token = server.issue();
      const answer = { ...Object.fromEntries(Object.entries({ active: true, iss: server.issuer, aud: server.audience, sub: 'user-1', token_type: 'Bearer', exp: now() + 300, ...members }).filter(([, v]) => v !== undefined)) };
      server.answer(token, answer);
      const error = await rejection(setup.introspectorFor()(token));
      expect([error.status, error.error, error.code]).to.deep.equal([401, 'invalid_token', code]);
    });
  }

  for (const type of ['Bearer', 'bearer', 'DPoP', 'access_token', 'urn:ietf:params:oauth:token-type:access_token']) {
    it(`accepts token_type ${type}`, async () => {
      const { server } = setup;
      // A DPoP token comes with its binding (the binding itself is checked per request, after the cache).
      const cnf = type === 'DPoP' ? { jkt: 'x'.repeat(43) } : undefined;
      expect((await setup.introspectorFor()(server.issue({ token_type: type, cnf }))).claims.sub).to.equal('user-1');
    });
  }

  it('accepts Ory Hydra\'s token_use access_token, with or without token_type', async () => {
    const { server } = setup;
    for (const type of ['Bearer', undefined]) {
      expect((await setup.introspectorFor()(server.issue({ token_use: 'access_token', token_type: type }))).claims.sub).to.equal('user-1');
    }
  });

  it('accepts an answer without token_type, exp or iat (all optional in RFC 7662 2.2)', async () => {
    const { server } = setup;
    expect((await setup.introspectorFor()(server.issue({ token_type: undefined, exp: undefined, iat: undefined }))).source).to.equal('introspection');
  });

  it('accepts an answer without aud with requireAudience: false, and still checks a present one', async () => {
    const { server } = setup;
    const introspect = setup.introspectorFor({}, { requireAudience: false });
    expect((await introspect(server.issue({ aud: undefined }))).claims.sub).to.equal('user-1');
    expect((await rejection(introspect(server.issue({ aud: 'https://other.example.com' })))).code).to.equal('audience_invalid');
  });

  it('checks audienceClaim as for JWTs (client_id for Cognito-like servers), and an array aud', async () => {
    const { server } = setup;
    const byClient = setup.introspectorFor({ audience: 'client-app', audienceClaim: 'client_id' });
    expect((await byClient(server.issue({ aud: undefined }))).claims.client_id).to.equal('client-app');
    expect((await rejection(byClient(server.issue({ client_id: 'other' })))).code).to.equal('audience_invalid');
    expect((await setup.introspectorFor()(server.issue({ aud: ['x', server.audience] }))).source).to.equal('introspection');
  });

  it('accepts an expired answer within clockTolerance only', async () => {
    const { server } = setup;
    expect((await setup.introspectorFor({ clockTolerance: 30 })(server.issue({ exp: now() - 10 }))).source).to.equal('introspection');
    expect((await rejection(setup.introspectorFor({ clockTolerance: 5 })(server.issue({ exp: now() - 10 })))).code).to.equal('token_expired');
  });

  it('accepts an iss that resolveIssuer accepts, and refuses one it does not', async () => {
    const { server } = setup;
    const introspect = setup.introspectorFor({
      issuer: undefined, resolveIssuer: (iss) => (iss === server.issuer ? {} : undefined),
    }, { endpoint: server.endpoint });
    expect((await introspect(server.issue())).claims.iss).to.equal(server.issuer);
    expect((await rejection(introspect(server.issue({ iss: 'https://tenant-2.example.com/' })))).code).to.equal('issuer_invalid');
    // With several possible issuers, an answer without iss cannot be attributed.
    expect((await rejection(introspect(server.issue({ iss: undefined })))).code).to.equal('issuer_invalid');
  });
});
