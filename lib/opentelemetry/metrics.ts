import type { Attributes, Histogram, Meter, MetricOptions, ObservableResult } from '@opentelemetry/api';
import type { AuthenticateChannelContext, CacheChannelMessage, FetchChannelContext } from '../telemetry/channels.js';
import { providerUrl } from './attributes.js';

/** Metric names, as documented in docs/observability.md (OpenTelemetry naming: dots, units apart). */
export const METRICS = Object.freeze({
  authentications: 'koa_token_guard.authentications',
  providerDuration: 'koa_token_guard.provider.duration',
  cacheRequests: 'koa_token_guard.cache.requests',
} as const);

// The HTTP semantic conventions' boundaries for request durations, in seconds.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * A monotonic count per attribute set, kept as plain numbers and reported when a reader collects (an
 * asynchronous counter). A per-request `Counter.add()` costs the SDK's attribute hashing and
 * aggregation, about 2 µs (issue 22); this costs a Map look-up and an increment. Attribute sets are
 * bounded (outcome, refusal code, source), each built once.
 */
class Tally {
  private readonly counts = new Map<string, { readonly attributes: Attributes; value: number }>();

  constructor(meter: Meter, name: string, options: MetricOptions) {
    meter.createObservableCounter(name, options).addCallback((result: ObservableResult) => {
      for (const { attributes, value } of this.counts.values()) result.observe(value, attributes);
    });
  }

  add(key: string, make: () => Attributes): void {
    const found = this.counts.get(key);
    if (found === undefined) this.counts.set(key, { attributes: make(), value: 1 });
    else found.value++;
  }
}

/** The instruments of one meter; made when the meter provider is set, never per request. */
export class Instruments {
  private readonly authentications: Tally;
  private readonly providerDuration: Histogram;
  private readonly cacheRequests: Tally;

  constructor(meter: Meter) {
    this.authentications = new Tally(meter, METRICS.authentications, {
      description: 'Requests through authenticate(), by outcome, refusal code and token source.',
      unit: '{authentication}',
    });
    this.providerDuration = meter.createHistogram(METRICS.providerDuration, {
      description: 'Duration of HTTP exchanges with the authorization server: discovery, JWKS, introspection, userinfo.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.cacheRequests = new Tally(meter, METRICS.cacheRequests, {
      description: 'Established tokens answered by a cache (hit) or by a check of their own (miss).',
      unit: '{request}',
    });
  }

  authenticated(c: AuthenticateChannelContext, errorType: string | undefined): void {
    const { realm, outcome, source } = c;
    this.authentications.add(`${realm} ${outcome} ${errorType} ${source}`, () => {
      const a: Attributes = { 'koa_token_guard.realm': realm, 'koa_token_guard.outcome': outcome ?? 'error' };
      if (errorType !== undefined) a['error.type'] = errorType;
      if (source !== undefined) a['koa_token_guard.source'] = source;
      return a;
    });
    if (source === undefined || c.cached === undefined) return;
    const cached = c.cached;
    this.cacheRequests.add(`${realm} ${source} ${cached}`, () => ({
      'koa_token_guard.realm': realm,
      'koa_token_guard.cache.name': source === 'jwt' ? 'verified_token' : 'introspection',
      'koa_token_guard.cache.result': cached ? 'hit' : 'miss',
    }));
  }

  /** A userinfo look-up (`CACHE_CHANNEL`): answered by the userinfo cache or not. */
  looked(message: CacheChannelMessage): void {
    const { realm, cache, hit } = message;
    this.cacheRequests.add(`${realm} ${cache} ${hit}`, () => {
      const a: Attributes = { 'koa_token_guard.cache.name': cache, 'koa_token_guard.cache.result': hit ? 'hit' : 'miss' };
      if (realm !== undefined) a['koa_token_guard.realm'] = realm;
      return a;
    });
  }

  fetched(c: FetchChannelContext, seconds: number): void {
    const a: Attributes = { 'koa_token_guard.outcome': c.outcome ?? 'failed' };
    if (c.operation !== undefined) a['koa_token_guard.operation'] = c.operation;
    const address = providerUrl(c.url)?.address;
    if (address !== undefined) a['server.address'] = address;
    if (c.status !== undefined) a['http.response.status_code'] = c.status;
    if (c.failure !== undefined) a['error.type'] = c.failure;
    this.providerDuration.record(seconds, a);
  }
}
