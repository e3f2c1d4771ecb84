// In-process cost of one request through authenticate() + requireScopes(), the HTTP stack left out:
// what the middleware itself adds on the hit paths (token cached, introspection answer cached) beside
// two no-op Koa middlewares, and a DPoP request (cached token + a new proof) beside one jose jwtVerify.
// CPU time (process.cpuUsage, every thread: WebCrypto runs on libuv's pool), the lower of 7 interleaved rounds.
// Then the cached-token row again with a (no-op) subscriber on every tracing channel, in rounds of its own
// (subscribing and unsubscribing between rows deoptimises every row): what publishing costs. The plain row is
// the no-subscriber case. Last, the same row with the OpenTelemetry instrumentation on (bench/otel.ts: spans and
// metrics recorded, exported nowhere), also in rounds of its own.
import { execFileSync } from 'node:child_process';
import { tracingChannel } from 'node:diagnostics_channel';
import { cpus } from 'node:os';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { lib } from './lib.js';
import { dpopClient } from './dpop.js';
import { instrument } from './otel.js';
import { INTROSPECTION_CLIENT } from './server.js';
import { AUDIENCE, benchKeys, hasTaskset, OPAQUE_TOKEN, quick, SCOPE, signTokens, startIssuer } from './support.js';

const { authenticate, requireScopes, TRACING_CHANNELS } = lib;

const OPS = quick ? 1_000 : 4_000;
const ROUNDS = quick ? 3 : 7;
const URL_ = 'http://127.0.0.1:3000/messages';

const SUBSCRIBED = 'authenticate + requireScopes, token cached, a subscriber on every tracing channel';
const OTEL = 'authenticate + requireScopes, token cached, OpenTelemetry instrumentation on';
// The OpenTelemetry SDK and its AsyncLocalStorage context manager without the instrumentation: what any
// OpenTelemetry application pays, the instrumentation's baseline.
const OTEL_BASE = 'authenticate + requireScopes, token cached, OpenTelemetry SDK on, no instrumentation';

/** A subscriber that does nothing on every event of every channel; returns its unsubscribe. */
function subscribeEverywhere(): () => void {
  const noop = (): void => undefined;
  const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
  const channels = Object.values(TRACING_CHANNELS).map((name) => tracingChannel(name));
  for (const channel of channels) channel.subscribe(handlers);
  return () => channels.forEach((channel) => channel.unsubscribe(handlers));
}

type Ctx = Record<string, unknown>;
/** A Koa middleware as called here: with a stand-in context. */
type Step = (ctx: Ctx, next: () => Promise<unknown>) => Promise<unknown>;
/** What authenticate() and the guard read of a Koa context; each request gets its own header strings, as from the socket. */
function context(authorization: string | undefined, proof?: string): Ctx {
  const rawHeaders = ['Host', '127.0.0.1:3000', 'User-Agent', 'wrk'];
  if (authorization !== undefined) rawHeaders.push('Authorization', Buffer.from(authorization).toString());
  if (proof !== undefined) rawHeaders.push('DPoP', proof);
  return { method: 'GET', protocol: 'http', host: '127.0.0.1:3000', originalUrl: '/messages', state: {}, query: {}, req: { rawHeaders }, request: {}, is: () => false, set() {} };
}

export async function main(): Promise<void> {
  const pin = hasTaskset() && cpus().length > 1;
  const keys = await benchKeys();
  const key = keys.find((k) => k.alg === 'ES256')!;
  const issuer = await startIssuer(keys);
  const [token] = await signTokens(key, issuer.issuer, 1);
  const fresh = await signTokens(key, issuer.issuer, OPS, 'r');
  const client = await dpopClient(key, issuer.issuer);
  const proofs = (await client.lines(URL_, OPS * ROUNDS + 1)).map((line) => line.split('\t')[1]!);
  if (pin) execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });

  const guard = requireScopes(SCOPE) as unknown as Step;
  const chain = (auth: unknown) => (ctx: Ctx): Promise<unknown> => (auth as Step)(ctx, () => guard(ctx, () => Promise.resolve()));
  const noop: Step = async (_ctx, next) => {
    await next();
  };
  const jwt = chain(authenticate({ issuer: issuer.issuer, audience: AUDIENCE }));
  const opaque = chain(authenticate({ issuer: issuer.issuer, audience: AUDIENCE, introspection: INTROSPECTION_CLIENT }));
  // One client key sends every proof of the rounds: more than the default per-key replay share (25,000).
  const dpop = chain(authenticate({ issuer: issuer.issuer, audience: AUDIENCE, dpop: { replayCache: { maxPerKey: 100_000 } } }));
  const imported = await importJWK(key.publicJwk, key.alg);
  const proofKey = await importJWK(decodeProtectedHeader(proofs[0]!).jwk!, 'ES256');
  let p = 0; // proofs jose checks (may come round again)
  let d = 0; // proofs the DPoP requests send (never twice: each is single-use)
  let f = 0;
  const tasks: Record<string, () => Promise<unknown>> = {
    'two no-op Koa middlewares': () => {
      const ctx = context(`Bearer ${token}`);
      return noop(ctx, () => noop(ctx, () => Promise.resolve()));
    },
    'authenticate + requireScopes, token cached': () => jwt(context(`Bearer ${token}`)),
    'authenticate + requireScopes, introspection answer cached': () => opaque(context(`Bearer ${OPAQUE_TOKEN}`)),
    'jose jwtVerify of a fresh token (key imported)': () => jwtVerify(fresh[f++ % OPS]!, imported, { issuer: issuer.issuer, audience: AUDIENCE, algorithms: ['ES256'] }),
    'jose jwtVerify of a DPoP proof (key imported)': () => jwtVerify(proofs[p++ % proofs.length]!, proofKey, { algorithms: ['ES256'], typ: 'dpop+jwt' }),
    'authenticate + requireScopes, DPoP: token cached + new proof': () => dpop(context(`DPoP ${client.token}`, proofs[d++])),
  };
  for (const task of Object.values(tasks)) await task(); // warm: key sets loaded, answers cached
  const best = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, task] of Object.entries(tasks)) {
      const before = process.cpuUsage();
      for (let i = 0; i < OPS; i++) await task();
      const used = process.cpuUsage(before);
      best.set(name, Math.min(best.get(name) ?? Infinity, (used.user + used.system) / OPS));
    }
  }
  const cached = tasks['authenticate + requireScopes, token cached']!;
  /** The cached-token row again, warmed then timed in rounds of its own. */
  const again = async (name: string): Promise<void> => {
    for (let i = 0; i < OPS; i++) await cached(); // warm the traced path
    for (let round = 0; round < ROUNDS; round++) {
      const before = process.cpuUsage();
      for (let i = 0; i < OPS; i++) await cached();
      const used = process.cpuUsage(before);
      best.set(name, Math.min(best.get(name) ?? Infinity, (used.user + used.system) / OPS));
    }
  };
  const unsubscribe = subscribeEverywhere();
  await again(SUBSCRIBED);
  unsubscribe();
  const sdk = instrument({ global: true, instrumentation: false });
  await again(OTEL_BASE);
  await sdk.stop();
  const otel = instrument({ global: true });
  await again(OTEL);
  await otel.stop();
  await issuer.close();
  const us = (name: string) => best.get(name)!;
  console.log(`In-process cost of one request, CPU µs (every thread), the lower of ${ROUNDS} interleaved rounds of ${OPS.toLocaleString('en')}; ${pin ? 'pinned to one core' : 'NOT pinned'}.\n`);
  console.log('| path | CPU µs per request |\n|---|--:|');
  for (const [name, value] of best) console.log(`| ${name} | ${value.toFixed(1)} |`);
  const base = us('two no-op Koa middlewares');
  console.log(`\nOwn cost beside two no-op middlewares: token cached ${(us('authenticate + requireScopes, token cached') - base).toFixed(1)} µs, ` +
    `introspection answer cached ${(us('authenticate + requireScopes, introspection answer cached') - base).toFixed(1)} µs; ` +
    `a subscriber on every tracing channel adds ${(us(SUBSCRIBED) - us('authenticate + requireScopes, token cached')).toFixed(1)} µs to the cached token, ` +
    `the OpenTelemetry SDK alone ${(us(OTEL_BASE) - us('authenticate + requireScopes, token cached')).toFixed(1)} µs, the instrumentation ${(us(OTEL) - us(OTEL_BASE)).toFixed(1)} µs over that. ` +
    `DPoP request ÷ one jose jwtVerify of its proof: ${(us('authenticate + requireScopes, DPoP: token cached + new proof') / us('jose jwtVerify of a DPoP proof (key imported)')).toFixed(2)}.`);
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
