// Fuzzing what the authorization server answers (RFC 7662 2.2, RFC 9701 5): structure-aware mutations
// of a good answer (member types, repeated members, huge numbers, deep nesting, members added or
// dropped) and of RFC 9701 answer JWTs (header and payload, signed with the right key or another one),
// served by a loopback server. Every answer is classified by an oracle written from the RFCs: a 200 only
// for an answer that must pass, a 401 for a token the answer refuses, a 503 for the server's faults,
// never a 500. A CPU guard compares each fuzzed request's cost with a normal refusal's. FUZZ_RUNS and
// FUZZ_SEED work as in fuzz.spec.ts (this spec runs a tenth of FUZZ_RUNS, at least 300).
import { expect } from 'chai';
import fc from 'fast-check';
import Koa from 'koa';
import { AuthError, authenticate, clearKeySets, type AuthState } from '../../lib/index.js';
import { MAX_NUMERIC_DATE } from '../../lib/core/numeric-date.js';
import { introspectionServer, type IntrospectionServer, type Reply } from '../support/introspection-server.js';
import { signingKey, type SigningKey } from '../support/provider.js';
import { cpuOf } from './cpu.js';
import { inject } from './inject.js';
import { ERROR_DESCRIPTIONS, signRaw, trapProcessErrors } from './support.js';

const RUNS = Math.max(300, Math.floor(Number(process.env.FUZZ_RUNS ?? 3000) / 10));
const SEED = Number(process.env.FUZZ_SEED ?? 20_251_215);
/** A fuzzed request may cost at most this many times a normal refusal's CPU (see the CPU guard below). */
const CPU_RATIO = 5;
const TOLERANCE = 5; // DEFAULTS.clockTolerance
const MAX_DEPTH = 32; // MAX_ANSWER_DEPTH
const ACCESS_TYPES = new Set(['bearer', 'dpop', 'access_token', 'urn:ietf:params:oauth:token-type:access_token']);
const STRING_MEMBERS = ['sub', 'jti', 'client_id', 'azp', 'username', 'token_type', 'token_use'];
const now = (): number => Math.floor(Date.now() / 1000);

type Status = 200 | 401 | 503;
/** One answer member as JSON text: the value is raw, so it may be `1e400` or repeat a name. */
type Member = readonly [name: string, raw: string];

const text = (members: readonly Member[]): string => `{${members.map(([name, raw]) => `${JSON.stringify(name)}:${raw}`).join(',')}}`;

/** Deepest nesting of objects and arrays in JSON text (strings skipped). */
function depth(json: string): number {
  let level = 0;
  let max = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') for (i++; json[i] !== '"'; i++) if (json[i] === '\\') i++;
    if (c === '{' || c === '[') max = Math.max(max, ++level);
    if (c === '}' || c === ']') level--;
  }
  return max;
}

/** Whether any object in a JSON text repeats a member name ("a" and "\u0061" are one name). */
function repeats(json: string): boolean {
  const stack: (Set<string> | undefined)[] = [];
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(undefined);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === '"') {
      const start = i;
      for (i++; json[i] !== '"'; i++) if (json[i] === '\\') i++;
      const top = stack.at(-1);
      if (top !== undefined && json[i + 1] === ':') {
        const name = JSON.parse(json.slice(start, i + 1)) as string;
        if (top.has(name)) return true;
        top.add(name);
      }
    }
  }
  return false;
}

const isNumericDate = (v: unknown): boolean => typeof v === 'number' && v >= 0 && v <= MAX_NUMERIC_DATE;

/** What a plain answer must get, from RFC 7662 2.2 and this package's documented checks (a Bearer request, no DPoP or mTLS). */
function expectedFor(json: string, issuer: string, audience: string): Status {
  if (repeats(json) || depth(json) > MAX_DEPTH) return 503;
  const a = JSON.parse(json) as Record<string, unknown>;
  if (a === null || typeof a !== 'object' || Array.isArray(a)) return 503;
  if (a.active !== true) return 401;
  if (STRING_MEMBERS.some((name) => a[name] !== undefined && typeof a[name] !== 'string')) return 401;
  const type = (a.token_type as string | undefined)?.toLowerCase();
  if (type !== undefined && !ACCESS_TYPES.has(type)) return 401;
  if (a.token_use !== undefined && (a.token_use as string).toLowerCase() !== 'access_token') return 401;
  if (a.iss !== undefined && a.iss !== issuer) return 401;
  const aud = a.aud;
  if (!(aud === audience || (Array.isArray(aud) && aud.includes(audience)))) return 401;
  if (['exp', 'nbf', 'iat', 'auth_time'].some((name) => a[name] !== undefined && !isNumericDate(a[name]))) return 401;
  const t = Date.now() / 1000;
  if (typeof a.exp === 'number' && Math.floor(t) >= a.exp + TOLERANCE) return 401;
  if (typeof a.nbf === 'number' && a.nbf > t + TOLERANCE) return 401;
  if (typeof a.iat === 'number' && a.iat > t + TOLERANCE) return 401;
  if (a.scope !== undefined && typeof a.scope !== 'string') return 401;
  if (a.scp !== undefined && typeof a.scp !== 'string' && !(Array.isArray(a.scp) && a.scp.every((s) => typeof s === 'string'))) return 401;
  // A bound token under Bearer is refused (no DPoP or mTLS here), and so is a DPoP one without its binding.
  const cnf = a.cnf as Record<string, unknown> | undefined;
  if (cnf !== undefined && (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf) || cnf.jkt !== undefined || cnf['x5t#S256'] !== undefined)) return 401;
  if (type === 'dpop') return 401;
  return 200;
}

describe('security: fuzzing introspection answers, plain and RFC 9701 (fast-check)', function () {
  this.timeout(Math.max(60_000, RUNS * 100));

  let server: IntrospectionServer;
  let rogue: SigningKey;
  let plainApp: Koa<AuthState>;
  let signedApp: Koa<AuthState>;
  let counter = 0;
  const unexpected: unknown[] = [];
  const trap = trapProcessErrors(unexpected);
  /** Fuzzed requests and what each cost (µs of CPU), against the median of normal refusals. */
  const costs: { reply: Reply; app: Koa<AuthState>; cpu: number; baseline: number }[] = [];

  function appFor(jwtResponse: boolean): Koa<AuthState> {
    const app = new Koa<AuthState>();
    app.silent = true;
    app.on('error', (error: unknown) => {
      if (!(error instanceof AuthError) || (error.status >= 500 && error.code !== 'introspection_unavailable')) unexpected.push(error);
    });
    app.use(authenticate({
      issuer: server.issuer, audience: server.audience,
      introspection: { clientId: server.clientId, clientSecret: server.clientSecret, jwtResponse },
    }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    return app;
  }

  /** One request with a new token (so nothing is cached), answered with `reply`; its status and CPU cost. */
  async function ask(app: Koa<AuthState>, reply: Reply): Promise<{ status: number; cpu: number; challenge: string; body: string }> {
    server.override = () => reply;
    const token = `fuzz_${++counter}`;
    let answer!: Awaited<ReturnType<typeof inject>>;
    const cpu = await cpuOf(async () => {
      answer = await inject(app, '/', ['Host', 'api.example.com', 'Authorization', `Bearer ${token}`]);
    });
    return { status: answer.status, cpu, challenge: String(answer.headers['www-authenticate'] ?? ''), body: answer.body };
  }

  /** The median CPU cost of a normal refusal: an inactive answer. */
  async function baselineOf(app: Koa<AuthState>, reply: Reply): Promise<number> {
    for (let i = 0; i < 20; i++) await ask(app, reply); // JIT warm-up
    const samples: number[] = [];
    for (let i = 0; i < 41; i++) samples.push((await ask(app, reply)).cpu);
    return samples.sort((x, y) => x - y)[20]!;
  }

  function check(result: { status: number; challenge: string; body: string }, allowed: readonly Status[], what: string): void {
    expect(result.status, what).to.be.oneOf(allowed);
    if (result.status === 401) {
      const match = /^Bearer realm="api", error="invalid_token", error_description="([^"]*)"$/.exec(result.challenge);
      expect(match, result.challenge).not.to.equal(null);
      expect(ERROR_DESCRIPTIONS.has(match![1]!), match![1]).to.equal(true);
    }
    expect(result.body).not.to.include('user-1');
  }

  const json = (body: string): Reply => ({ status: 200, headers: { 'content-type': 'application/json' }, body });
  const jwt = (body: string): Reply => ({ status: 200, headers: { 'content-type': 'application/token-introspection+jwt' }, body });

  let plainBaseline: number;
  let signedBaseline: number;
  before(async () => {
    server = await introspectionServer();
    rogue = await signingKey('ES256', server.key.kid, 'rogue-introspection-fuzz');
    plainApp = appFor(false);
    signedApp = appFor(true);
    const inactive = JSON.stringify({ active: false });
    plainBaseline = await baselineOf(plainApp, json(inactive));
    signedBaseline = await baselineOf(signedApp, jwt(await signRaw(server.key,
      JSON.stringify({ alg: 'ES256', kid: server.key.kid, typ: 'token-introspection+jwt' }),
      JSON.stringify({ iss: server.issuer, aud: server.clientId, iat: now(), token_introspection: { active: false } }))));
    trap.start();
  });
  after(async () => {
    trap.stop();
    await server.close();
    clearKeySets(server.issuer);
  });

  // Raw JSON values an attacker (or a broken server) would send, as text.
  const rawValue = fc.oneof(
    fc.constantFrom('null', 'true', 'false', '0', '-1', '1e308', '1e400', '-1e400', '123456789012345678901234567890', '1.5', '""', '" "',
      '"Bearer"', '"DPoP"', '"refresh_token"', '"access_token"', '"true"', '[]', '{}', '{"jkt":"abc"}', '["a","b c"]', '[1]', '"\\u0000"'),
    fc.integer({ min: 1, max: 48 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
    fc.integer({ min: 1, max: 40 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  );
  // Times far from every boundary of the clock tolerance, so the oracle and the server agree on "now".
  const time = fc.constantFrom(-100_000, -600, 600, 100_000);
  const NAMES = ['active', 'iss', 'aud', 'sub', 'scope', 'scp', 'client_id', 'token_type', 'token_use', 'exp', 'nbf', 'iat', 'auth_time', 'cnf', 'jti', 'username', 'azp'];
  const mutation = fc.oneof(
    fc.tuple(fc.constant('set' as const), fc.constantFrom(...NAMES), rawValue),
    fc.tuple(fc.constant('time' as const), fc.constantFrom('exp', 'nbf', 'iat', 'auth_time'), time),
    fc.tuple(fc.constant('drop' as const), fc.constantFrom(...NAMES), fc.constant('')),
    fc.tuple(fc.constant('repeat' as const), fc.constantFrom(...NAMES), rawValue),
    fc.tuple(fc.constant('add' as const), fc.string({ minLength: 1, maxLength: 8 }).map((s) => `x_${s}`), rawValue),
  );

  /** A good answer with a few edits, as member texts. */
  const answer = (issuer: () => string, audience: () => string) => fc.array(mutation, { minLength: 1, maxLength: 4 }).map((edits) => {
    const t = now();
    let members: Member[] = [
      ['active', 'true'], ['iss', JSON.stringify(issuer())], ['aud', JSON.stringify(audience())], ['sub', '"user-1"'], ['scope', '"read:messages"'],
      ['client_id', '"client-app"'], ['token_type', '"Bearer"'], ['iat', String(t - 60)], ['exp', String(t + 300)],
    ];
    for (const [kind, name, value] of edits) {
      if (kind === 'drop') members = members.filter(([n]) => n !== name);
      else if (kind === 'repeat' || kind === 'add') members.push([name, String(value)]);
      else {
        const raw = kind === 'time' ? String(t + Number(value)) : String(value);
        members = [...members.filter(([n]) => n !== name), [name, raw]];
      }
    }
    return members;
  });

  it(`classifies ${RUNS} mutated plain answers exactly: 200 only when every member is right, 503 for malformed ones, never 500`, async () => {
    await fc.assert(fc.asyncProperty(answer(() => server.issuer, () => server.audience), async (members) => {
      const body = text(members);
      const expected = expectedFor(body, server.issuer, server.audience);
      const result = await ask(plainApp, json(body));
      check(result, [expected], body);
      costs.push({ reply: json(body), app: plainApp, cpu: result.cpu, baseline: plainBaseline });
    }), { numRuns: RUNS, seed: SEED, verbose: 1 });
    expect(unexpected).to.deep.equal([]);
  });

  // RFC 9701 answer JWTs: header and payload edits, signed with the server's key or a rogue one (same kid).
  /** Mostly `usual`, sometimes one of `odd` or absent (undefined). */
  const mostly = <T,>(usual: T, ...odd: T[]) => fc.oneof({ weight: 12, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: fc.constantFrom<T | undefined>(...odd, undefined) });
  const header = fc.record({
    alg: mostly('"ES256"', '"none"', '"HS256"', '"ES384"', '"RS256"', '"es256"', 'null'),
    typ: mostly('"token-introspection+jwt"', '"application/token-introspection+jwt"', '"TOKEN-INTROSPECTION+JWT"', '"JWT"', '"at+jwt"', '""', '1', 'null'),
    kid: mostly('KID', '"other"', '1', '""'),
    crit: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('["exp"]', '[]', '"b64"') }),
    extra: fc.option(rawValue, { nil: undefined, freq: 3 }),
  });
  const outer = fc.record({
    iss: mostly('ISSUER', '"https://evil.example.com/"', '1', 'null'),
    aud: mostly('CLIENT', '"another-client"', '["another-client"]', 'CLIENTS', '1'),
    iat: mostly('NOW', 'OLD', 'FUTURE', '1e400', '"now"'),
    exp: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(-600, 600) }),
    repeat: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('iss', 'aud', 'token_introspection') }),
  });
  const IAT: Record<string, (t: number) => string> = { NOW: String, OLD: (t) => String(t - 600), FUTURE: (t) => String(t + 600) };

  it(`refuses ${RUNS} mutated RFC 9701 answers unless signed right: 503 for a bad JWT, the inner answer's verdict otherwise, never 500`, async () => {
    await fc.assert(fc.asyncProperty(header, outer, answer(() => server.issuer, () => server.audience), fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), async (h, o, inner, rightKey) => {
      const t = now();
      const member = (name: string, raw: string | undefined): Member[] => (raw === undefined ? [] : [[name, raw]]);
      const headerText = text([
        ...member('alg', h.alg), ...member('typ', h.typ), ...member('kid', h.kid === 'KID' ? JSON.stringify(server.key.kid) : h.kid),
        ...member('crit', h.crit), ...member('x_extra', h.extra),
      ]);
      const innerText = text(inner);
      const payload: Member[] = [
        ...member('iss', o.iss === 'ISSUER' ? JSON.stringify(server.issuer) : o.iss),
        ...member('aud', o.aud === 'CLIENT' ? JSON.stringify(server.clientId) : o.aud === 'CLIENTS' ? JSON.stringify(['x', server.clientId]) : o.aud),
        ...member('iat', o.iat === undefined ? undefined : (IAT[o.iat]?.(t) ?? o.iat)),
        ...member('exp', o.exp === undefined ? undefined : String(t + o.exp)),
        ['token_introspection', innerText],
      ];
      if (o.repeat !== undefined) payload.push([o.repeat, payload.find(([n]) => n === o.repeat)?.[1] ?? '"x"']);
      const body = await signRaw(rightKey ? server.key : rogue, headerText, text(payload));

      // One-sided where jose decides details (a missing kid), exact everywhere else.
      const hv = JSON.parse(headerText) as Record<string, unknown>;
      const pv = JSON.parse(text(payload)) as Record<string, unknown>;
      const typ = typeof hv.typ === 'string' ? hv.typ.toLowerCase().replace(/^application\//, '') : undefined;
      const aud = pv.aud;
      const signedRight = rightKey && hv.alg === 'ES256' && typ === 'token-introspection+jwt' && hv.crit === undefined
        && (hv.kid === undefined || hv.kid === server.key.kid)
        && pv.iss === server.issuer && (aud === server.clientId || (Array.isArray(aud) && aud.includes(server.clientId)))
        && typeof pv.iat === 'number' && Math.abs(pv.iat - t) < 60 && (pv.exp === undefined || (pv.exp as number) > t)
        && !repeats(headerText) && !repeats(text(payload)) && depth(headerText) <= MAX_DEPTH && depth(text(payload)) <= MAX_DEPTH;
      const innerValue = signedRight ? (JSON.parse(innerText) as Record<string, unknown>) : undefined;
      const vouched = innerValue !== undefined && (innerValue.iss === undefined || innerValue.iss === server.issuer);
      const verdict = vouched ? expectedFor(innerText, server.issuer, server.audience) : 503;
      const allowed: Status[] = vouched && hv.kid === undefined ? [verdict, 503] : [verdict];
      const result = await ask(signedApp, jwt(body));
      check(result, allowed, `${headerText}.${text(payload)} signed by ${rightKey ? 'the server' : 'a rogue key'}`);
      if (!rightKey) expect(result.status).to.equal(503);
      costs.push({ reply: jwt(body), app: signedApp, cpu: result.cpu, baseline: signedBaseline });
    }), { numRuns: RUNS, seed: SEED, verbose: 1 });
    expect(unexpected).to.deep.equal([]);
  });

  // CPU guard. A normal refusal (an inactive answer) costs a loopback HTTP call both ways plus our checks;
  // a fuzzed answer is at most a few KB, so only superlinear work (a quadratic scan, a backtracking
  // regex, deep recursion, big-number arithmetic) could cost several times as much. 5x the median leaves
  // room for the signature checks and JSON scans that grow with the answer, while a single sample can be
  // hit by a GC pause or a JIT deoptimisation: so a request over the bound is measured again (a new
  // token, the same answer) and judged by the least of five costs.
  it(`costs no fuzzed request more than ${CPU_RATIO}x the CPU of a normal refusal (process.cpuUsage, least of five)`, async () => {
    expect(costs.length).to.be.at.least(2 * RUNS);
    const worst: { ratio: number; body: string }[] = [];
    for (const { reply, app, cpu, baseline } of costs) {
      if (cpu <= CPU_RATIO * baseline) continue;
      let least = cpu;
      for (let i = 0; i < 4; i++) least = Math.min(least, (await ask(app, reply)).cpu);
      if (least > CPU_RATIO * baseline) worst.push({ ratio: least / baseline, body: reply.body.slice(0, 200) });
    }
    expect(worst).to.deep.equal([]);
  });
});
