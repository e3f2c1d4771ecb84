// Keys the kit publishes after the app fetched the key set (sign() for a new algorithm, addKey(), rotate(),
// setJwks()) are seen on the app's next request, whatever its refetch cooldown, with or without a shared store.
import { expect } from 'chai';
import type Koa from 'koa';
import { decodeProtectedHeader } from 'jose';
import { clearKeySets, memoryStore, type AuthenticateOptions, type AuthState, type KeyStore } from '../../lib/index.js';
import { createTestIssuer, createTestKey, type TestIssuer } from '../../lib/testing/index.js';
import { bearer, request } from '../support/http.js';
import { guardedApp } from '../security/support.js';

const audience = 'https://api.example.com';


const status = async (app: Koa<AuthState>, token: string): Promise<number> => (await request(app, '/', { headers: bearer(token) })).status;

describe('testing: keys the kit publishes are seen at once', () => {
  let issuer: TestIssuer;
  afterEach(async () => issuer?.close());

  for (const mode of ['loopback', 'nock'] as const) {
    for (const shared of [false, true]) {
      describe(`${mode} mode${shared ? ', with a store' : ''}`, () => {
        let store: KeyStore | undefined;
        // The default cooldown (30 s): without the kit's notice the app would not refetch within a spec.
        const options = (extra: Partial<AuthenticateOptions> = {}): AuthenticateOptions => ({ issuer: issuer.issuer, audience, store, ...extra });
        beforeEach(async () => {
          store = shared ? memoryStore() : undefined;
          issuer = await createTestIssuer({ mode, audience });
        });

        it('accepts a token of an algorithm the issuer lacked (sign({ alg })) on the next request', async () => {
          const app = guardedApp(options({ algorithms: ['ES256', 'EdDSA'] }));
          expect(await status(app, await issuer.sign())).to.equal(200);
          const token = await issuer.sign({}, { alg: 'EdDSA' });
          expect(decodeProtectedHeader(token).alg).to.equal('EdDSA');
          expect(await status(app, token)).to.equal(200);
          expect(issuer.requests.jwks).to.equal(2);
        });

        it('accepts the key rotate() made current at once, and still the old one', async () => {
          const app = guardedApp(options());
          const before = await issuer.sign();
          expect(await status(app, before)).to.equal(200);
          await issuer.rotate();
          expect(await status(app, await issuer.sign())).to.equal(200);
          expect(await status(app, before)).to.equal(200);
          expect(issuer.requests.jwks).to.equal(2);
        });

        it('accepts keys published with addKey() and setJwks()', async () => {
          const app = guardedApp(options());
          expect(await status(app, await issuer.sign())).to.equal(200);
          const added = await issuer.addKey('ES256');
          expect(await status(app, await issuer.sign({}, { key: added }))).to.equal(200);
          const outside = await createTestKey('ES256');
          issuer.setJwks([...issuer.keys.map((k) => k.publicJwk), outside.publicJwk]);
          expect(await status(app, await issuer.sign({}, { key: outside }))).to.equal(200);
          expect(issuer.requests.jwks).to.equal(3);
        });

        it('keeps the cooldown for kids the kit never published: one refetch per publication', async () => {
          const app = guardedApp(options());
          expect(await status(app, await issuer.sign())).to.equal(200);
          await issuer.addKey('ES256');
          expect(await status(app, await issuer.sign({}, { kid: 'made-up-1' }))).to.equal(401);
          expect(await status(app, await issuer.sign({}, { kid: 'made-up-2' }))).to.equal(401);
          expect(issuer.requests.jwks, 'the first unknown kid after the publication refetches, the next waits for the cooldown').to.equal(2);
        });

        it('gives an app built after the publication the new keys, not an older copy', async () => {
          expect(await status(guardedApp(options()), await issuer.sign())).to.equal(200);
          const token = await issuer.sign({}, { alg: 'EdDSA' });
          // A new key set (another spec's app, after clearKeySets) reads the store's copy from before the key.
          clearKeySets();
          expect(await status(guardedApp(options({ algorithms: ['ES256', 'EdDSA'] })), token)).to.equal(200);
        });
      });
    }
  }

  it('never serves a closed issuer\'s keys from a store to a later issuer at the same URL', async () => {
    const store = memoryStore();
    const first = await createTestIssuer({ mode: 'nock', issuer: 'https://id.reused.example/', audience });
    expect(await status(guardedApp({ issuer: first.issuer, audience, store }), await first.sign())).to.equal(200);
    await first.close();
    issuer = await createTestIssuer({ mode: 'nock', issuer: 'https://id.reused.example/', audience });
    expect(await status(guardedApp({ issuer: issuer.issuer, audience, store }), await issuer.sign())).to.equal(200);
  });
});

describe('testing: the notice stays internal', () => {
  it('is not part of the root export: only the kit announces a change of keys', async () => {
    const root = await import('../../lib/index.js');
    expect(Object.keys(root)).to.include('clearKeySets').and.not.to.include('sourceChanged');
  });
});
