// Where a server's main thread spends its time: `npx tsx bench/profile.ts <dir or .cpuprofile>...`
// reads V8 CPU profiles (BENCH_PROFILE=dir npm run bench writes one per target) and sums self time by
// owner (jose, koa-token-guard, Koa, Node's HTTP, WebCrypto dispatch, GC, idle) plus the top functions.
// WebCrypto's signature checks run on libuv's threadpool: they show as idle here, not as jose.
// The first PROFILE_SKIP seconds (default 3: start-up, module compilation) are left out.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const OWNERS: [string, RegExp][] = [
  ['koa-token-guard (lib/)', /^file:\/\/(?!.*\/node_modules\/).*\/lib\//],
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
    const name = `${functionName || '(anonymous)'} ${url.replace(/^.*\/node_modules\//, '').replace(/^file:.*\/(lib|bench)\//, '$1/')}:${lineNumber + 1}`;
    if (owner !== '(idle)') functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const pct = (us: number, of: number) => `${((us / of) * 100).toFixed(1)} %`;
  const lines = [`${file}: ${(total / 1e6).toFixed(1)} s sampled, main thread busy ${pct(busy, total)}`, '', '| owner | share of busy time |', '|---|--:|'];
  for (const [owner, us] of [...owners].filter(([o]) => o !== '(idle)').sort((a, b) => b[1] - a[1])) lines.push(`| ${owner} | ${pct(us, busy)} |`);
  lines.push('', '| function (self time) | share of busy time |', '|---|--:|');
  for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`| ${name} | ${pct(us, busy)} |`);
  return lines.join('\n');
}

function profilesIn(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true }).map(String).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(path, f));
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  for (const arg of process.argv.slice(2)) for (const file of profilesIn(arg)) console.log(`${summarise(file)}\n`);
}
