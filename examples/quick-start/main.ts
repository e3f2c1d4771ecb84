// The quick start against your own provider:
//   ISSUER=https://YOUR_TENANT.auth0.com/ AUDIENCE=https://api.example.com npx tsx examples/quick-start/main.ts
import { createApp } from './app.js';

const { ISSUER, AUDIENCE, PORT = '3000' } = process.env;
if (!ISSUER || !AUDIENCE) {
  console.error('Set ISSUER and AUDIENCE, e.g. ISSUER=https://YOUR_TENANT.auth0.com/ AUDIENCE=https://api.example.com');
  process.exit(1);
}
createApp({ issuer: ISSUER, audience: AUDIENCE }).listen(Number(PORT), () => console.log(`listening on http://localhost:${PORT}/messages`));
