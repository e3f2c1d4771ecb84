// `OTEL=1 npm start`: OpenTelemetry with the SDK's console exporters, so each request's spans (the HTTP
// server span, `koa-token-guard authenticate` under it, provider calls under that) print as they end, and
// the metrics every 15 s and when it stops. examples/server.ts imports this only when OTEL is
// set: without it no OpenTelemetry module is loaded. An application would send to a collector (OTLP) instead.
import { createRequire } from 'node:module';
import { metrics } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { KoaTokenGuardInstrumentation } from 'koa-token-guard/opentelemetry';

// The resource's service.name (the SDK reads it from the environment).
process.env.OTEL_SERVICE_NAME ??= 'koa-token-guard-example';
const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
// Also the AsyncLocalStorage context manager, which carries the server span to our middleware.
tracerProvider.register();
const meterProvider = new MeterProvider({
  readers: [new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 15_000 })],
});
metrics.setGlobalMeterProvider(meterProvider);
registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new KoaTokenGuardInstrumentation()] });
// The HTTP instrumentation patches node:http when it is next required: Koa (imported by examples/server.ts
// before this ran, as ES imports are) already has it, so require it once more, before any server exists.
createRequire(import.meta.url)('node:http');

/** Exports what is left (the last metrics) and stops the exporters. */
export async function shutdownTelemetry(): Promise<void> {
  await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
}
