// The node:test recipe: run with `node --import tsx --test examples/testing/node-test.ts`.
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test registers tests at once; the runner awaits them */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestIssuer, type TestIssuer } from 'koa-token-guard/testing';
import { createOrdersApp } from './app.js';

const audience = 'https://orders.example.com';
let issuer: TestIssuer;
let server: Server;
let base: string;

before(async () => {
  issuer = await createTestIssuer({ audience });
  const app = createOrdersApp({ issuer: issuer.issuer, audience });
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

const getOrders = (token: string): Promise<Response> => fetch(`${base}/orders`, { headers: { authorization: `Bearer ${token}` } });

test('lists orders for a token with read:orders', async () => {
  assert.equal((await getOrders(await issuer.sign({ scope: 'read:orders' }))).status, 200);
});

test('answers 403 without read:orders', async () => {
  assert.equal((await getOrders(await issuer.sign({ scope: 'profile' }))).status, 403);
});

test('answers 401 for a token signed by the wrong key', async () => {
  assert.equal((await getOrders(await issuer.sign({ scope: 'read:orders' }, { wrongSignature: true }))).status, 401);
});
