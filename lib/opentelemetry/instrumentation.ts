import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe, tracingChannel, unsubscribe, type TracingChannelSubscribers } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import { context as otelContext, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { InstrumentationBase, type InstrumentationConfig, type InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';
import {
  CACHE_CHANNEL, TRACING_CHANNELS, type AuthenticateChannelContext, type CacheChannelMessage, type DpopChannelContext, type FetchChannelContext,
  type IntrospectChannelContext, type VerifyChannelContext,
} from '../telemetry/channels.js';
import { authenticateAttributes, fetchAttributes, introspectAttributes, verifyAttributes } from './attributes.js';
import { Instruments } from './metrics.js';

/** The instrumentation's name: its tracer's and meter's (instrumentation scope). */
export const INSTRUMENTATION_NAME = 'koa-token-guard';
// The instrumentation scope's version is the package's: lib/opentelemetry and dist/opentelemetry are both two levels down.
const { version: VERSION } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Options of `KoaTokenGuardInstrumentation`: those of every OpenTelemetry instrumentation (`enabled`). */
export type KoaTokenGuardInstrumentationConfig = InstrumentationConfig;

// What the instrumentation leaves on a channel context (the package never reads it).
const SPAN = Symbol('koa-token-guard.otel.span');
const STARTED = Symbol('koa-token-guard.otel.started');
interface Marked { [SPAN]?: Span; [STARTED]?: number; error?: unknown }

/** How one channel becomes spans (and metrics). */
interface Operation<C extends object> {
  readonly channel: string;
  spanName(c: C): string;
  /** Span attributes, read when the operation ends (fields are filled as they become known). */
  attributes(c: C): Attributes;
  failed(c: C): boolean;
  /** Metrics, when it ends. */
  record?(instruments: Instruments, c: C, attributes: Attributes, seconds: number): void;
}

const refusedOrFailed = (c: { outcome: string | undefined }): boolean =>
  c.outcome === 'refused' || c.outcome === 'unavailable' || c.outcome === 'error' || c.outcome === 'failed';

const OPERATIONS = [
  {
    channel: TRACING_CHANNELS.authenticate,
    spanName: () => 'koa-token-guard authenticate',
    attributes: authenticateAttributes,
    failed: refusedOrFailed,
    record: (instruments, c, attributes) => instruments.authenticated(c, attributes['error.type'] as string | undefined),
  } satisfies Operation<AuthenticateChannelContext>,
  { channel: TRACING_CHANNELS.verify, spanName: () => 'koa-token-guard verify', attributes: verifyAttributes, failed: refusedOrFailed } satisfies Operation<VerifyChannelContext>,
  { channel: TRACING_CHANNELS.introspect, spanName: () => 'koa-token-guard introspect', attributes: introspectAttributes, failed: refusedOrFailed } satisfies Operation<IntrospectChannelContext>,
  {
    channel: TRACING_CHANNELS.fetch,
    spanName: (c) => (c.operation === undefined ? 'koa-token-guard fetch' : `koa-token-guard fetch ${c.operation}`),
    attributes: fetchAttributes,
    failed: refusedOrFailed,
    record: (instruments, c, _attributes, seconds) => instruments.fetched(c, seconds),
  } satisfies Operation<FetchChannelContext>,
  { channel: TRACING_CHANNELS.dpop, spanName: () => 'koa-token-guard dpop', attributes: verifyAttributes, failed: refusedOrFailed } satisfies Operation<DpopChannelContext>,
] as Operation<object>[];

/**
 * OpenTelemetry spans and metrics for koa-token-guard, from its tracing channels (`TRACING_CHANNELS`):
 * `registerInstrumentations({ instrumentations: [new KoaTokenGuardInstrumentation()] })`. Nothing is
 * patched; enabling subscribes to the channels, disabling unsubscribes.
 */
export class KoaTokenGuardInstrumentation extends InstrumentationBase<KoaTokenGuardInstrumentationConfig> {
  // Holds the OpenTelemetry context of the operation in progress, bound to each channel's `start`, so that
  // a child operation (verify › fetch) finds its parent span. OpenTelemetry's own context manager keeps its
  // storage private, so spans of other instrumentations made inside an operation see the request's span.
  private readonly current = new AsyncLocalStorage<Context>();
  private readonly subscriptions: (() => void)[] = [];
  private instruments: Instruments;

  constructor(config: KoaTokenGuardInstrumentationConfig = {}) {
    // The base class enables from its constructor, before this class's fields exist: enable below instead.
    super(INSTRUMENTATION_NAME, VERSION, { ...config, enabled: false });
    this.instruments = new Instruments(this.meter);
    this.setConfig(config);
    if (config.enabled !== false) this.enable();
  }

  /** No module to patch: the package publishes its channels itself. */
  protected override init(): InstrumentationModuleDefinition[] {
    return [];
  }

  protected override _updateMetricInstruments(): void {
    // Also called by the base constructor, before `meter` can be used by this class.
    if (this.subscriptions !== undefined) this.instruments = new Instruments(this.meter);
  }

  override enable(): void {
    if (this.isEnabled()) return;
    super.enable();
    for (const operation of OPERATIONS) this.subscribe(operation);
    // Userinfo cache hits and misses: a plain channel, no span.
    const looked = (message: unknown): void => this.instruments.looked(message as CacheChannelMessage);
    subscribe(CACHE_CHANNEL, looked);
    this.subscriptions.push(() => unsubscribe(CACHE_CHANNEL, looked));
  }

  override disable(): void {
    if (!this.isEnabled()) return;
    super.disable();
    for (const undo of this.subscriptions.splice(0)) undo();
  }

  private subscribe(operation: Operation<object>): void {
    const channel = tracingChannel<unknown, object & Marked>(operation.channel);
    const started = (c: Marked): Context => {
      const parent = this.current.getStore() ?? otelContext.active();
      const span = this.tracer.startSpan(operation.spanName(c), { kind: SpanKind.INTERNAL }, parent);
      c[SPAN] = span;
      c[STARTED] = performance.now();
      return trace.setSpan(parent, span);
    };
    const finish = (c: object & Marked): void => {
      const span = c[SPAN];
      if (span === undefined) return;
      delete c[SPAN];
      const attributes = operation.attributes(c);
      span.setAttributes(attributes);
      if (operation.failed(c)) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      operation.record?.(this.instruments, c, attributes, (performance.now() - (c[STARTED] ?? 0)) / 1000);
    };
    const handlers: TracingChannelSubscribers<object & Marked> = {
      start() {},
      // A synchronous throw publishes `error` before `end`, and no `asyncEnd` follows.
      end: (c) => void ('error' in c ? finish(c) : undefined),
      asyncStart() {},
      asyncEnd: finish,
      error() {},
    };
    channel.start.bindStore(this.current, started);
    channel.subscribe(handlers);
    this.subscriptions.push(() => {
      channel.unsubscribe(handlers);
      channel.start.unbindStore(this.current);
    });
  }
}
