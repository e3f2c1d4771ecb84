// The goals of issues 15 and 22, checked on one run's rows: every ratio compares rows of the same run.

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
  const base = rows.get('koa')!;
  const header = rows.get('koa-header')!;
  const reuse = rows.get('ours-reuse');
  if (reuse) {
    check('token reused ÷ bare Koa + the same header (req/s)', reuse.rps / header.rps, 0.95);
    check('token reused ÷ bare Koa (req/s)', reuse.rps / base.rps, 0.9);
    check('token reused: p99 ÷ bare Koa + header p99', reuse.p99 / header.p99, 1.2, true);
  }
  const otel = rows.get('ours-reuse-otel');
  // Issue 22: the OpenTelemetry instrumentation costs at most 10 % of the cached-token path.
  if (reuse && otel) check('token reused, OpenTelemetry instrumentation on ÷ token reused (req/s)', otel.rps / reuse.rps, 0.9);
  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    const ours = rows.get(`ours-fresh-${alg}`);
    const jose = rows.get(`jose-fresh-${alg}`);
    if (!ours || !jose) continue;
    check(`${alg} fresh tokens ÷ Koa + raw jose (req/s; aim 1.00)`, ours.rps / jose.rps, 0.95);
    check(`${alg} fresh tokens: p99 ÷ raw jose p99`, ours.p99 / jose.p99, 1.2, true);
  }
  const introspected = rows.get('ours-introspected');
  if (introspected) check('cached introspected token ÷ bare Koa + header (req/s)', introspected.rps / header.rps, 0.9);
  const dpop = rows.get('ours-dpop');
  const oneCheck = rows.get('jose-fresh-ES256');
  // A DPoP request with a cached token costs at most one signature check (the proof's): Koa + one jwtVerify.
  if (dpop && oneCheck) check('DPoP (cached token + proof) ÷ Koa + one raw jose jwtVerify (req/s)', dpop.rps / oneCheck.rps, 0.95);
  return checks;
}
