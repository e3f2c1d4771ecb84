import { expect } from 'chai';
import Koa from 'koa';
import { authenticate, ConfigurationError, type AuthState, type DpopOptions } from '../../lib/index.js';
import { resolveDpopOptions } from '../../lib/dpop/options.js';
import { createDpopKey, createTestIssuer, type TestDpopKey, type TestIssuer } from '../../lib/testing/index.js';
import { inject } from '../security/inject.js';

const AUDIENCE = 'https://api.example.com';

describe('dpop/origin: the htu origin from configuration, not from the request’s Host', () => {
  let issuer: TestIssuer;
  let key: TestDpopKey;
  before(async () => {
    issuer = await createTestIssuer({ audience: AUDIENCE });
    key = await createDpopKey();
  });
  after(() => issuer.close());

  function appWith(dpop: DpopOptions, proxy = false): Koa<AuthState> {
    const app = new Koa<AuthState>();
    app.silent = true;
    app.proxy = proxy;
    app.use(authenticate({ issuer: issuer.issuer, audience: AUDIENCE, dpop }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    return app;
  }
  async function send(app: Koa<AuthState>, target: string, htu: string, headers: string[] = ['Host', 'api.example.com']): Promise<{ status: number; description: string | undefined }> {
    const token = await issuer.sign({}, { dpopKey: key });
    const proof = await key.proof({ method: 'GET', url: 'https://placeholder.example/', accessToken: token, claims: { htu } });
    const reply = await inject(app, target, [...headers, 'Authorization', `DPoP ${token}`, 'DPoP', proof]);
    return { status: reply.status, description: /error_description="([^"]*)"/.exec(String(reply.headers['www-authenticate']))?.[1] };
  }
  const mismatch = { status: 401, description: 'DPoP proof htu mismatch' };

  it('accepts a proof for the configured origin whatever Host the request carries', async () => {
    const app = appWith({ origin: 'https://api.example.com' });
    for (const host of ['api.example.com', 'evil.example', 'internal-lb:8080']) {
      expect(await send(app, '/messages?page=2', 'https://api.example.com/messages', ['Host', host]), host).to.deep.equal({ status: 200, description: undefined });
    }
  });

  it('refuses a proof for the origin the Host header (or X-Forwarded-Host, with app.proxy) claims', async () => {
    expect(await send(appWith({ origin: 'https://api.example.com' }), '/messages', 'http://evil.example/messages', ['Host', 'evil.example'])).to.deep.equal(mismatch);
    const proxied = appWith({ origin: 'https://api.example.com' }, true);
    expect(await send(proxied, '/messages', 'https://evil.example/messages', ['Host', 'api.example.com', 'X-Forwarded-Host', 'evil.example', 'X-Forwarded-Proto', 'https'])).to.deep.equal(mismatch);
  });

  it('accepts any of several origins, each with the request’s path only', async () => {
    const app = appWith({ origin: ['https://api.example.com', 'https://API.example.net:443/'] });
    expect((await send(app, '/messages', 'https://api.example.com/messages')).status).to.equal(200);
    expect((await send(app, '/messages', 'https://api.example.net/messages')).status).to.equal(200);
    expect(await send(app, '/messages', 'https://api.example.org/messages')).to.deep.equal(mismatch);
    expect(await send(app, '/messages', 'https://api.example.net/other')).to.deep.equal(mismatch);
    expect(await send(app, '//evil.example/messages', 'https://api.example.net/messages')).to.deep.equal(mismatch);
  });

  it('is validated at startup: an https origin without a path, normalised', () => {
    expect(resolveDpopOptions({ origin: 'HTTPS://API.Example.com:443/' }, undefined, 5)!.origins).to.deep.equal(['https://api.example.com']);
    expect(resolveDpopOptions({ origin: ['https://a.example:8443', 'https://b.example'] }, undefined, 5)!.origins).to.deep.equal(['https://a.example:8443', 'https://b.example']);
    expect(resolveDpopOptions({}, undefined, 5)!.origins).to.equal(undefined);
    for (const bad of ['http://api.example.com', 'https://api.example.com/v1', 'https://api.example.com?x', 'https://u:p@api.example.com', 'api.example.com', '', [], [42], 42]) {
      expect(() => resolveDpopOptions({ origin: bad as string }, undefined, 5), JSON.stringify(bad)).to.throw(ConfigurationError, '`dpop.origin`');
    }
  });
});
