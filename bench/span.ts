// What one OpenTelemetry span costs by itself, with no instrumentation around it: `npx tsx bench/span.ts`.
// A span started, given the seven attributes of a cached-token `koa-token-guard authenticate` span and
// ended through a batch processor whose exporter drops it, under the AsyncLocalStorage context manager;
// CPU µs per span (every thread), the lower of five rounds of 50,000. The floor of any instrumentation
// that records one span per request (issue 22's cost aim is read against it).
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

const SPANS = 50_000;
const attributes = {
  'koa_token_guard.realm': 'api', 'koa_token_guard.outcome': 'accepted', 'koa_token_guard.scheme': 'Bearer', 'koa_token_guard.source': 'jwt',
  'koa_token_guard.cached': true, 'koa_token_guard.issuer': 'https://issuer.example.com/', 'koa_token_guard.algorithm': 'ES256',
};

export async function main(): Promise<void> {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() };
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracer = provider.getTracer('span-cost');
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < SPANS; i++) {
      const span = tracer.startSpan('koa-token-guard authenticate');
      span.setAttributes(attributes);
      span.end();
      // Let the batch processor export, as it would between requests.
      if (i % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / SPANS);
  }
  await provider.shutdown();
  context.disable();
  console.log(`One OpenTelemetry span (start, 7 attributes, end, batch processor), no instrumentation: ${best.toFixed(2)} µs of CPU, Node ${process.version}.`);
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main();
