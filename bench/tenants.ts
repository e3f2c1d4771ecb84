// Cost as tenants grow: 1 to 10,000 issuers accepted through resolveIssuer, each with its own ES256 key
// set, all served by one loopback JWKS server (one path per tenant, requests counted per path). Tokens
// are spread evenly over the tenants; each token is used 5 times. Per tenant count, in its own process:
// verifications per second (cold pass, which fetches every key set, and warm passes), resident memory and
// heap after a full GC, and JWKS fetches per issuer. A last row runs 10,000 tenants under the default
// `keySets: { max: 1000 }`, to show what the bound costs when more tenants than it are active at once.
//   BENCH_QUICK=1  each token used twice instead of 5 times
// Run with --expose-gc (npm run bench does); writes bench/results/tenants.json.
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createVerifier, DEFAULTS } from '../lib/index.js';
import { AUDIENCE, quick, SCOPE } from './support.js';

// Twice the largest tenant count, and twice the cache: warm passes verify too (the LRU cycles).
const TOKENS = 20_000;
const USES = quick ? 2 : 5;
const CONCURRENCY = 64;
const RUNS: { tenants: number; max?: number }[] = [{ tenants: 1 }, { tenants: 100 }, { tenants: 1_000 }, { tenants: 10_000 }, { tenants: 10_000, max: DEFAULTS.keySets.max }];

export interface TenantResult {
  tenants: number;
  keySetsMax: number;
  tokens: number;
  coldPerSecond: number;
  warmPerSecond: number;
  rssMiB: number;
  heapMiB: number;
  baseRssMiB: number;
  baseHeapMiB: number;
  fetchesPerIssuer: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
const mib = (bytes: number) => bytes / 2 ** 20;
function memory(): { rss: number; heap: number } {
  gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss: mib(rss), heap: mib(heapUsed) };
}

/** One tenant count, in this process. */
async function measure(tenants: number, max: number): Promise<TenantResult> {
  const keys = await Promise.all(Array.from({ length: tenants }, async (_, i) => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: `k${i}`, alg: 'ES256', use: 'sig' } };
  }));
  const fetches = new Uint32Array(tenants);
  const bodies = keys.map((k) => JSON.stringify({ keys: [k.jwk] }));
  const server = http.createServer((req, res) => {
    const i = Number(/^\/t\/(\d+)\/jwks\.json$/.exec(req.url ?? '')?.[1] ?? -1);
    if (!(i >= 0 && i < tenants)) return void res.writeHead(404).end();
    fetches[i]!++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(bodies[i]);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuerOf = (i: number) => `${base}/t/${i}/`;
  const index = new Map(keys.map((_, i) => [issuerOf(i), i]));

  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (let t = 0; t < TOKENS; t++) {
    const i = t % tenants;
    tokens.push(await new SignJWT({ scope: SCOPE, client_id: 'bench', jti: `t${t}` })
      .setProtectedHeader({ alg: 'ES256', kid: `k${i}`, typ: 'at+jwt' })
      .setIssuer(issuerOf(i)).setAudience(AUDIENCE).setSubject(`user-${t}`).setIssuedAt(now).setExpirationTime(now + 3600)
      .sign(keys[i]!.privateKey));
  }
  keys.length = 0; // private keys are the bench's, not the verifier's memory
  const before = memory();
  const verify = createVerifier({
    audience: AUDIENCE,
    keySets: { max },
    resolveIssuer: (iss) => {
      const i = index.get(iss);
      return i === undefined ? undefined : { jwksUri: `${iss}jwks.json` };
    },
  });
  // Every token once (cold: each tenant's key set is fetched on its first token), then USES - 1 more
  // passes in batches, as clients reuse their tokens; the cache (10,000 entries) holds some of them.
  const pass = async (): Promise<number> => {
    const started = process.hrtime.bigint();
    for (let first = 0; first < tokens.length; first += CONCURRENCY) {
      await Promise.all(tokens.slice(first, first + CONCURRENCY).map((t) => verify(t)));
    }
    return tokens.length / (Number(process.hrtime.bigint() - started) / 1e9);
  };
  const cold = await pass();
  const warm: number[] = [];
  for (let use = 1; use < USES; use++) warm.push(await pass());
  const after = memory();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  const total = fetches.reduce((n, f) => n + f, 0);
  return {
    tenants, keySetsMax: max, tokens: TOKENS, coldPerSecond: cold, warmPerSecond: warm.reduce((a, b) => a + b, 0) / warm.length,
    rssMiB: after.rss, heapMiB: after.heap, baseRssMiB: before.rss, baseHeapMiB: before.heap, fetchesPerIssuer: total / tenants,
  };
}

export function main(): void {
  const results: TenantResult[] = [];
  for (const run of RUNS) {
    process.stderr.write(`  tenants: ${run.tenants.toLocaleString('en')}${run.max ? `, keySets.max ${run.max}` : ''}…\n`);
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/tenants.ts', String(run.tenants), String(run.max ?? Math.max(run.tenants, DEFAULTS.keySets.max))],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    if (child.status !== 0) throw new Error(`tenants ${run.tenants} failed: ${child.stdout}`);
    results.push(JSON.parse(child.stdout.trim().split('\n').at(-1)!) as TenantResult);
  }
  const f = (n: number, digits = 0) => n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  console.log(`\nTenants: ${f(TOKENS)} ES256 tokens spread evenly over the issuers, each used ${USES} times (${CONCURRENCY} verifications in flight, ` +
    'through createVerifier, no HTTP in front; JWKS from one loopback server); verified-token cache at its default 10,000 entries. ' +
    'Memory after a full GC, the verifier\'s share being the growth over the tokens alone.\n');
  console.log('| issuers | keySets.max | cold pass verif/s | warm passes verif/s | JWKS fetches per issuer | RSS MiB (growth) | heap MiB (growth) |');
  console.log('|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of results) {
    console.log(`| ${f(r.tenants)} | ${f(r.keySetsMax)} | ${f(r.coldPerSecond)} | ${f(r.warmPerSecond)} | ${f(r.fetchesPerIssuer, 2)} | ` +
      `${f(r.rssMiB, 1)} (+${f(r.rssMiB - r.baseRssMiB, 1)}) | ${f(r.heapMiB, 1)} (+${f(r.heapMiB - r.baseHeapMiB, 1)}) |`);
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/tenants.json', `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  if (process.argv[2] === undefined) main();
  else console.log(JSON.stringify(await measure(Number(process.argv[2]), Number(process.argv[3]))));
}
