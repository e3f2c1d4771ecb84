import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { base64url, generateKeyPair, SignJWT } from 'jose';
import { createVerifier, type TokenGuardEvent } from '../../lib/index.js';
import { useServer } from '../introspection/support.js';
import { hugeExponentKey, oversizeModulusJwk, wrongLengthEcJwk } from '../support/costly-keys.js';
import { fakeProvider, type FakeProvider, type SigningKey } from '../support/provider.js';
import { rejection } from '../support/rejection.js';
import { cpuOf } from './cpu.js';
import { claimsFor, expectProviderCalls, expectRefusal, guardedApp, send, refuseStrayNetwork } from './support.js';

// Whoever publishes a key chooses what checking a signature with it costs: a 3,071-bit RSA exponent
// made one check about 24 times dearer than e = 65537. Keys outside the bounds of lib/keys/bounds.ts
// (RFC 7518 3.3: RSA moduli 2048 bits and up, here at most 4096; exponents of at most 32 bits; RFC 7518
// 6.2.1.2 EC coordinates of the curve's length) are dropped from the key set and never imported, so a
// token naming one is refused as naming no key at all: 401 invalid_token, code kid_unknown.
describe('security: keys out of bounds in a key set are never imported (RFC 7518 3.3, 6.2.1.2)', () => {
  let provider: FakeProvider;
  let rsa: SigningKey;
  let huge: SigningKey;
  const app = () => guardedApp({ issuer: provider.issuer, audience: provider.audience });

  before(async function () {
    this.timeout(60_000); // a 3072-bit RSA key to build the costly one from
    huge = await hugeExponentKey('huge-exponent');
  });
  beforeEach(async () => {
    provider = await fakeProvider({ algs: ['RS256'] });
    rsa = provider.keys[0]!;
  });
  refuseStrayNetwork();

  it('refuses with 401 kid_unknown a token truly signed by a key whose RSA exponent has 3,071 bits, and keeps the others', async () => {
    provider.publish([rsa.publicJwk, huge.publicJwk]);
    const token = await provider.sign({}, { key: huge });
    expectRefusal(await send(app(), token), 401, 'invalid_token', 'signing key not found', token);
    expect((await send(app(), await provider.sign())).status).to.equal(200);
    expectProviderCalls(provider, 1, 1); // the dropped key is an unknown kid, and the set was fetched within the cooldown
  });

  const junkKeys: Array<[string, () => ReturnType<typeof oversizeModulusJwk>, 'RS256' | 'ES256']> = [
    ['an 8192-bit RSA modulus', () => oversizeModulusJwk('junk'), 'RS256'],
    ['P-256 coordinates of 33 bytes', () => wrongLengthEcJwk('junk'), 'ES256'],
  ];
  for (const [label, jwk, alg] of junkKeys) {
    it(`refuses with 401 kid_unknown a token naming a key with ${label}, never importing or checking with it`, async () => {
      provider.publish([rsa.publicJwk, jwk()]);
      const signer = alg === 'RS256' ? rsa.privateKey : (await generateKeyPair('ES256')).privateKey;
      const token = await new SignJWT(claimsFor(provider)).setProtectedHeader({ alg, kid: 'junk', typ: 'at+jwt' }).sign(signer);
      expectRefusal(await send(app(), token), 401, 'invalid_token', 'signing key not found', token);
      expectProviderCalls(provider, 1, 1);
    });
  }

  it('makes a junk token naming the 3,071-bit-exponent key cost about what a normal refusal costs (CPU, not wall clock)', async function () {
    this.timeout(60_000);
    provider.publish([rsa.publicJwk, huge.publicJwk]);
    const verify = createVerifier({ issuer: provider.issuer, audience: provider.audience });
    // Junk signatures as long as the key's modulus (shorter ones are refused before any arithmetic),
    // below it: each one costs a full RSA check.
    const junk = (kid: string, bytes: number, n: number) => Array.from({ length: n }, (_, i) => {
      const input = `${base64url.encode(JSON.stringify({ alg: 'RS256', kid, typ: 'at+jwt' }))}.${base64url.encode(JSON.stringify(claimsFor(provider, { jti: `${kid}-${i}` })))}`;
      const signature = randomBytes(bytes);
      signature[0] = 0;
      return `${input}.${base64url.encode(signature)}`;
    });
    await verify(await provider.sign()); // keys loaded
    await verify(junk(huge.kid, 384, 1)[0]!).catch(() => undefined); // and any refetch for the kid done
    const cpu = (tokens: string[]): Promise<number> => cpuOf(async () => {
      for (const token of tokens) {
        const error = await rejection(verify(token));
        expect(error.status).to.equal(401);
      }
    });
    const N = 40;
    const [normalTokens, hugeTokens] = [junk(rsa.kid, 256, N), junk(huge.kid, 384, N)];
    const normal = await cpu(normalTokens); // each one RSA-2048 check with e = 65537: "invalid signature"
    const costly = await cpu(hugeTokens);
    expect(costly / normal, `${costly} µs against ${normal} µs for ${N} refusals`).to.be.below(2);
    expectProviderCalls(provider, 1, 1);
  });

  describe('RFC 9701 signed introspection answers, verified with the issuer\'s key set', () => {
    const setup = useServer();

    it('answers 503 introspection_unavailable (jwt_invalid, the server\'s fault) for an answer signed by a 3,071-bit-exponent key of that set', async () => {
      const { server } = setup;
      // The issuer's JWKS publishes the costly key next to its own.
      const withCostlyKey: typeof fetch = (input, init) => ((input instanceof Request ? input.url : String(input)).endsWith('/jwks')
        ? Promise.resolve(new Response(JSON.stringify({ keys: [server.key.publicJwk, huge.publicJwk] }), { headers: { 'content-type': 'application/json' } }))
        : fetch(input, init));
      server.jwt.key = huge;
      const events: TokenGuardEvent[] = [];
      const introspect = setup.introspectorFor({ fetch: withCostlyKey, algorithms: ['RS256', 'ES256'], onEvent: (e) => events.push(e) }, { jwtResponse: true });
      const error = await rejection(introspect(server.issue()));
      expect([error.status, error.code]).to.deep.equal([503, 'introspection_unavailable']);
      expect(events.find((e) => e.type === 'introspection_failed')).to.deep.include({ failure: 'jwt_invalid' });
    });
  });
});
