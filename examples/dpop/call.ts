// A DPoP call end to end, since curl cannot sign proofs: `npx tsx examples/dpop/call.ts`. Starts a
// development issuer and an API with DPoP and server nonces on, then calls it as a DPoP client would.
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { authenticate, type AuthState } from 'koa-token-guard';
import { createDpopKey, createTestIssuer } from 'koa-token-guard/testing';

/** One step of the walk-through: what was sent and what came back. */
export interface Step { step: string; status: number; challenge: string | null; nonce: string | null }

/** Runs the walk-through and returns each answer (the spec checks them; the script prints them). */
export async function dpopWalkthrough(): Promise<Step[]> {
  const audience = 'https://api.example.com';
  const issuer = await createTestIssuer({ audience });
  const app = new Koa<AuthState>();
  app.use(authenticate({ issuer: issuer.issuer, audience, dpop: { nonce: { secret: 'an-example-nonce-secret-of-32-bytes-or-more' } } }));
  app.use((ctx) => {
    ctx.body = { sub: ctx.state.user?.sub, jkt: ctx.state.auth?.dpop?.jkt };
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
  try {
    // The client's key pair; the provider binds the token to its thumbprint (cnf.jkt).
    const key = await createDpopKey('ES256');
    const token = await issuer.sign({ sub: 'alice' }, { dpopKey: key });
    const steps: Step[] = [];
    const send = async (step: string, proof: string): Promise<string | null> => {
      const reply = await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
      await reply.arrayBuffer();
      steps.push({ step, status: reply.status, challenge: reply.headers.get('www-authenticate'), nonce: reply.headers.get('dpop-nonce') });
      return reply.headers.get('dpop-nonce');
    };
    const nonce = await send('proof without a nonce', await key.proof({ method: 'GET', url, accessToken: token }));
    const proof = await key.proof({ method: 'GET', url, accessToken: token, nonce: nonce ?? undefined });
    await send('retry with the server nonce', proof);
    await send('the same proof again (replay)', proof);
    return steps;
  } finally {
    server.close();
    await issuer.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const { step, status, challenge } of await dpopWalkthrough()) {
    console.log(`${status}  ${step}${challenge === null ? '' : `\n     WWW-Authenticate: ${challenge}`}`);
  }
}
