// Attacks on an introspecting resource server. RFC 7662 2.1: `token_type_hint` is only a hint, and a
// server that cannot find the token under it "MUST extend its search across all of its supported
// token types", so a refresh token presented as a bearer token introspects as active on many servers.
// RFC 7662 4 makes the resource server responsible for what it accepts and for how long it caches.
import { expect } from 'chai';
import { useServer } from '../introspection/support.js';
import { expectRefusal, guardedApp, send } from './support.js';

const now = (): number => Math.floor(Date.now() / 1000);

describe('security: introspection (RFC 7662 2.1, 2.2, 4)', () => {
  const setup = useServer();
  const app = () => guardedApp(setup.optionsFor());

  it('refuses a refresh token that introspects as active (token_type confusion, RFC 7662 2.1/2.2)', async () => {
    const { server } = setup;
    for (const type of ['refresh_token', 'Refresh_Token', 'urn:ietf:params:oauth:token-type:refresh_token']) {
      const token = server.issue({ token_type: type, scope: 'offline_access read:messages' });
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'token type not accepted', token);
    }
  });

  it('refuses a refresh token that Ory Hydra names by token_use, with or without token_type (RFC 7662 2.2: extensions are the server\'s)', async () => {
    const { server } = setup;
    for (const type of ['bearer', undefined]) {
      const token = server.issue({ token_use: 'refresh_token', token_type: type, scope: 'offline offline_access read:messages' });
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'token type not accepted', token);
    }
  });

  it("refuses an active token the server issued for another API (RFC 7662 4: the audience is ours to check)", async () => {
    const { server } = setup;
    const token = server.issue({ aud: 'https://payments.example.com' });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'token audience not accepted', token);
  });

  it('refuses an answer whose active is not the boolean true (a server or proxy that stringifies)', async () => {
    const { server } = setup;
    const token = server.issue();
    server.answer(token, { active: 'true', iss: server.issuer, aud: server.audience, sub: 'user-1' });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'token is not active', token);
  });

  it('refuses an expired answer even if the server calls it active, and never caches past exp (RFC 7662 4)', async () => {
    const { server } = setup;
    const token = server.issue({ exp: now() - 3600 });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'token expired', token);
  });

  it('never sends a JWT-shaped token to the introspection endpoint by default: a forged JWT is refused locally', async () => {
    const { server } = setup;
    const forged = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.';
    expectRefusal(await send(app(), forged), 401, 'invalid_token', 'malformed token', forged);
    expect(server.requests).to.have.length(0);
  });

  it('keeps the token, the client secret and the answer out of every refusal', async () => {
    const { server } = setup;
    server.override = () => ({ status: 500, body: JSON.stringify({ error: server.clientSecret }) });
    const token = server.issue();
    const reply = await send(app(), token);
    expect(reply.status).to.equal(503);
    for (const secret of [token, server.clientSecret, 'user-1']) expect(JSON.stringify(reply)).to.not.include(secret);
  });
});
