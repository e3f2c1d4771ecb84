// The README's plots, drawn by vega-lite (compiled to vega, rendered headless to SVG: no canvas, no
// browser) from the JSON the benches write: `npx tsx bench/plot.ts` (npm run bench runs it last).
//   bench/results/fresh-tokens.svg  req/s against distinct (fresh) tokens per second, ours and raw jose
//   bench/results/tenants.svg       verifier memory against the number of issuers
//   bench/results/history.svg       the hit path (token reused ÷ Koa + header) across commits
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Row } from './targets.js';
import type { TenantResult } from './tenants.js';
import type { HistoryPoint } from './history.js';

async function render(spec: TopLevelSpec, file: string): Promise<void> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  writeFileSync(file, await view.toSVG());
  view.finalize();
  console.log(`wrote ${file}`);
}

const common = { width: 420, height: 240, config: { font: 'sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { orient: 'bottom', labelLimit: 400 } } } as const;

export async function main(): Promise<void> {
  if (existsSync('bench/results/http.json')) {
    const { rows, generator } = JSON.parse(readFileSync('bench/results/http.json', 'utf8')) as { rows: Row[]; generator: string };
    const sweep = rows.filter((r) => r.id.startsWith('sweep-')).map((r) => ({
      target: r.id.startsWith('sweep-ours') ? 'koa-token-guard (cache on)' : 'Koa + raw jose',
      fresh: (r.rps * (r.freshPermille ?? 0)) / 1000, rps: r.rps, share: `${(r.freshPermille ?? 0) / 10} %`,
    }));
    const header = rows.find((r) => r.id === 'koa-header');
    if (sweep.length > 0 && header) {
      await render({
        ...common,
        title: { text: 'Throughput as more requests carry a token never seen before (ES256)', subtitle: `GET /messages, one core, ${generator}; 100 clients' tokens reused, the rest fresh` },
        layer: [
          {
            data: { values: sweep },
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'fresh', type: 'quantitative', title: 'distinct (fresh) tokens per second' },
              y: { field: 'rps', type: 'quantitative', title: 'requests per second', scale: { zero: true } },
              color: { field: 'target', type: 'nominal', title: null },
            },
          },
          {
            data: { values: [{ rps: header.rps, label: 'bare Koa (same header, unchecked)' }] },
            layer: [
              { mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { field: 'rps', type: 'quantitative' } } },
              { mark: { type: 'text', align: 'right', dy: -6, color: 'gray', x: 'width' }, encoding: { y: { field: 'rps', type: 'quantitative' }, text: { field: 'label' } } },
            ],
          },
        ],
      }, 'bench/results/fresh-tokens.svg');
    }
  }
  if (existsSync('bench/results/history.json')) {
    const { points, node, load } = JSON.parse(readFileSync('bench/results/history.json', 'utf8')) as { points: HistoryPoint[]; node: string; load: string };
    const values = points.map((p, i) => ({ ...p, label: `${i + 1}. ${p.commit} (${p.date.slice(5, 10)})` }));
    await render({
      ...common,
      title: { text: 'The hit path across commits: token reused ÷ bare Koa + the same header', subtitle: `measured in one run, ${node}, load average ${load}; 1.00 = authentication costs nothing` },
      layer: [
        {
          data: { values },
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'label', type: 'ordinal', title: 'commit (oldest first)', sort: null, axis: { labelAngle: -30 } },
            y: { field: 'ratio', type: 'quantitative', title: '× Koa + header (req/s)', scale: { domain: [0.5, 1.2] } },
            tooltip: [{ field: 'subject' }],
          },
        },
        { data: { values: [{ goal: 0.9 }] }, mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { field: 'goal', type: 'quantitative' } } },
      ],
    }, 'bench/results/history.svg');
  }
  if (existsSync('bench/results/tenants.json')) {
    const { results } = JSON.parse(readFileSync('bench/results/tenants.json', 'utf8')) as { results: TenantResult[] };
    const values = results.filter((r) => r.keySetsMax >= r.tenants).flatMap((r) => [
      { tenants: r.tenants, MiB: r.heapMiB - r.baseHeapMiB, what: 'heap growth' },
      { tenants: r.tenants, MiB: r.rssMiB - r.baseRssMiB, what: 'RSS growth' },
    ]);
    await render({
      ...common,
      title: { text: 'Verifier memory against the number of issuers', subtitle: 'resolveIssuer, one ES256 key set per issuer, 20,000 tokens, cache 10,000 entries' },
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'tenants', type: 'quantitative', title: 'issuers (log scale)', scale: { type: 'log' } },
        y: { field: 'MiB', type: 'quantitative', title: 'MiB after a full GC' },
        color: { field: 'what', type: 'nominal', title: null },
      },
    }, 'bench/results/tenants.svg');
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
