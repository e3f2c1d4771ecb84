// One app instance in its own process (spawned by spec/redis.spec.ts): authenticate() with the Redis
// store, listening on a loopback port it prints as JSON. Exits when its parent closes stdin.
import Koa from 'koa';
import { createClient } from 'redis';
import { authenticate } from '../../lib/index.js';
import { redisStore } from '../../lib/redis.js';

const client = createClient({ url: process.env.REDIS_URL! });
client.on('error', () => undefined);
await client.connect();
const app = new Koa();
// DPOP=1: DPoP on, its replay store the same Redis store (spec/dpop/replay.spec.ts).
app.use(authenticate({ issuer: process.env.ISSUER!, audience: process.env.AUDIENCE!, store: redisStore(client), ...(process.env.DPOP === '1' ? { dpop: {} } : {}) }));
app.use((ctx) => {
  ctx.body = 'ok';
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.stdin.on('end', () => {
  server.close();
  void client.quit().finally(() => process.exit(0));
});
process.stdin.resume();
