// Testing your own protected routes with koa-token-guard/testing (mocha + chai, no other tooling):
// a real issuer on loopback, real tokens, your real app.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestIssuer, type TestIssuer } from 'koa-token-guard/testing';
import { createOrdersApp } from './app.js';

describe('example: testing your own app with the kit', () => {
  const audience = 'https://orders.example.com';
  let issuer: TestIssuer;
  let server: Server;
  let base: string;

  before(async () => {
    issuer = await createTestIssuer({ audience });
    const app = createOrdersApp({ issuer: issuer.issuer, audience, fetchTimeout: 0.2 });
    app.silent = true;
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await issuer.close();
  });

  const getOrders = (token?: string): Promise<Response> =>
    fetch(`${base}/orders`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('lists orders for a token with read:orders', async () => {
    const reply = await getOrders(await issuer.sign({ sub: 'alice', scope: 'read:orders' }));
    expect(reply.status).to.equal(200);
    expect(await reply.json()).to.deep.equal([{ id: 1, owner: 'alice' }]);
  });

  it('answers 403 insufficient_scope without read:orders', async () => {
    const reply = await getOrders(await issuer.sign({ scope: 'profile' }));
    expect(reply.status).to.equal(403);
    expect(reply.headers.get('www-authenticate')).to.equal('Bearer realm="api", error="insufficient_scope", error_description="requires scope read:orders", scope="read:orders"');
  });

  it('answers 401 invalid_token for an expired token', async () => {
    const reply = await getOrders(await issuer.sign({ scope: 'read:orders' }, { expired: true }));
    expect(reply.status).to.equal(401);
    expect(reply.headers.get('www-authenticate')).to.equal('Bearer realm="api", error="invalid_token", error_description="token expired"');
  });

  it('keeps serving with cached keys while the provider is down', async () => {
    const token = await issuer.sign({ scope: 'read:orders' });
    expect((await getOrders(token)).status).to.equal(200); // keys fetched and cached
    issuer.outage({ status: 500 });
    try {
      expect((await getOrders(token)).status).to.equal(200);
    } finally {
      issuer.recover();
    }
  });

  it('passes the same checks under node:test (the docs/testing.md recipe)', async function () {
    this.timeout(20_000);
    const file = fileURLToPath(new URL('./node-test.ts', import.meta.url));
    const output = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], { cwd: fileURLToPath(new URL('../..', import.meta.url)) }, (error, stdout) => {
        if (error) reject(new Error(`${error.message}\n${stdout}`));
        else resolve(stdout);
      });
    });
    expect(output).to.match(/^# pass 3$/m);
    expect(output).to.match(/^# fail 0$/m);
  });
});
