// The goals of issues 15, 22 and 23, checked on one run's rows: every ratio compares rows of the same run.

export interface Row {
  id: string;
  label: string;
  alg?: string | undefined;
  freshPermille?: number | undefined;
  rps: number;
  /** Milliseconds. */
  p99: number;
  cpuUs: number;
  serverShare: number;
  loadShare: number;
  bad: number;
  /** Whether some fresh token reached the server twice (the row then measured cache hits too). */
  repeated?: boolean | undefined;
}

export interface Check {
  what: string;
  value: number;
  goal: number;
  atMost: boolean;
  met: boolean;
}

export function checkTargets(rows: ReadonlyMap<string, Row>): Check[] {
  const checks: Check[] = [];
  const check = (what: string, value: number, goal: number, atMost = false): void => {
    checks.push({ what, value, goal, atMost, met: atMost ? value <= goal : value >= goal });
  };
  const header = rows.get('koa-header')!;
  const reuse = rows.get('ours-reuse');
  // Issue 23: the hit path costs what a Map lookup costs.
  if (reuse) {
    check('token reused ÷ bare Koa + the same header (req/s)', reuse.rps / header.rps, 0.9);
    check('token reused: p99 ÷ bare Koa + header p99', reuse.p99 / header.p99, 1.2, true);
  }
  const otel = rows.get('ours-reuse-otel');
  // Issue 22: the OpenTelemetry instrumentation costs at most 10 % of the cached-token path, read against an
  // application that runs the OpenTelemetry SDK without it (its context manager is not the instrumentation's cost).
  const otelBase = rows.get('ours-reuse-otelbase') ?? reuse;
  if (otelBase && otel) check(`token reused, OpenTelemetry instrumentation on ÷ ${otelBase === reuse ? 'token reused' : 'the SDK alone'} (req/s)`, otel.rps / otelBase.rps, 0.9);
  const introspected = rows.get('ours-introspected');
  if (introspected) check('cached introspected token ÷ bare Koa + header (req/s)', introspected.rps / header.rps, 0.9);
  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    const ours = rows.get(`ours-fresh-${alg}`);
    const jose = rows.get(`jose-fresh-${alg}`);
    if (!ours || !jose) continue;
    check(`${alg} fresh tokens ÷ Koa + raw jose (req/s)`, ours.rps / jose.rps, 0.95);
    check(`${alg} fresh tokens: p99 ÷ raw jose p99`, ours.p99 / jose.p99, 1.2, true);
  }
  const fresh = rows.get('ours-fresh-ES256');
  const uncached = rows.get('oursnocache-fresh-ES256');
  // The cache must not slow a miss.
  if (fresh && uncached) check('ES256 fresh tokens, cache on ÷ cache: false (req/s)', fresh.rps / uncached.rps, 0.97);
  const dpop = rows.get('ours-dpop');
  const oneCheck = rows.get('jose-fresh-ES256');
  // A DPoP request with a cached token costs about one signature check (the proof's): Koa + one jwtVerify.
  if (dpop && oneCheck) check('DPoP (cached token + proof) ÷ Koa + one raw jose jwtVerify (req/s)', dpop.rps / oneCheck.rps, 0.9);
  return checks;
}

/** One side of a paired comparison (bench/pairs.ts): medians over rounds, and CPU per request by thread. */
export interface PairSide {
  rps: number;
  /** Milliseconds. */
  p99: number;
  cpuUs: number;
  /** The event loop's thread, µs per request over the rounds. */
  mainUs: number;
  /** Every other thread (GC and compiler helpers, libuv's pool), µs per request over the rounds. */
  otherUs: number;
  bad: number;
  repeated: boolean;
}

export interface PairResult {
  id: string;
  what: string;
  a: PairSide;
  b: PairSide;
  /** Median over rounds of A's CPU per request ÷ B's (B's req/s ÷ A's, each alone on a core), both measured at the same time. */
  ratio: number;
  low: number;
  high: number;
  /** Median over rounds of B's req/s ÷ A's side by side (biased towards the server with busier helper threads). */
  rpsRatio: number;
  /** Latency in the paced rounds (bench/pairs.ts PACE_SHARE): both sides sent `rate` req/s; milliseconds; p99 B ÷ A per round. */
  paced?: {
    rate: number;
    a: { p50: number; p99: number };
    b: { p50: number; p99: number };
    p99Ratio: number;
    low: number;
    high: number;
  } | undefined;
}

// The goals of issue 23 by pair id: what B ÷ A must reach (req/s, the same comparisons as checkTargets).
const PAIR_GOALS: Readonly<Record<string, number>> = {
  'reuse': 0.9, 'introspected': 0.9, 'cache': 0.97, 'fresh-ES256': 0.95, 'fresh-RS256': 0.95, 'fresh-EdDSA': 0.95, 'dpop': 0.9,
};

// Issue 23's latency goals by pair id: B's p99 at most this × A's, in the paced rounds.
const PAIR_LATENCY_GOALS: Readonly<Record<string, number>> = {
  'reuse': 1.2, 'fresh-ES256': 1.2, 'fresh-RS256': 1.2, 'fresh-EdDSA': 1.2,
};

export function checkPairLatency(results: readonly PairResult[]): Array<{ id: string; goal: number; met: boolean }> {
  return results.flatMap((r) => {
    const goal = PAIR_LATENCY_GOALS[r.id];
    return goal === undefined || r.paced === undefined ? [] : [{ id: r.id, goal, met: r.paced.p99Ratio <= goal }];
  });
}

export function checkPairs(results: readonly PairResult[]): Array<{ id: string; goal: number; met: boolean }> {
  return results.map((r) => {
    const goal = PAIR_GOALS[r.id] ?? Number.NaN;
    return { id: r.id, goal, met: r.ratio >= goal };
  });
}
