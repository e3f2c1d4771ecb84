// koa-token-guard/opentelemetry with the real OpenTelemetry SDK: an in-memory span exporter, a metric reader
// collected on demand, the AsyncLocalStorage context manager and the HTTP instrumentation, whose server span
// is the parent of `koa-token-guard authenticate` exactly as in an instrumented application.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import Koa from 'koa';
import { context, SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { authenticate, createVerifier, keySets, type AuthenticateOptions, type AuthState } from '../../lib/index.js';
import { createUserInfoClient } from '../../lib/users/userinfo.js';
import { providerUrl } from '../../lib/opentelemetry/attributes.js';
import { KoaTokenGuardInstrumentation } from '../../lib/opentelemetry/index.js';
import { createDpopKey, createTestIssuer, type TestIssuer } from '../../lib/testing/index.js';
import { dpop, serve, type Served } from '../dpop/support.js';
import { bearer } from '../support/http.js';

const AUDIENCE = 'https://api.example.com';
const { version: PACKAGE_VERSION } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** A reader the spec collects from when it wants the points (cumulative: one MeterProvider per spec). */
class CollectingReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

interface Point { readonly attributes: Attributes; readonly value: unknown }

describe('telemetry/opentelemetry: spans and metrics with the real OpenTelemetry SDK', function () {
  let httpInstrumentation: HttpInstrumentation;
  let issuer: TestIssuer;
  let served: Served | undefined;
  let exporter: InMemorySpanExporter;
  let tracerProvider: BasicTracerProvider;
  let reader: CollectingReader;
  let meterProvider: MeterProvider;
  let instrumentation: KoaTokenGuardInstrumentation;
  let unregister: () => void;

  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    httpInstrumentation = new HttpInstrumentation();
    // node:http was loaded long before (mocha, Koa): requiring it again lets require-in-the-middle patch it.
    createRequire(import.meta.url)('node:http');
  });
  after(() => {
    httpInstrumentation.disable();
    context.disable();
  });

  beforeEach(async () => {
    issuer = await createTestIssuer({ audience: AUDIENCE, introspection: true });
    exporter = new InMemorySpanExporter();
    tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    reader = new CollectingReader();
    meterProvider = new MeterProvider({ readers: [reader] });
    httpInstrumentation.setTracerProvider(tracerProvider);
    instrumentation = new KoaTokenGuardInstrumentation();
    unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider, meterProvider });
  });
  afterEach(async () => {
    unregister();
    await served?.close();
    served = undefined;
    await issuer.close();
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  });

  async function start(extra: Partial<AuthenticateOptions> = {}, warm = true): Promise<Served> {
    const app = new Koa<AuthState>();
    app.silent = true;
    const auth = authenticate({ issuer: issuer.issuer, audience: AUDIENCE, ...extra });
    app.use(auth).use((ctx) => {
      ctx.body = { sub: ctx.state.user?.sub ?? null };
    });
    if (warm) await keySets(auth).ready();
    served = await serve(app);
    exporter.reset();
    return served;
  }

  /** The spans of the requests to our app: its HTTP server spans and their descendants, once all ended. */
  async function trees(requests: number) {
    const servers = (): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER && s.attributes['server.port'] === Number(new URL(served!.origin).port));
    // The server span ends when the response is finished, which the client may see first.
    for (let i = 0; i < 100 && servers().length < requests; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    const all = exporter.getFinishedSpans();
    const childrenOf = (span: ReadableSpan): ReadableSpan[] => all.filter((s) => s.parentSpanContext?.spanId === span.spanContext().spanId);
    const ours = all.filter((s) => s.instrumentationScope.name === 'koa-token-guard');
    expect(servers()).to.have.length(requests);
    return {
      servers: servers(),
      childrenOf,
      ours,
      /** Our spans as `parent › name`, depth first from each server span, siblings in the order they started. */
      shape: () => {
        const byStart = (a: ReadableSpan, b: ReadableSpan): number => (a.startTime[0] - b.startTime[0]) || (a.startTime[1] - b.startTime[1]);
        const walk = (span: ReadableSpan, label: string): string[] =>
          childrenOf(span).sort(byStart).flatMap((child) => [`${label} › ${child.name}`, ...walk(child, child.name)]);
        return [...servers()].sort(byStart).flatMap((server) => walk(server, 'SERVER'));
      },
      named: (name: string) => ours.filter((s) => s.name === name),
    };
  }

  async function points(name: string): Promise<Point[]> {
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics.filter((s) => s.scope.name === 'koa-token-guard').flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
    return (metric?.dataPoints ?? []).map((p) => ({ attributes: p.attributes, value: p.value }));
  }

  async function durations(): Promise<{ attributes: Attributes; count: number; unit: string }[]> {
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'koa_token_guard.provider.duration');
    return ((metric?.dataPoints ?? []) as DataPoint<Histogram>[]).map((p) => ({ attributes: p.attributes, count: p.value.count, unit: metric!.descriptor.unit }));
  }

  /** Every string exported: span names, attributes, events, status messages, links; metric names and attributes. */
  async function expectNothingSecret(secrets: readonly string[]): Promise<void> {
    const { resourceMetrics } = await reader.collect();
    const exported = JSON.stringify({
      spans: exporter.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links, resource: s.resource.attributes })),
      metrics: resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => ({ name: m.descriptor.name, points: m.dataPoints.map((p) => p.attributes) })),
    });
    expect(exported.length).to.be.greaterThan(100);
    expect(secrets.filter((secret) => exported.includes(secret)), 'a token, proof or client secret in an exported span or metric').to.deep.equal([]);
  }

  it('a valid token: authenticate under the HTTP server span, verify under it, attributes of the token; one accepted authentication, one cache miss', async () => {
    const s = await start();
    const token = await issuer.sign();
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    const t = await trees(1);
    expect(t.shape()).to.deep.equal(['SERVER › koa-token-guard authenticate', 'koa-token-guard authenticate › koa-token-guard verify']);
    const [authn] = t.named('koa-token-guard authenticate');
    expect(t.childrenOf(t.servers[0]!)).to.deep.equal([authn]);
    expect(authn!.kind).to.equal(SpanKind.INTERNAL);
    expect(authn!.instrumentationScope).to.deep.include({ name: 'koa-token-guard', version: PACKAGE_VERSION });
    expect(authn!.status.code).to.equal(SpanStatusCode.UNSET);
    expect(authn!.attributes).to.deep.equal({
      'koa_token_guard.realm': 'api', 'koa_token_guard.outcome': 'accepted', 'koa_token_guard.scheme': 'Bearer',
      'koa_token_guard.source': 'jwt', 'koa_token_guard.cached': false, 'koa_token_guard.issuer': issuer.issuer, 'koa_token_guard.algorithm': 'ES256',
    });
    expect(t.named('koa-token-guard verify')[0]!.attributes).to.deep.equal({
      'koa_token_guard.outcome': 'accepted', 'koa_token_guard.issuer': issuer.issuer, 'koa_token_guard.algorithm': 'ES256',
    });
    expect(await points('koa_token_guard.authentications')).to.deep.equal([
      { attributes: { 'koa_token_guard.realm': 'api', 'koa_token_guard.outcome': 'accepted', 'koa_token_guard.source': 'jwt' }, value: 1 },
    ]);
    // The same token again: answered by the verified-token cache, no verify span.
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    const again = await trees(2);
    expect(again.named('koa-token-guard verify')).to.have.length(1);
    expect(again.named('koa-token-guard authenticate')[1]!.attributes).to.include({ 'koa_token_guard.cached': true });
    expect(await points('koa_token_guard.cache.requests')).to.deep.equal([
      { attributes: { 'koa_token_guard.realm': 'api', 'koa_token_guard.cache.name': 'verified_token', 'koa_token_guard.cache.result': 'miss' }, value: 1 },
      { attributes: { 'koa_token_guard.realm': 'api', 'koa_token_guard.cache.name': 'verified_token', 'koa_token_guard.cache.result': 'hit' }, value: 1 },
    ]);
    expect(await points('koa_token_guard.authentications')).to.have.deep.members([
      { attributes: { 'koa_token_guard.realm': 'api', 'koa_token_guard.outcome': 'accepted', 'koa_token_guard.source': 'jwt' }, value: 2 },
    ]);
    await expectNothingSecret([token]);
  });

  it('a refused token: authenticate and verify in error status with error.type the refusal code; counted refused with the code', async () => {
    const s = await start();
    const token = await issuer.sign({ aud: 'https://other.example.com' });
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(401);
    expect((await s.send('/')).status).to.equal(401);
    const t = await trees(2);
    expect(t.shape()).to.deep.equal([
      'SERVER › koa-token-guard authenticate', 'koa-token-guard authenticate › koa-token-guard verify', 'SERVER › koa-token-guard authenticate',
    ]);
    const [refused, missing] = t.named('koa-token-guard authenticate');
    expect(refused!.status).to.deep.equal({ code: SpanStatusCode.ERROR });
    expect(refused!.attributes).to.deep.equal({
      'koa_token_guard.realm': 'api', 'koa_token_guard.outcome': 'refused', 'koa_token_guard.status': 401, 'error.type': 'audience_invalid',
    });
    expect(t.named('koa-token-guard verify')[0]!.status.code).to.equal(SpanStatusCode.ERROR);
    expect(t.named('koa-token-guard verify')[0]!.attributes).to.deep.equal({ 'koa_token_guard.outcome': 'refused', 'koa_token_guard.status': 401, 'error.type': 'audience_invalid' });
    expect(missing!.attributes).to.include({ 'koa_token_guard.outcome': 'refused', 'error.type': 'credentials_missing' });
    expect(await points('koa_token_guard.authentications')).to.have.deep.members([
      { attributes: { 'koa_token_guard.realm': 'api', 'koa_token_guard.outcome': 'refused', 'error.type': 'audience_invalid' }, value: 1 },
      { attributes: { 'koa_token_guard.realm': 'api', 'koa_token_guard.outcome': 'refused', 'error.type': 'credentials_missing' }, value: 1 },
    ]);
    expect(await points('koa_token_guard.cache.requests')).to.deep.equal([]);
    await expectNothingSecret([token]);
  });

  it('an introspected token: introspect › fetch introspection under authenticate, with url.full, method and status; provider duration and an introspection cache miss then hit', async () => {
    const { clientId, clientSecret, endpoint } = issuer.introspection!;
    const s = await start({ introspection: { clientId, clientSecret: clientSecret! } });
    const token = issuer.issueOpaque();
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    const t = await trees(2);
    expect(t.shape()).to.deep.equal([
      'SERVER › koa-token-guard authenticate', 'koa-token-guard authenticate › koa-token-guard introspect',
      'koa-token-guard introspect › koa-token-guard fetch introspection', 'SERVER › koa-token-guard authenticate',
    ]);
    const url = new URL(endpoint);
    expect(t.named('koa-token-guard introspect')[0]!.attributes).to.deep.equal({
      'koa_token_guard.introspection.signed': false, 'url.full': endpoint, 'server.address': url.hostname, 'server.port': Number(url.port),
      'koa_token_guard.outcome': 'answered', 'koa_token_guard.introspection.active': true,
    });
    expect(t.named('koa-token-guard fetch introspection')[0]!.attributes).to.deep.equal({
      'http.request.method': 'POST', 'url.full': endpoint, 'server.address': url.hostname, 'server.port': Number(url.port),
      'koa_token_guard.operation': 'introspection', 'koa_token_guard.outcome': 'answered', 'http.response.status_code': 200,
    });
    expect(t.named('koa-token-guard authenticate')[0]!.attributes).to.include({ 'koa_token_guard.source': 'introspection', 'koa_token_guard.cached': false });
    // (discovery and JWKS were fetched when the app started)
    expect((await durations()).filter((d) => d.attributes['koa_token_guard.operation'] === 'introspection')).to.deep.equal([{
      attributes: { 'koa_token_guard.outcome': 'answered', 'koa_token_guard.operation': 'introspection', 'server.address': url.hostname, 'http.response.status_code': 200 },
      count: 1, unit: 's',
    }]);
    expect(await points('koa_token_guard.cache.requests')).to.deep.equal([
      { attributes: { 'koa_token_guard.realm': 'api', 'koa_token_guard.cache.name': 'introspection', 'koa_token_guard.cache.result': 'miss' }, value: 1 },
      { attributes: { 'koa_token_guard.realm': 'api', 'koa_token_guard.cache.name': 'introspection', 'koa_token_guard.cache.result': 'hit' }, value: 1 },
    ]);
    await expectNothingSecret([token, clientSecret!]);
  });

  it('a cold key set: fetch discovery and fetch jwks under verify under authenticate; one provider duration point each', async () => {
    const s = await start({}, false);
    const token = await issuer.sign();
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(200);
    const t = await trees(1);
    expect(t.shape()).to.deep.equal([
      'SERVER › koa-token-guard authenticate', 'koa-token-guard authenticate › koa-token-guard verify',
      'koa-token-guard verify › koa-token-guard fetch discovery', 'koa-token-guard verify › koa-token-guard fetch jwks',
    ]);
    const [verify] = t.named('koa-token-guard verify');
    expect(t.childrenOf(verify!).map((s) => s.name)).to.deep.equal(['koa-token-guard fetch discovery', 'koa-token-guard fetch jwks']);
    expect(t.named('koa-token-guard fetch jwks')[0]!.attributes).to.include({ 'url.full': issuer.jwksUri, 'http.request.method': 'GET', 'http.response.status_code': 200 });
    expect(t.named('koa-token-guard fetch discovery')[0]!.attributes).to.include({ 'url.full': `${issuer.issuer.replace(/\/$/, '')}/.well-known/openid-configuration` });
    expect((await durations()).map((d) => [d.attributes['koa_token_guard.operation'], d.attributes['koa_token_guard.outcome'], d.count])).to.have.deep.members([
      ['discovery', 'answered', 1], ['jwks', 'answered', 1],
    ]);
    await expectNothingSecret([token]);
  });

  it('a provider outage: fetch discovery in error with error.type status and the 503, authenticate unavailable with its code; counted unavailable', async () => {
    const s = await start({}, false);
    const token = await issuer.sign();
    issuer.outage({ status: 503 });
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(503);
    const t = await trees(1);
    expect(t.shape().slice(0, 3)).to.deep.equal([
      'SERVER › koa-token-guard authenticate', 'koa-token-guard authenticate › koa-token-guard verify', 'koa-token-guard verify › koa-token-guard fetch discovery',
    ]);
    const [fetched] = t.named('koa-token-guard fetch discovery');
    expect(fetched!.status.code).to.equal(SpanStatusCode.ERROR);
    expect(fetched!.attributes).to.include({ 'koa_token_guard.outcome': 'failed', 'http.response.status_code': 503, 'error.type': 'status' });
    const [authn] = t.named('koa-token-guard authenticate');
    expect(authn!.status.code).to.equal(SpanStatusCode.ERROR);
    expect(authn!.attributes).to.include({ 'koa_token_guard.outcome': 'unavailable', 'koa_token_guard.status': 503, 'error.type': 'key_source_unavailable' });
    expect(await points('koa_token_guard.authentications')).to.deep.equal([
      { attributes: { 'koa_token_guard.realm': 'api', 'koa_token_guard.outcome': 'unavailable', 'error.type': 'key_source_unavailable' }, value: 1 },
    ]);
    expect((await durations()).find((d) => d.attributes['koa_token_guard.operation'] === 'discovery')?.attributes).to.deep.equal({
      'koa_token_guard.outcome': 'failed', 'koa_token_guard.operation': 'discovery', 'server.address': '127.0.0.1', 'http.response.status_code': 503, 'error.type': 'status',
    });
    await expectNothingSecret([token]);
  });

  it('a DPoP request, a replayed proof and an introspected token: no token, proof or client secret in any exported span, event or metric attribute', async () => {
    const key = await createDpopKey();
    const { clientId, clientSecret } = issuer.introspection!;
    const s = await start({ dpop: {}, introspection: { clientId, clientSecret: clientSecret! } });
    const token = await issuer.sign({}, { dpopKey: key });
    const proof = await key.proof({ method: 'GET', url: `${s.origin}/`, accessToken: token });
    expect((await s.send('/', { headers: dpop(token, proof) })).status).to.equal(200);
    expect((await s.send('/', { headers: dpop(token, proof) })).status).to.equal(401);
    const opaque = issuer.issueOpaque();
    expect((await s.send('/', { headers: bearer(opaque) })).status).to.equal(200);
    const t = await trees(3);
    const dpops = t.named('koa-token-guard dpop');
    expect(dpops.map((d) => [d.attributes['koa_token_guard.outcome'], d.attributes['error.type'], d.status.code])).to.deep.equal([
      ['accepted', undefined, SpanStatusCode.UNSET], ['refused', 'dpop_replayed', SpanStatusCode.ERROR],
    ]);
    expect(dpops.every((d) => t.named('koa-token-guard authenticate').some((a) => a.spanContext().spanId === d.parentSpanContext?.spanId))).to.equal(true);
    await expectNothingSecret([token, proof, opaque, clientSecret!, ...proof.split('.'), ...token.split('.').slice(1)]);
  });

  it('a throwing resolveUser: authenticate in error status with error.type its class, counted as error; the message (here holding the token) recorded nowhere', async () => {
    let token = '';
    const s = await start({ resolveUser: () => { throw new TypeError(`no user for ${token}`); } });
    token = await issuer.sign();
    expect((await s.send('/', { headers: bearer(token) })).status).to.equal(500);
    const [authn] = (await trees(1)).named('koa-token-guard authenticate');
    expect(authn!.status).to.deep.equal({ code: SpanStatusCode.ERROR });
    expect(authn!.attributes).to.include({ 'koa_token_guard.outcome': 'error', 'error.type': 'TypeError' });
    expect(authn!.events).to.deep.equal([]);
    expect(await points('koa_token_guard.authentications')).to.deep.equal([
      { attributes: { 'koa_token_guard.realm': 'api', 'koa_token_guard.outcome': 'error', 'error.type': 'TypeError', 'koa_token_guard.source': 'jwt' }, value: 1 },
    ]);
    await expectNothingSecret([token, 'no user for']);
  });

  it('userinfo look-ups: a userinfo cache miss, then a hit, in koa_token_guard.cache.requests (koa-token-guard:cache)', async () => {
    const asked: string[] = [];
    const provider: typeof fetch = (input) => {
      asked.push(input instanceof Request ? input.url : input.toString());
      return Promise.resolve(new Response(JSON.stringify({ sub: 'user-1' }), { headers: { 'content-type': 'application/json' } }));
    };
    const client = createUserInfoClient({ issuer: issuer.issuer, audience: AUDIENCE, userinfoEndpoint: 'https://idp.example.com/userinfo', fetch: provider }, 'api');
    const verified = await createVerifier({ issuer: issuer.issuer, audience: AUDIENCE })(await issuer.sign({ sub: 'user-1' }));
    await client.get(verified);
    await client.get(verified);
    expect(asked).to.deep.equal(['https://idp.example.com/userinfo']);
    const userinfo = (await points('koa_token_guard.cache.requests')).filter((p) => p.attributes['koa_token_guard.cache.name'] === 'userinfo');
    expect(userinfo).to.deep.equal([
      { attributes: { 'koa_token_guard.cache.name': 'userinfo', 'koa_token_guard.cache.result': 'miss', 'koa_token_guard.realm': 'api' }, value: 1 },
      { attributes: { 'koa_token_guard.cache.name': 'userinfo', 'koa_token_guard.cache.result': 'hit', 'koa_token_guard.realm': 'api' }, value: 1 },
    ]);
  });

  it('disable() unsubscribes: no span and no metric point for later requests, and the channels have no subscriber left', async () => {
    const s = await start();
    instrumentation.disable();
    expect((await s.send('/', { headers: bearer(await issuer.sign()) })).status).to.equal(200);
    const t = await trees(1);
    expect(t.ours).to.deep.equal([]);
    expect(await points('koa_token_guard.authentications')).to.deep.equal([]);
    const { tracingChannel } = await import('node:diagnostics_channel');
    const { TRACING_CHANNELS } = await import('../../lib/index.js');
    expect(Object.values(TRACING_CHANNELS).map((name) => tracingChannel(name).hasSubscribers)).to.deep.equal([false, false, false, false, false]);
    const { channel } = await import('node:diagnostics_channel');
    expect(channel('koa-token-guard:cache').hasSubscribers).to.equal(false);
    instrumentation.enable();
    expect((await s.send('/', { headers: bearer(await issuer.sign()) })).status).to.equal(200);
    expect((await trees(2)).named('koa-token-guard authenticate')).to.have.length(1);
  });

  it('url.full: user information in a provider URL is redacted, as the semantic conventions ask; the port defaults by scheme', () => {
    expect(providerUrl('https://client:s3cret@as.example.com/jwks?x=1')).to.deep.equal({ full: 'https://REDACTED:REDACTED@as.example.com/jwks?x=1', address: 'as.example.com', port: 443 });
    expect(providerUrl('http://as.example.com/.well-known/openid-configuration')).to.deep.equal({ full: 'http://as.example.com/.well-known/openid-configuration', address: 'as.example.com', port: 80 });
    expect(providerUrl('not a url')).to.equal(undefined);
  });
});
