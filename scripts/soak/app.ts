// One app process of the soak: the example API (examples/app.ts), its key sets shared through Redis,
// short key set max age so refreshes (and so provider and Redis traffic) happen within minutes.
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { createApp } from '../../examples/app.js';
import { redisStore } from '../../lib/redis.js';

const client = createClient({ url: process.env.SOAK_REDIS_URL! });
client.on('error', () => {}); // node-redis needs a listener; while Redis is down the store falls back to memory
await client.connect();
const app = createApp({
  issuer: process.env.SOAK_ISSUER!, audience: process.env.SOAK_AUDIENCE!,
  // Opaque tokens introspected at the issuer, when the soak's issuer serves introspection.
  introspection: process.env.SOAK_INTROSPECTION ? JSON.parse(process.env.SOAK_INTROSPECTION) as { clientId: string; clientSecret: string } : undefined,
  authenticate: { store: redisStore(client), maxAge: 10, cooldown: 5 },
});
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
server.keepAliveTimeout = 60_000;
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void client.quit().catch(() => undefined).finally(() => process.exit(0));
});
