// `npm start`: the example API with an embedded development issuer. No provider account needed.
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { startDevIssuer } from './dev-issuer.js';

const audience = 'https://api.example.com';
const port = Number(process.env.PORT ?? 3000);

const devIssuer = await startDevIssuer(audience, Number(process.env.ISSUER_PORT ?? 0));
const app = createApp({ issuer: devIssuer.issuer, audience });
const server = app.listen(port, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const read = await devIssuer.mint({ scope: 'read:messages' });
const write = await devIssuer.mint({ scope: 'read:messages write:messages' });
const none = await devIssuer.mint({ scope: 'profile' });
const expired = await devIssuer.mint({ scope: 'read:messages' }, { expired: true });
const forged = await devIssuer.mint({ scope: 'read:messages' }, { badSignature: true });
const stranger = await devIssuer.mint({ sub: 'stranger', scope: 'profile' });
const admin = await devIssuer.mint({ scope: 'admin' });
const owner = await devIssuer.mint({ scope: 'read:messages', role: 'owner' });

console.log(`koa-token-guard example on ${base}  (development issuer ${devIssuer.issuer})

Try these (each line says the answer it should get):

# 200: public route
curl -i ${base}/health

# 401, WWW-Authenticate: Bearer realm="api"  (no token)
curl -i ${base}/messages

# 200: token with read:messages
curl -i -H "Authorization: Bearer ${read}" ${base}/messages

# 201: token with write:messages
curl -i -X POST -H "Authorization: Bearer ${write}" ${base}/messages

# 403, error="insufficient_scope", scope="read:messages"  (token without the read scope)
curl -i -H "Authorization: Bearer ${none}" ${base}/messages

# 401, error="invalid_token", error_description="token expired"
curl -i -H "Authorization: Bearer ${expired}" ${base}/messages

# 401, error="invalid_token", error_description="invalid signature"
curl -i -H "Authorization: Bearer ${forged}" ${base}/messages

# 200: your own user record, found by resolveUser in the example's user store
curl -i -H "Authorization: Bearer ${read}" ${base}/me

# 401, error="invalid_token", error_description="unknown user"  (valid token, no such user)
curl -i -H "Authorization: Bearer ${stranger}" ${base}/me

# 204: the admin route takes the admin scope, or the role claim "owner" (anyOf)
curl -i -X DELETE -H "Authorization: Bearer ${admin}" ${base}/messages/1
curl -i -X DELETE -H "Authorization: Bearer ${owner}" ${base}/messages/2

# 403, error="insufficient_scope", scope="admin"  (the write token is neither admin nor owner)
curl -i -X DELETE -H "Authorization: Bearer ${write}" ${base}/messages/3

# 200: the nested /admin router guards all its routes with the admin scope
curl -i -H "Authorization: Bearer ${admin}" ${base}/admin/stats

# 403, scope="admin": the owner role opens DELETE /messages/:id only, not the /admin router
curl -i -H "Authorization: Bearer ${owner}" ${base}/admin/stats

Ctrl-C to stop.`);

const stop = (): void => {
  server.close();
  void devIssuer.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
