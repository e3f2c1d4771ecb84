// The OpenTelemetry set-up of the "instrumentation on" rows (bench/server.ts target ours-otel, bench/request.ts):
// KoaTokenGuardInstrumentation with the real SDK as an application runs it (a tracer provider whose batch
// processor hands spans to an exporter, a meter provider with a reader), but the exporter drops the spans
// and the reader is never collected, so the rows measure the instrumentation, not an exporter or a network.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { loadOpenTelemetry } from './lib.js';

const { KoaTokenGuardInstrumentation } = await loadOpenTelemetry();

/** Counts the spans it is handed, and drops them. */
class DroppingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.exported += spans.length;
    done({ code: 0 }); // ExportResultCode.SUCCESS
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A reader nothing collects from: instruments record, nothing is exported. */
class IdleReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export interface Instrumented {
  /** Spans ended so far (flushes the batch first). */
  spans(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Registers the instrumentation with its own providers. `global`: also the AsyncLocalStorage context manager
 * every OpenTelemetry application installs (only in a process of its own: mocha's shares the global).
 * `instrumentation: false`: the providers and context manager alone, the baseline of an application that
 * runs OpenTelemetry without this package's instrumentation.
 */
export function instrument({ global = false, instrumentation = true } = {}): Instrumented {
  if (global) context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = new DroppingExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  const meterProvider = new MeterProvider({ readers: [new IdleReader()] });
  const unregister = registerInstrumentations({ instrumentations: instrumentation ? [new KoaTokenGuardInstrumentation()] : [], tracerProvider, meterProvider });
  return {
    spans: async () => {
      await tracerProvider.forceFlush();
      return exporter.exported;
    },
    stop: async () => {
      unregister();
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
      if (global) context.disable();
    },
  };
}
