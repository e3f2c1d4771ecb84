// Where a server's main thread spends its time: `npx tsx bench/profile.ts <dir or .cpuprofile>...`
// reads V8 CPU profiles (BENCH_PROFILE=dir npm run bench writes one per target) and sums self time by
// owner (jose, koa-token-guard, Koa, Node's HTTP, WebCrypto dispatch, GC, idle) plus the top functions.
// WebCrypto's signature checks run on libuv's threadpool: they show as idle here, not as jose.
// The first PROFILE_SKIP seconds (default 3: start-up, module compilation) are left out.
// `--by-caller`: each sample goes to the innermost frame that has an owner other than Node's or V8's own
// code, so our functions are charged with the builtins and Node internals they call (Buffer, Set, freeze),
// which self time leaves to "native" and Node: where each µs of ours goes, as one table per profile.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const OWNERS: [string, RegExp][] = [
  // dist/: the bench servers load the build (bench/lib.ts); lib/ with BENCH_LIB=src.
  ['koa-token-guard (lib/)', /^file:\/\/(?!.*\/node_modules\/).*\/(lib|dist)\//],
  ['bench app (bench/)', /^file:\/\/(?!.*\/node_modules\/).*\/bench\//],
  ['jose', /node_modules\/jose\//],
  ['lru-cache', /node_modules\/lru-cache\//],
  ['Koa, @koa/router, koa-jwt, jwks-rsa', /node_modules\/(koa|@koa|koa-[^/]+|jwks-rsa|jsonwebtoken|jws|jwa|path-to-regexp)\//],
  ['WebCrypto dispatch (node:internal/crypto)', /^node:internal\/crypto\//],
  ["Node's HTTP and streams", /^node:(_http|internal\/http|internal\/streams|net|internal\/stream_base|_stream|stream)/],
  ['other Node internals', /^node:/],
];

function ownerOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (url === '') return ['(idle)', '(garbage collector)', '(program)'].includes(functionName) ? functionName : 'native (V8 builtins, C++)';
  return OWNERS.find(([, pattern]) => pattern.test(url))?.[0] ?? 'other JS';
}

export function summarise(file: string): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const skipUs = Number(process.env.PROFILE_SKIP ?? 3) * 1e6;
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    elapsed += profile.timeDeltas[i] ?? 0;
    if (elapsed >= skipUs) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const owners = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  let busy = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const owner = ownerOf(node);
    total += us;
    if (owner !== '(idle)') busy += us;
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'} ${url.replace(/^.*\/node_modules\//, '').replace(/^file:.*\/(lib|dist|bench)\//, '$1/')}:${lineNumber + 1}`;
    if (owner !== '(idle)') functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const pct = (us: number, of: number) => `${((us / of) * 100).toFixed(1)} %`;
  const lines = [`${file}: ${(total / 1e6).toFixed(1)} s sampled, main thread busy ${pct(busy, total)}`, '', '| owner | share of busy time |', '|---|--:|'];
  for (const [owner, us] of [...owners].filter(([o]) => o !== '(idle)').sort((a, b) => b[1] - a[1])) lines.push(`| ${owner} | ${pct(us, busy)} |`);
  lines.push('', '| function (self time) | share of busy time |', '|---|--:|');
  for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`| ${name} | ${pct(us, busy)} |`);
  return lines.join('\n');
}

interface CallNode extends ProfileNode { children?: number[] }

// Owners that code passes through when charging a sample to its caller: Node's and V8's own.
const PASS_THROUGH = new Set(["Node's HTTP and streams", 'other Node internals', 'native (V8 builtins, C++)']);

/** Busy time per owner, ours and lru-cache per function, each sample charged to its innermost owned frame. */
export function byCaller(file: string): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile & { nodes: CallNode[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const charged = new Map<number, string>();
  const chargeOf = (id: number): string => {
    let found = charged.get(id);
    if (found !== undefined) return found;
    found = "Node's and V8's own (HTTP, streams, timers, microtasks)";
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at)!;
      const owner = ownerOf(node);
      if (PASS_THROUGH.has(owner)) continue;
      if (owner === 'koa-token-guard (lib/)' || owner === 'lru-cache') {
        const { functionName, url, lineNumber } = node.callFrame;
        found = `${owner === 'lru-cache' ? 'lru-cache' : 'ours'}: ${functionName || '(anonymous)'} ${url.replace(/^.*\/(lib|dist|node_modules)\//, '')}:${lineNumber + 1}`;
      } else found = owner;
      break;
    }
    charged.set(id, found);
    return found;
  };
  const skipUs = Number(process.env.PROFILE_SKIP ?? 3) * 1e6;
  const time = new Map<string, number>();
  let elapsed = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    elapsed += us;
    const charge = chargeOf(id);
    if (elapsed < skipUs || charge === '(idle)') return;
    busy += us;
    time.set(charge, (time.get(charge) ?? 0) + us);
  });
  const ours = [...time].filter(([k]) => k.startsWith('ours: ') || k.startsWith('lru-cache: ')).reduce((sum, [, us]) => sum + us, 0);
  const pct = (us: number) => `${((us / busy) * 100).toFixed(2)} %`;
  const lines = [`${file}: busy ${(busy / 1e6).toFixed(1)} s, each sample charged to its caller`, '', '| charged to | share of busy time |', '|---|--:|'];
  for (const [k, us] of [...time].sort((a, b) => b[1] - a[1])) if (us / busy >= 0.0005) lines.push(`| ${k} | ${pct(us)} |`);
  lines.push(`| **koa-token-guard and lru-cache in all** | **${pct(ours)}** |`);
  return lines.join('\n');
}

function profilesIn(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true }).map(String).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(path, f));
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const callers = process.argv.includes('--by-caller');
  for (const arg of process.argv.slice(2).filter((a) => a !== '--by-caller')) {
    for (const file of profilesIn(arg)) console.log(`${(callers ? byCaller : summarise)(file)}\n`);
  }
}
