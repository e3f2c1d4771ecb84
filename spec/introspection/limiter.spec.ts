import { expect } from 'chai';
import { createIntrospector } from '../../lib/index.js';
import { CallLimiter, QueueFullError } from '../../lib/introspection/limiter.js';
import { rejection } from '../support/rejection.js';

const ENDPOINT = 'https://as.example.com/introspect';

/**
 * An authorization server inside `fetch` (the option every provider call goes through): answers after
 * `delay` ms, active only for `good`, and counts calls in flight. In-process, so a flood of 1,000 calls
 * measures our bound, not the machine's loopback.
 */
function fakeServer(delay: number, good = 'good-token') {
  const counts = { calls: 0, now: 0, peak: 0 };
  const fetchFn: typeof fetch = async (_input, init) => {
    counts.calls++;
    counts.now++;
    counts.peak = Math.max(counts.peak, counts.now);
    await new Promise((resolve) => setTimeout(resolve, delay));
    counts.now--;
    const token = new URLSearchParams(init?.body as string).get('token');
    const answer = token === good ? { active: true, iss: 'https://as.example.com/', aud: 'https://api.example.com', sub: 'user-1' } : { active: false };
    return new Response(JSON.stringify(answer), { headers: { 'content-type': 'application/json' } });
  };
  const introspectorFor = (maxConcurrent: number, maxQueue: number) => createIntrospector({
    issuer: 'https://as.example.com/', audience: 'https://api.example.com', jwksUri: 'https://as.example.com/jwks', fetch: fetchFn,
    introspection: { clientId: 'api', clientSecret: 'secret', endpoint: ENDPOINT, maxConcurrent, maxQueue },
  });
  return { counts, introspectorFor };
}

describe('introspection/limiter', () => {
  it('1,000 made-up tokens at once never put more than maxConcurrent calls in flight', async () => {
    const server = fakeServer(1);
    const introspect = server.introspectorFor(8, 1000);
    const errors = await Promise.all(Array.from({ length: 1000 }, (_, i) => rejection(introspect(`made-up-${i}`))));
    expect(errors.every((e) => e.code === 'token_inactive')).to.be.true;
    expect(server.counts.calls).to.equal(1000);
    expect(server.counts.peak).to.equal(8);
  });

  it('answers 503 with Retry-After once the queue is full, while cached tokens keep being served', async () => {
    const server = fakeServer(50);
    const introspect = server.introspectorFor(2, 10);
    await introspect('good-token');
    const flood = Promise.all(Array.from({ length: 100 }, (_, i) => rejection(introspect(`made-up-${i}`))));
    // During the flood, the cached token is answered from memory, without waiting in the queue.
    expect((await introspect('good-token')).claims.sub).to.equal('user-1');
    const errors = await flood;
    const full = errors.filter((e) => e.code === 'introspection_unavailable');
    expect(full).to.have.length(88);
    expect([full[0]!.status, full[0]!.headers]).to.deep.equal([503, { 'Retry-After': '5' }]);
    expect(errors.filter((e) => e.code === 'token_inactive')).to.have.length(12);
    expect(server.counts.calls).to.equal(13);
    expect(server.counts.peak).to.equal(2);
  });

  it('shares the bound between introspectors asking one endpoint with the same bounds', async () => {
    const server = fakeServer(5);
    const a = server.introspectorFor(3, 1000);
    const b = server.introspectorFor(3, 1000);
    await Promise.all(Array.from({ length: 50 }, (_, i) => rejection((i % 2 ? a : b)(`shared-${i}`))));
    expect(server.counts.peak).to.equal(3);
  });

  it('hands a freed slot to the longest waiting call (first come, first served)', async () => {
    const limiter = new CallLimiter(1, 5);
    const order: number[] = [];
    let release!: () => void;
    const first = limiter.run(() => new Promise<void>((resolve) => { release = resolve; }));
    const waiting = [1, 2, 3].map((n) => limiter.run(() => { order.push(n); return Promise.resolve(); }));
    await Promise.resolve();
    expect([limiter.active, limiter.queued]).to.deep.equal([1, 3]);
    release();
    await Promise.all([first, ...waiting]);
    expect(order).to.deep.equal([1, 2, 3]);
    expect([limiter.active, limiter.queued, limiter.peak]).to.deep.equal([0, 0, 1]);
  });

  it('caps each caller\'s waiting calls at maxQueuePerClient and serves callers round robin', async () => {
    const limiter = new CallLimiter(1, 10, 3);
    const order: string[] = [];
    let release!: () => void;
    const first = limiter.run(() => new Promise<void>((resolve) => { release = resolve; }), 'a');
    const run = (name: string, share: string) => limiter.run(() => { order.push(name); return Promise.resolve(); }, share).catch((e: unknown) => e);
    const waiting = [run('a1', 'a'), run('a2', 'a'), run('a3', 'a'), run('a4', 'a'), run('b1', 'b'), run('b2', 'b')];
    await Promise.resolve();
    expect([limiter.active, limiter.queued]).to.deep.equal([1, 5]);
    release();
    const results = await Promise.all([first, ...waiting]);
    expect(results[4]).to.be.instanceOf(QueueFullError);
    expect(order).to.deep.equal(['a1', 'b1', 'a2', 'b2', 'a3']);
    expect([limiter.active, limiter.queued]).to.deep.equal([0, 0]);
  });

  it('bounds calls without a caller (the core used directly) by maxQueue alone', async () => {
    const limiter = new CallLimiter(1, 5, 1);
    let release!: () => void;
    const first = limiter.run(() => new Promise<void>((resolve) => { release = resolve; }));
    const waiting = Array.from({ length: 6 }, () => limiter.run(() => Promise.resolve()).catch((e: unknown) => e));
    await Promise.resolve();
    expect(limiter.queued).to.equal(5);
    release();
    const results = await Promise.all(waiting);
    expect(results.filter((r) => r instanceof QueueFullError)).to.have.length(1);
    await first;
  });

  it('frees the slot of a call that fails, and refuses beyond the queue with QueueFullError', async () => {
    const limiter = new CallLimiter(1, 0);
    await limiter.run(() => Promise.reject(new Error('boom'))).catch(() => undefined);
    let release!: () => void;
    const running = limiter.run(() => new Promise<void>((resolve) => { release = resolve; }));
    const error = await limiter.run(() => Promise.resolve()).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(QueueFullError);
    release();
    await running;
    expect(limiter.active).to.equal(0);
  });
});
