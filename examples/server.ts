// `npm start`: the example API with an embedded development issuer, and the MCP server of examples/mcp on /mcp.
// No provider account needed.
// PORT sets the API's port (default 3000), ISSUER_PORT the development issuer's (default 0: any free port).
// OTEL=1 prints OpenTelemetry spans and metrics to the console (examples/telemetry.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { banner, exampleScript } from './banner.js';
import { startDevIssuer } from './dev-issuer.js';
import { mcpMiddleware } from './mcp/app.js';

// Before any server exists, so the HTTP instrumentation sees every request; not loaded at all without OTEL.
const telemetry = process.env.OTEL ? await import('./telemetry.js') : undefined;

const audience = 'https://api.example.com';
const port = Number(process.env.PORT ?? 3000);
const issuerPort = Number(process.env.ISSUER_PORT ?? 0);

/** A port that cannot be had is the user's to fix: one line saying which and how, exit 1; other errors stay as they are. */
function cannotListen(error: unknown, variable: 'PORT' | 'ISSUER_PORT', taken: number): never {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error;
  const whose = variable === 'PORT' ? "the example API's" : "the development issuer's";
  const why = code === 'EADDRINUSE' ? 'is already in use' : 'needs privileges this process lacks';
  const instead = variable === 'PORT' ? (taken === 3001 ? 3002 : 3001) : 0;
  console.error(`npm start: port ${taken} on 127.0.0.1 ${why} (${whose} port). Choose another: ${variable}=${instead} npm start`
    + (variable === 'ISSUER_PORT' ? ' (0 picks a free port)' : ''));
  process.exit(1);
}

const devIssuer = await startDevIssuer(audience, issuerPort).catch((error: unknown) => cannotListen(error, 'ISSUER_PORT', issuerPort));
const { clientId, clientSecret } = devIssuer.introspection;
const app = createApp({ issuer: devIssuer.issuer, audience, introspection: { clientId, clientSecret } });
// Listening first: the MCP server's resource (the audience of its tokens) is its URL, port included.
const server = http.createServer();
server.listen(port, '127.0.0.1');
await new Promise((resolve, reject) => {
  server.once('listening', resolve);
  server.once('error', reject);
}).catch(async (error: unknown) => {
  await devIssuer.close();
  cannotListen(error, 'PORT', port);
});
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
app.use(mcpMiddleware({ issuer: devIssuer.issuer, resource: `${base}/mcp` }));
const handle = app.callback();
server.on('request', (req, res) => void handle(req, res));

const forged = await devIssuer.mint({ scope: 'read:messages' }, { badSignature: true });
console.log(banner(base, devIssuer, exampleScript(base, devIssuer, forged)));
if (telemetry) console.log('\nOTEL is set: each request prints its spans below (koa-token-guard authenticate under the HTTP server span), metrics every 15 s and on Ctrl-C.');

const stop = (): void => {
  server.close();
  void Promise.all([devIssuer.close(), telemetry?.shutdownTelemetry()]).then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
