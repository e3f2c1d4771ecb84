/** Thrown by `CallLimiter.run` when the wait queue (or the caller's share of it) is full; the caller answers 503. */
export class QueueFullError extends Error {
  constructor() {
    super('too many introspection calls waiting');
    this.name = 'QueueFullError';
  }
}

/**
 * Bounds the calls to one authorization server: at most `maxConcurrent` in flight, at most `maxQueue`
 * waiting, the rest refused at once. A flood of made-up tokens then costs the server no more than
 * `maxConcurrent` concurrent calls, and costs us a bounded queue, never unbounded memory.
 *
 * Who gets the queue: each caller (a client address) may have at most `maxQueuePerClient` calls
 * waiting, and a freed slot goes to the callers in turn (round robin; first come, first served within
 * one caller). So one client flooding fills its own share, not the queue, and its backlog does not
 * delay another client's call by more than one call per waiting client. Calls without a caller (the
 * core used directly) share one share bounded by `maxQueue` alone.
 */
export class CallLimiter {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly maxQueuePerClient: number;
  #active = 0;
  #queued = 0;
  /** Waiting calls per caller, oldest first; the map's order is the order callers are served in. */
  readonly #queues = new Map<string | undefined, (() => void)[]>();
  /** The most calls ever in flight at once, for observability and specs. */
  peak = 0;

  constructor(maxConcurrent: number, maxQueue: number, maxQueuePerClient = maxQueue) {
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
    this.maxQueuePerClient = maxQueuePerClient;
  }

  /** Calls in flight now. */
  get active(): number {
    return this.#active;
  }

  /** Calls waiting now. */
  get queued(): number {
    return this.#queued;
  }

  /** Runs `call` for a caller's `share` when a slot is free; rejects with `QueueFullError` when the queue or the share is full. */
  async run<T>(call: () => Promise<T>, share?: string): Promise<T> {
    if (this.#active >= this.maxConcurrent) {
      let queue = this.#queues.get(share);
      if (this.#queued >= this.maxQueue || (share !== undefined && (queue?.length ?? 0) >= this.maxQueuePerClient)) throw new QueueFullError();
      if (queue === undefined) this.#queues.set(share, (queue = []));
      this.#queued++;
      // The slot is handed over by the call that finishes, so #active never dips and lets a newcomer jump the queue.
      await new Promise<void>((resolve) => queue.push(resolve));
    } else {
      this.#active++;
    }
    this.peak = Math.max(this.peak, this.#active);
    try {
      return await call();
    } finally {
      const next = this.#next();
      if (next === undefined) this.#active--;
      else next();
    }
  }

  /** The oldest call of the caller whose turn it is; that caller goes to the back of the line. */
  #next(): (() => void) | undefined {
    for (const [share, queue] of this.#queues) {
      const next = queue.shift()!;
      this.#queues.delete(share);
      if (queue.length > 0) this.#queues.set(share, queue);
      this.#queued--;
      return next;
    }
    return undefined;
  }
}

// One limiter per endpoint (and bounds) for the whole process: two authenticate() instances asking one
// server with the same bounds share them; differently bounded ones keep the bounds they asked for.
const limiters = new Map<string, CallLimiter>();

/** The process-wide limiter of an endpoint with these bounds. */
export function limiterFor(endpoint: string, maxConcurrent: number, maxQueue: number, maxQueuePerClient: number): CallLimiter {
  const id = `${maxConcurrent} ${maxQueue} ${maxQueuePerClient} ${endpoint}`;
  let limiter = limiters.get(id);
  if (limiter === undefined) limiters.set(id, (limiter = new CallLimiter(maxConcurrent, maxQueue, maxQueuePerClient)));
  return limiter;
}
