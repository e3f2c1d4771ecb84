import { expect } from 'chai';
import nock from 'nock';
import { createEstablisher, InvalidTokenError, keySets } from '../../lib/index.js';
import { fakeProvider } from '../support/provider.js';
import { rejection } from '../support/rejection.js';

describe('core/establish', () => {
  afterEach(() => nock.cleanAll());

  it('establishes a JWT by verifying it locally: source jwt, with its header', async () => {
    const provider = await fakeProvider();
    const establish = createEstablisher({ issuer: provider.issuer, audience: provider.audience });
    const token = await provider.sign({ scope: 'read:messages' });
    const established = await establish(token);
    expect(established.source).to.equal('jwt');
    expect(established.header?.kid).to.equal(provider.keys[0]!.kid);
    expect(established.claims.sub).to.equal('user-1');
    expect([...established.scopes]).to.deep.equal(['read:messages']);
    expect(Object.isFrozen(established)).to.be.true;
  });

  it('refuses what the verifier refuses, with the same typed error', async () => {
    const provider = await fakeProvider();
    const establish = createEstablisher({ issuer: provider.issuer, audience: provider.audience });
    const error = await rejection(establish(await provider.sign({ aud: 'https://other.example.com' })));
    expect(error).to.be.instanceOf(InvalidTokenError);
    expect(error.code).to.equal('audience_invalid');
  });

  it('carries the key set controls: keySets() pre-warms what it returns', async () => {
    const provider = await fakeProvider();
    const establish = createEstablisher({ issuer: provider.issuer, audience: provider.audience });
    await keySets(establish).ready();
    expect(provider.jwksCount()).to.equal(1);
    await establish(await provider.sign());
    expect(provider.jwksCount()).to.equal(1);
  });
});
