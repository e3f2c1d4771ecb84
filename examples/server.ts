// `npm start`: the example API with an embedded development issuer. No provider account needed.
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { banner, exampleScript } from './banner.js';
import { startDevIssuer } from './dev-issuer.js';

const audience = 'https://api.example.com';
const port = Number(process.env.PORT ?? 3000);

const devIssuer = await startDevIssuer(audience, Number(process.env.ISSUER_PORT ?? 0));
const { clientId, clientSecret } = devIssuer.introspection;
const app = createApp({ issuer: devIssuer.issuer, audience, introspection: { clientId, clientSecret } });
const server = app.listen(port, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const forged = await devIssuer.mint({ scope: 'read:messages' }, { badSignature: true });
console.log(banner(base, devIssuer, exampleScript(base, devIssuer, forged)));

const stop = (): void => {
  server.close();
  void devIssuer.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
