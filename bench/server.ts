// One benchmark target: a Koa app serving GET /messages, protected (or not) the way TARGET says.
// Started by bench/http.ts in its own process, pinned to one core; prints "listening <port>".
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Middleware } from 'koa';
import Router from '@koa/router';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import jwt from 'koa-jwt';
import { koaJwtSecret } from 'jwks-rsa';
import { lib } from './lib.js';
import { AUDIENCE, SCOPE } from './support.js';

export type Target = 'koa' | 'floor' | 'ours' | 'ours-noguard' | 'ours-otel' | 'ours-otelbase' | 'ours-nocache' | 'jose' | 'koa-jwt' | 'ours-introspection' | 'ours-dpop';

const { authenticate, requireScopes } = lib;

/** Features whose rows the bench adds once they exist in lib/ (introspection, DPoP). */
export const features = {
  introspection: typeof (lib as Record<string, unknown>).createIntrospector === 'function',
  dpop: 'DPOP_DEFAULTS' in lib,
};

/** The bench issuer's introspection client (bench/support.ts answers any client). */
export const INTROSPECTION_CLIENT = { clientId: 'bench-api', clientSecret: 'bench-secret-0123456789abcdef' };

const hasScope = (scope: unknown): boolean => typeof scope === 'string' && scope.split(' ').includes(SCOPE);

// The same requirement after every verifier: our guard, and for the peers a scope check reading what they leave in ctx.state.
// The A/B rows (floor, authenticate() alone) have none: they measure what each piece adds over HTTP.
type Unchecked = 'koa' | 'floor' | 'ours-noguard';
const scopeCheck: Record<Exclude<Target, Unchecked>, Middleware> = {
  ours: requireScopes(SCOPE) as Middleware,
  get 'ours-otel'() {
    return this.ours;
  },
  get 'ours-otelbase'() {
    return this.ours;
  },
  get 'ours-nocache'() {
    return this.ours;
  },
  get 'ours-introspection'() {
    return this.ours;
  },
  get 'ours-dpop'() {
    return this.ours;
  },
  jose: (ctx, next) => (hasScope((ctx.state as { user?: JWTPayload }).user?.scope) ? next() : ctx.throw(403)),
  get 'koa-jwt'() {
    return this.jose;
  },
};

function rawJose(issuer: string, jwksUri: string): Middleware {
  const keys = createRemoteJWKSet(new URL(jwksUri));
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    if (!header.startsWith('Bearer ')) return ctx.throw(401);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(header.slice(7), keys, { issuer, audience: AUDIENCE }));
    } catch {
      return ctx.throw(401);
    }
    ctx.state.user = payload;
    await next();
  };
}

/**
 * The floor of any cached-token check: one `async` middleware that reads the header and does one `Map.get`
 * (the first request stores its value). Nothing verified, nothing checked: what no library can beat.
 */
function floor(): Middleware {
  const known = new Map<string, object>();
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    let found = known.get(header);
    if (found === undefined) known.set(header, found = { sub: 'floor' });
    ctx.state.user = found;
    await next();
  };
}

/** The app of one target; `issuer` serves discovery, `jwksUri` the keys (used directly by the peers). */
export function app(target: Target, { issuer, jwksUri }: { issuer: string; jwksUri: string }): Koa {
  const koa = new Koa();
  const router = new Router();
  switch (target) {
    case 'koa': break;
    case 'floor': koa.use(floor()); break;
    case 'ours-noguard': koa.use(authenticate({ issuer, audience: AUDIENCE })); break;
    // ours-otel: the same app; its process registers the OpenTelemetry instrumentation first (below, bench/otel.ts);
    // ours-otelbase: the OpenTelemetry SDK and context manager without the instrumentation, its baseline.
    case 'ours': case 'ours-otel': case 'ours-otelbase': koa.use(authenticate({ issuer, audience: AUDIENCE })); break;
    case 'ours-nocache': koa.use(authenticate({ issuer, audience: AUDIENCE, cache: false })); break;
    case 'jose': koa.use(rawJose(issuer, jwksUri)); break;
    // Options of features that may not be in this build: passed untyped, used only when `features` says so.
    case 'ours-introspection':
      if (!features.introspection) throw new Error(`${target}: not in this build (bench/server.ts features)`);
      koa.use(authenticate({ issuer, audience: AUDIENCE, ...({ introspection: INTROSPECTION_CLIENT } as object) }));
      break;
    case 'ours-dpop':
      if (!features.dpop) throw new Error(`${target}: not in this build (bench/server.ts features)`);
      // The bench's one client key sends every proof (about 130,000 a run): above the per-key replay share
      // a production client gets (25,000 per window), which would turn the row into a count of 429s.
      koa.use(authenticate({ issuer, audience: AUDIENCE, ...({ dpop: { replayCache: { max: 1_000_000, maxPerKey: 1_000_000 } } } as object) }));
      break;
    case 'koa-jwt':
      koa.use(jwt({
        secret: koaJwtSecret({ jwksUri, cache: true, rateLimit: false }),
        audience: AUDIENCE, issuer, algorithms: ['ES256', 'RS256'],
      }));
      break;
  }
  if (target !== 'koa' && target !== 'floor' && target !== 'ours-noguard') koa.use(scopeCheck[target]);
  router.get('/messages', (ctx) => {
    ctx.body = { messages: [] };
  });
  koa.use(router.routes());
  return koa;
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  // Loaded only by the target that measures it.
  if (process.argv[2] === 'ours-otel' || process.argv[2] === 'ours-otelbase') (await import('./otel.js')).instrument({ global: true, instrumentation: process.argv[2] === 'ours-otel' });
  const handle = app(process.argv[2] as Target, { issuer: process.env.BENCH_ISSUER!, jwksUri: process.env.BENCH_JWKS_URI! }).callback();
  const server = http.createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  });
  // A normal exit, so `--cpu-prof` writes its profile.
  process.on('SIGTERM', () => process.exit(0));
}
