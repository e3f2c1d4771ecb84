// Run by debug.spec.ts in a child process with NODE_DEBUG=koa-token-guard: introspects tokens through
// success, refusal and failure, then prints the tokens it used so the parent can look for them in stderr.
import { createIntrospector } from '../../lib/index.js';
import { introspectionServer } from '../support/introspection-server.js';

const server = await introspectionServer();
const introspect = createIntrospector({
  issuer: server.issuer, audience: server.audience,
  introspection: { clientId: server.clientId, clientSecret: server.clientSecret, jwtResponse: true },
});
const good = server.issue();
const dead = `dead-${good.slice(7)}`;
await introspect(good);
await introspect(dead).catch(() => undefined);
server.override = () => ({ status: 500, body: '' });
const failing = server.issue();
await introspect(failing).catch(() => undefined);
server.override = () => ({ status: 401, body: '' });
const rejected = server.issue();
await introspect(rejected).catch(() => undefined);
await server.close();
process.stdout.write(JSON.stringify([good, dead, failing, rejected, server.clientSecret]));
