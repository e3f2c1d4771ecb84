import { fakeProvider, signingKey, type FakeProvider } from '../support/provider.js';
import { expectProviderCalls, expectRefusal, guardedApp, send, refuseStrayNetwork } from './support.js';

describe('security: cross-JWT confusion (RFC 8725 3.11, 3.12; RFC 9068 4)', () => {
  let provider: FakeProvider;
  const clientId = 'spa-client-id';
  const app = (extra = {}) => guardedApp({ issuer: provider.issuer, audience: provider.audience, ...extra });

  beforeEach(async () => {
    provider = await fakeProvider();
  });
  refuseStrayNetwork();

  it('answers 401 "token audience not accepted" for an ID token (aud = a client id, nonce, typ JWT) from the same issuer', async () => {
    const token = await provider.sign({ aud: clientId, nonce: 'n-0S6_WzA2Mj', azp: clientId, scope: undefined }, { header: { typ: 'JWT' } });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'token audience not accepted', token);
    expectProviderCalls(provider, 1, 1);
  });

  it('answers 401 "token type not accepted" in strict mode for an ID token even when its aud is the API', async () => {
    const token = await provider.sign({ nonce: 'n-0S6_WzA2Mj', client_id: clientId, jti: 'j' }, { header: { typ: 'JWT' } });
    expectRefusal(await send(app({ typ: 'strict' }), token), 401, 'invalid_token', 'token type not accepted', token);
  });

  it('answers 401 "token audience not accepted" for an access token meant for another API of the same issuer', async () => {
    const token = await provider.sign({ aud: ['https://billing.example.com', 'https://other.example.com'] });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'token audience not accepted', token);
  });

  it('refuses a token of another issuer: "token issuer not accepted" before any fetch with several issuers, "signing key not found" with one', async () => {
    const other = await fakeProvider();
    const otherKey = await signingKey('ES256', 'other-issuer-key');
    other.publish([otherKey.publicJwk]);
    const token = await other.sign({ aud: provider.audience }, { key: otherKey });
    const third = await fakeProvider();
    expectRefusal(await send(guardedApp({ issuer: [provider.issuer, third.issuer], audience: provider.audience }), token),
      401, 'invalid_token', 'token issuer not accepted', token);
    expectProviderCalls(provider, 0, 0);
    expectProviderCalls(other, 0, 0);
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'signing key not found', token);
    expectProviderCalls(provider, 1, 1);
    expectProviderCalls(other, 0, 0);
  });

  it('answers 401 "token issuer not accepted" for a token of another issuer signed with a key both happen to share', async () => {
    const other = await fakeProvider(); // the spec provider reuses one key pair per algorithm: a shared key
    const token = await other.sign({ aud: provider.audience });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'token issuer not accepted', token);
  });

  it('answers 401 "token audience not accepted" for a refresh token issued as a JWT (Keycloak style: aud = issuer, typ Refresh)', async () => {
    const token = await provider.sign({ aud: provider.issuer, typ: 'Refresh', azp: clientId, scope: 'openid offline_access' }, { header: { typ: 'JWT' } });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'token audience not accepted', token);
  });

  it('refuses a back-channel logout token: "token type not accepted" with typ logout+jwt, "token audience not accepted" without', async () => {
    const events = { 'http://schemas.openid.net/event/backchannel-logout': {} };
    // Even one whose aud is the API's own identifier.
    const typed = await provider.sign({ events, sid: 's', scope: undefined }, { header: { typ: 'logout+jwt' } });
    const untyped = await provider.sign({ aud: clientId, events, sid: 's', scope: undefined }, { header: { typ: undefined } });
    expectRefusal(await send(app(), typed), 401, 'invalid_token', 'token type not accepted', typed);
    expectRefusal(await send(app(), untyped), 401, 'invalid_token', 'token audience not accepted', untyped);
  });
});
