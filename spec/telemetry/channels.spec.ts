import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { expect } from 'chai';
import Koa from 'koa';
import {
  AuthError, authenticate, CACHE_CHANNEL, createVerifier, KeySourceError, keySets, requireScopes, TRACING_CHANNELS,
  type AuthenticateOptions, type AuthState, type TokenGuardEvent,
} from '../../lib/index.js';
import { createDpopKey, createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { dpop, serve, type Served } from '../dpop/support.js';
import { bearer } from '../support/http.js';
import { createUserInfoClient } from '../../lib/users/userinfo.js';

const AUDIENCE = 'https://api.example.com';
type Channel = keyof typeof TRACING_CHANNELS;
type EventName = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';

interface Published { readonly channel: Channel; readonly event: EventName; readonly context: object }

/** One subscriber on every channel, recording each event in order with the context object it carried. */
function subscribeAll() {
  const log: (Published | string)[] = [];
  const undo: (() => void)[] = [];
  for (const channel of Object.keys(TRACING_CHANNELS) as Channel[]) {
    const traced = tracingChannel<unknown, object>(TRACING_CHANNELS[channel]);
    const on = (event: EventName) => (context: object): void => void log.push({ channel, event, context });
    const handlers = { start: on('start'), end: on('end'), asyncStart: on('asyncStart'), asyncEnd: on('asyncEnd'), error: on('error') };
    traced.subscribe(handlers);
    undo.push(() => traced.unsubscribe(handlers));
  }
  const published = () => log.filter((entry): entry is Published => typeof entry !== 'string');
  return {
    log,
    /** `channel:event` in the order published, with any marker the app pushed. */
    sequence: () => log.map((entry) => (typeof entry === 'string' ? entry : `${entry.channel}:${entry.event}`)),
    /** The distinct contexts published on a channel, in order. */
    contexts: (channel: Channel) => [...new Set(published().filter((entry) => entry.channel === channel).map((entry) => entry.context))] as Record<string, unknown>[],
    all: () => [...new Set(published().map((entry) => entry.context))],
    stop: () => undo.forEach((fn) => fn()),
  };
}

/** Every string reachable from a value: own properties (enumerable or not, so an error's message, stack and cause too). */
function stringsIn(value: unknown, seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object' || seen.has(value)) return [];
  seen.add(value);
  return Object.getOwnPropertyNames(value).flatMap((name) => stringsIn((value as Record<string, unknown>)[name], seen));
}

function expectNothingSecret(contexts: readonly object[], secrets: readonly string[]): void {
  const found = contexts.flatMap((context) => stringsIn(context)).filter((s) => secrets.some((secret) => s.includes(secret)));
  expect(found, 'a token, proof or client secret in a published context or error').to.deep.equal([]);
}

/** The fields a context has besides `error`, for exact comparison. */
function fields(context: Record<string, unknown>): Record<string, unknown> {
  const { error: _error, ...rest } = context;
  return rest;
}

const ops = (channel: Channel, failed = false): string[] =>
  failed ? [`${channel}:start`, `${channel}:end`, `${channel}:error`, `${channel}:asyncStart`, `${channel}:asyncEnd`] : [`${channel}:start`, `${channel}:end`, `${channel}:asyncStart`, `${channel}:asyncEnd`];

describe('telemetry/channels: the tracing channels, as a subscriber sees them', () => {
  let issuer: TestIssuer;
  let served: Served | undefined;
  let recorder: ReturnType<typeof subscribeAll> | undefined;

  beforeEach(async () => {
    issuer = await createTestIssuer({ audience: AUDIENCE, introspection: true });
  });
  afterEach(async () => {
    recorder?.stop();
    recorder = undefined;
    await served?.close();
    served = undefined;
    await issuer.close();
  });

  async function start(extra: Partial<AuthenticateOptions> = {}, warm = true) {
    const app = new Koa<AuthState>();
    app.silent = true;
    const auth = authenticate({ issuer: issuer.issuer, audience: AUDIENCE, ...extra });
    app.use(auth).use((ctx) => {
      recorder?.log.push('handler');
      ctx.body = { sub: ctx.state.user?.sub ?? null };
    });
    if (warm) await keySets(auth).ready();
    served = await serve(app);
    return served;
  }

  it('a valid token: authenticate around verify, in order, with source, issuer, algorithm and cached false; next() outside the span', async () => {
    const s = await start();
    const token = await issuer.sign();
    recorder = subscribeAll();
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    // verify starts and ends within authenticate's synchronous part, settles before it; the handler runs after.
    expect(recorder.sequence()).to.deep.equal([
      'authenticate:start', 'verify:start', 'verify:end', 'authenticate:end',
      'verify:asyncStart', 'verify:asyncEnd', 'authenticate:asyncStart', 'authenticate:asyncEnd', 'handler',
    ]);
    const [authn] = recorder.contexts('authenticate');
    expect(authn).to.deep.equal({
      realm: 'api', outcome: 'accepted', code: undefined, status: undefined,
      scheme: 'Bearer', source: 'jwt', cached: false, issuer: issuer.issuer, algorithm: 'ES256',
    });
    expect(recorder.contexts('verify')).to.deep.equal([{ outcome: 'accepted', code: undefined, status: undefined, issuer: issuer.issuer, algorithm: 'ES256' }]);
    expectNothingSecret(recorder.all(), [token]);
  });

  it('a cached token: authenticate says cached, verify publishes nothing', async () => {
    const s = await start();
    const token = await issuer.sign();
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    recorder = subscribeAll();
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    expect(recorder.sequence()).to.deep.equal([...ops('authenticate'), 'handler']);
    expect(recorder.contexts('authenticate')[0]).to.include({ outcome: 'accepted', source: 'jwt', cached: true, issuer: issuer.issuer, algorithm: 'ES256' });
  });

  it('a refused token: error before asyncStart on verify and authenticate, with code and status; onEvent still reports it once', async () => {
    const events: TokenGuardEvent[] = [];
    const s = await start({ onEvent: (e) => events.push(e) });
    const token = await issuer.sign({ aud: 'https://other.example.com' });
    recorder = subscribeAll();
    const reply = await s.send('/', { headers: bearer(token) });
    expect(reply.status).to.equal(401);
    expect(recorder.sequence()).to.deep.equal([
      'authenticate:start', 'verify:start', 'verify:end', 'authenticate:end',
      'verify:error', 'verify:asyncStart', 'verify:asyncEnd', 'authenticate:error', 'authenticate:asyncStart', 'authenticate:asyncEnd',
    ]);
    const [authn] = recorder.contexts('authenticate');
    expect(fields(authn!)).to.deep.equal({
      realm: 'api', outcome: 'refused', code: 'audience_invalid', status: 401,
      scheme: undefined, source: undefined, cached: undefined, issuer: undefined, algorithm: undefined,
    });
    expect(authn!.error).to.be.instanceOf(AuthError);
    const [verify] = recorder.contexts('verify');
    expect(fields(verify!)).to.deep.equal({ outcome: 'refused', code: 'audience_invalid', status: 401, issuer: undefined, algorithm: undefined });
    expect(events.filter((e) => e.type === 'token_rejected')).to.deep.equal([{ type: 'token_rejected', code: 'audience_invalid', status: 401 }]);
    expectNothingSecret(recorder.all(), [token]);
  });

  it('a request without credentials: refused by authenticate alone (credentials_missing, 401); with optional, anonymous and next() after the span', async () => {
    const s = await start();
    recorder = subscribeAll();
    expect((await s.send('/')).status).to.equal(401);
    expect(recorder.sequence()).to.deep.equal(ops('authenticate', true));
    expect(recorder.contexts('authenticate')[0]).to.include({ outcome: 'refused', code: 'credentials_missing', status: 401 });
    recorder.stop();
    await served!.close();
    const optional = await start({ optional: true });
    recorder = subscribeAll();
    expect((await optional.send('/')).status).to.equal(200);
    expect(recorder.sequence()).to.deep.equal([...ops('authenticate'), 'handler']);
    expect(recorder.contexts('authenticate')[0]).to.include({ outcome: 'anonymous', code: undefined, scheme: undefined });
  });

  it('a cold key set: discovery then JWKS on fetch, with URL, method and status, inside verify and authenticate', async () => {
    const s = await start({}, false);
    const token = await issuer.sign();
    recorder = subscribeAll();
    // What a tracer does: a store bound to start holds for the whole operation, so children find their parent.
    const current = new AsyncLocalStorage<object>();
    const parents: object[] = [];
    const authnChannel = tracingChannel<object, object>(TRACING_CHANNELS.authenticate);
    const verifyChannel = tracingChannel<object, object>(TRACING_CHANNELS.verify);
    const fetchChannel = tracingChannel<object, object>(TRACING_CHANNELS.fetch);
    const onFetch = (): void => void parents.push(current.getStore()!);
    authnChannel.start.bindStore(current, (context) => context);
    verifyChannel.start.bindStore(current, (context) => context);
    fetchChannel.start.subscribe(onFetch);
    try {
      expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    } finally {
      authnChannel.start.unbindStore(current);
      verifyChannel.start.unbindStore(current);
      fetchChannel.start.unsubscribe(onFetch);
    }
    expect(recorder.sequence().filter((e) => e.startsWith('fetch:'))).to.deep.equal([...ops('fetch'), ...ops('fetch')]);
    expect(recorder.contexts('fetch')).to.deep.equal([
      { operation: 'discovery', method: 'GET', url: `${issuer.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, outcome: 'answered', status: 200, failure: undefined },
      { operation: 'jwks', method: 'GET', url: issuer.jwksUri, outcome: 'answered', status: 200, failure: undefined },
    ]);
    const [verify] = recorder.contexts('verify');
    expect(parents).to.deep.equal([verify, verify]);
    expect(recorder.contexts('authenticate')[0]).to.include({ outcome: 'accepted', cached: false });
  });

  it('a provider outage: fetch error with failure and status, verify and authenticate unavailable (503)', async () => {
    const s = await start({}, false);
    const token = await issuer.sign();
    issuer.outage({ status: 503 });
    recorder = subscribeAll();
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(503);
    const [fetched] = recorder.contexts('fetch');
    expect(recorder.sequence().filter((e) => e.startsWith('fetch:'))).to.deep.equal(ops('fetch', true));
    expect(fields(fetched!)).to.deep.equal({
      operation: 'discovery', method: 'GET', url: `${issuer.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, outcome: 'failed', status: 503, failure: 'status',
    });
    expect(fetched!.error).to.be.instanceOf(KeySourceError);
    expect(fields(recorder.contexts('verify')[0]!)).to.include({ outcome: 'unavailable', code: 'key_source_unavailable', status: 503 });
    expect(fields(recorder.contexts('authenticate')[0]!)).to.include({ outcome: 'unavailable', code: 'key_source_unavailable', status: 503 });
    expectNothingSecret(recorder.all(), [token]);
  });

  it('an introspected token: introspect around the POST on fetch, source introspection; the second request cached; no token or client secret anywhere', async () => {
    const { clientId, clientSecret, endpoint } = issuer.introspection!;
    const s = await start({ introspection: { clientId, clientSecret: clientSecret! } });
    const token = issuer.issueOpaque();
    recorder = subscribeAll();
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    expect(recorder.sequence()).to.deep.equal([
      'authenticate:start', 'introspect:start', 'introspect:end', 'authenticate:end', 'fetch:start', 'fetch:end',
      'fetch:asyncStart', 'fetch:asyncEnd', 'introspect:asyncStart', 'introspect:asyncEnd', 'authenticate:asyncStart', 'authenticate:asyncEnd', 'handler',
    ]);
    expect(recorder.contexts('introspect')).to.deep.equal([{ endpoint, signed: false, outcome: 'answered', active: true, failure: undefined, status: undefined }]);
    expect(recorder.contexts('fetch')).to.deep.equal([{ operation: 'introspection', method: 'POST', url: endpoint, outcome: 'answered', status: 200, failure: undefined }]);
    expect(recorder.contexts('authenticate')[0]).to.include({ outcome: 'accepted', source: 'introspection', cached: false, issuer: issuer.issuer, algorithm: undefined });
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    expect(recorder.contexts('authenticate')[1]).to.include({ source: 'introspection', cached: true });
    expect(recorder.contexts('introspect')).to.have.length(1);
    expectNothingSecret(recorder.all(), [token, clientSecret!]);
  });

  it('an introspection endpoint down: introspect and fetch failed with its status, authenticate unavailable', async () => {
    const { clientId, clientSecret } = issuer.introspection!;
    const s = await start({ introspection: { clientId, clientSecret: clientSecret! } });
    const token = issuer.issueOpaque();
    issuer.outage({ endpoint: 'introspection', status: 500 });
    recorder = subscribeAll();
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(503);
    expect(fields(recorder.contexts('introspect')[0]!)).to.include({ outcome: 'failed', failure: 'status', status: 500 });
    expect(fields(recorder.contexts('fetch')[0]!)).to.include({ operation: 'introspection', outcome: 'failed', failure: 'status', status: 500 });
    expect(fields(recorder.contexts('authenticate')[0]!)).to.include({ outcome: 'unavailable', code: 'introspection_unavailable', status: 503 });
    expectNothingSecret(recorder.all(), [token, clientSecret!]);
  });

  it('a DPoP request: dpop inside authenticate after the cached token; a replayed proof refused there (dpop_replayed); no token or proof anywhere', async () => {
    const key = await createDpopKey();
    const s = await start({ dpop: {} });
    const token = await issuer.sign({}, { dpopKey: key });
    const proof = await key.proof({ method: 'GET', url: `${s.origin}/`, accessToken: token });
    recorder = subscribeAll();
    expect((await s.send('/', { headers: dpop(token, proof) })).status).to.equal(200);
    expect(recorder.sequence().filter((e) => !e.startsWith('verify:'))).to.deep.equal([
      'authenticate:start', 'authenticate:end', ...ops('dpop'), 'authenticate:asyncStart', 'authenticate:asyncEnd', 'handler',
    ]);
    expect(recorder.contexts('dpop')).to.deep.equal([{ outcome: 'accepted', code: undefined, status: undefined, nonceIssued: false }]);
    expect(recorder.contexts('authenticate')[0]).to.include({ outcome: 'accepted', scheme: 'DPoP', source: 'jwt' });
    expect((await s.send('/', { headers: dpop(token, proof) })).status).to.equal(401);
    const [, replayed] = recorder.contexts('dpop');
    expect(fields(replayed!)).to.deep.equal({ outcome: 'refused', code: 'dpop_replayed', status: 401, nonceIssued: undefined });
    expect(fields(recorder.contexts('authenticate')[1]!)).to.include({ outcome: 'refused', code: 'dpop_replayed', status: 401, scheme: 'DPoP', cached: true });
    expectNothingSecret(recorder.all(), [token, proof]);
  });

  it('with a subscriber, every answer is the one given without: status, WWW-Authenticate, DPoP-Nonce (challenges of refusals after the span too)', async () => {
    const key = await createDpopKey();
    const app = new Koa<AuthState>();
    app.silent = true;
    const auth = authenticate({ issuer: issuer.issuer, audience: AUDIENCE, dpop: {}, resourceMetadata: `${AUDIENCE}/.well-known/oauth-protected-resource` });
    const admin = requireScopes('admin');
    app.use(auth).use((ctx, next) => (ctx.path === '/admin' ? admin(ctx, next) : next())).use((ctx) => {
      ctx.body = 'ok';
    });
    await keySets(auth).ready();
    const s = served = await serve(app);
    const token = await issuer.sign();
    const bound = await issuer.sign({}, { dpopKey: key });
    const answers = async () => {
      const replies = [
        await s.send('/'),
        await s.send('/', { headers: bearer(token) }),
        await s.send('/admin', { headers: bearer(token) }),
        await s.send('/', { headers: bearer(await issuer.sign({ aud: 'https://other.example.com' })) }),
        await s.send('/', { headers: dpop(bound, await key.proof({ method: 'GET', url: `${s.origin}/`, accessToken: bound })) }),
        await s.send('/admin', { headers: dpop(bound, await key.proof({ method: 'GET', url: `${s.origin}/admin`, accessToken: bound })) }),
        await s.send('/', { headers: bearer(bound) }),
      ];
      return replies.map((r) => [r.status, r.headers['www-authenticate'] ?? null, r.text]);
    };
    const without = await answers();
    recorder = subscribeAll();
    expect(await answers()).to.deep.equal(without);
    expect(without.map(([status]) => status)).to.deep.equal([401, 200, 403, 401, 200, 403, 401]);
    expect(recorder.contexts('authenticate').map((c) => c.outcome)).to.deep.equal(['refused', 'accepted', 'accepted', 'refused', 'accepted', 'accepted', 'refused']);
  });

  it('with no subscriber, nothing is published and requests are served as before', async () => {
    const s = await start();
    const token = await issuer.sign();
    const authn = tracingChannel(TRACING_CHANNELS.authenticate);
    expect(authn.hasSubscribers).to.equal(false);
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    recorder = subscribeAll();
    recorder.stop();
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    expect(recorder.all()).to.deep.equal([]);
  });

  it('koa-token-guard:cache: one message per userinfo look-up, a miss then a hit, with the realm and nothing else', async () => {
    const messages: unknown[] = [];
    const record = (message: unknown): void => void messages.push(message);
    const provider: typeof fetch = () => Promise.resolve(new Response(JSON.stringify({ sub: 'user-1' }), { headers: { 'content-type': 'application/json' } }));
    const client = createUserInfoClient({ issuer: issuer.issuer, audience: AUDIENCE, userinfoEndpoint: 'https://idp.example.com/userinfo', fetch: provider }, 'messages');
    const verified = await createVerifier({ issuer: issuer.issuer, audience: AUDIENCE })(await issuer.sign({ sub: 'user-1' }));
    await client.get(verified);
    subscribe(CACHE_CHANNEL, record);
    try {
      await client.get(verified);
      await client.get({ ...verified, token: await issuer.sign({ sub: 'user-1' }) });
    } finally {
      unsubscribe(CACHE_CHANNEL, record);
    }
    expect(messages).to.deep.equal([{ cache: 'userinfo', realm: 'messages', hit: true }, { cache: 'userinfo', realm: 'messages', hit: false }]);
  });
});
