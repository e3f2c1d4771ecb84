// `npm run bench`: the HTTP, tenants, in-process and memory benches, each in its own process, one after
// the other, then the plots (bench/plot.ts). Markdown tables on stdout (ready for the README's
// Performance section), progress on stderr; figures also in bench/results/*.json.
//   BENCH_QUICK=1  a few minutes instead of about fifteen; see each bench for its other knobs
//   BENCH_ONLY=http,pairs,history,tenants,verify,request,memory,plot  a subset
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { quick } from './support.js';

const benches = ['http', 'pairs', 'history', 'tenants', 'verify', 'request', 'memory', 'plot'].filter((b) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').includes(b));
console.log(`# koa-token-guard bench, ${new Date().toISOString().slice(0, 16)}Z, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}${quick ? ', BENCH_QUICK=1' : ''}`);
for (const bench of benches) {
  console.log(`\n## ${bench}\n`);
  const { status } = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', `bench/${bench}.ts`], { stdio: 'inherit' });
  if (status !== 0) {
    console.error(`bench/${bench}.ts failed with status ${String(status)}`);
    process.exit(1);
  }
}
