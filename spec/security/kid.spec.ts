import { expect } from 'chai';
import { fakeProvider, signingKey, type FakeProvider } from '../support/provider.js';
import { expectProviderCalls, expectRefusal, guardedApp, send, refuseStrayNetwork } from './support.js';

describe('security: kid oddities (RFC 7515 4.1.4, RFC 8725 3.10)', () => {
  let provider: FakeProvider;

  beforeEach(async () => {
    provider = await fakeProvider();
  });
  refuseStrayNetwork();

  const oddKids: Record<string, unknown> = {
    'path traversal (CVE-2018-1000531 style)': '../../../../../../dev/null',
    'SQL injection': "x' UNION SELECT 'secret' --",
    'empty': '',
    'whitespace': ' \t ',
    'control characters': 'es256-1\u0000\r\n',
    'very long': 'k'.repeat(4000),
    'a number': 1,
    'an object': { $ne: null },
    'an array': ['es256-1'],
    'null': null,
  };

  it('answers 401 "signing key not found" for each odd kid, signed with the genuine key, at one key fetch in all', async () => {
    const app = guardedApp({ issuer: provider.issuer, audience: provider.audience });
    for (const kid of Object.values(oddKids)) {
      const token = await provider.sign({}, { header: { kid } });
      expectRefusal(await send(app, token), 401, 'invalid_token', 'signing key not found', token);
    }
    // The unknown-kid refetch happens at most once per cooldown, so a flood of odd kids costs nothing more.
    expectProviderCalls(provider, 1, 1);
  });

  it('refuses a token of issuer A signed with a key of issuer B, each trusted on its own (one key set per issuer)', async () => {
    const other = await fakeProvider();
    const otherKey = await signingKey('ES256', 'issuer-b-key');
    other.publish([otherKey.publicJwk]);
    const app = guardedApp({ issuer: [provider.issuer, other.issuer], audience: provider.audience });
    // B's own tokens verify...
    expect((await send(app, await other.sign({ aud: provider.audience }, { key: otherKey }))).status).to.equal(200);
    // ...but a token claiming A, signed by B's key and naming B's kid, is not found among A's keys.
    const token = await provider.sign({}, { key: otherKey });
    expectRefusal(await send(app, token), 401, 'invalid_token', 'signing key not found', token);
    expectProviderCalls(provider, 1, 1);
    expectProviderCalls(other, 1, 1);
  });
});
