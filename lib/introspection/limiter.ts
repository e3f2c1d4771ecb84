/** Thrown by `CallLimiter.run` when the wait queue is full; the caller answers 503. */
export class QueueFullError extends Error {
  constructor() {
    super('too many introspection calls waiting');
    this.name = 'QueueFullError';
  }
}

/**
 * Bounds the calls to one authorization server: at most `maxConcurrent` in flight, at most `maxQueue`
 * waiting (first come, first served), the rest refused at once. A flood of made-up tokens then costs the
 * server no more than `maxConcurrent` concurrent calls, and costs us a bounded queue, never unbounded memory.
 */
export class CallLimiter {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  #active = 0;
  readonly #queue: (() => void)[] = [];
  /** The most calls ever in flight at once, for observability and specs. */
  peak = 0;

  constructor(maxConcurrent: number, maxQueue: number) {
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
  }

  /** Calls in flight now. */
  get active(): number {
    return this.#active;
  }

  /** Calls waiting now. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Runs `call` when a slot is free; rejects with `QueueFullError` when the queue is full. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.#active >= this.maxConcurrent) {
      if (this.#queue.length >= this.maxQueue) throw new QueueFullError();
      // The slot is handed over by the call that finishes, so #active never dips and lets a newcomer jump the queue.
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else {
      this.#active++;
    }
    this.peak = Math.max(this.peak, this.#active);
    try {
      return await call();
    } finally {
      const next = this.#queue.shift();
      if (next === undefined) this.#active--;
      else next();
    }
  }
}

// One limiter per endpoint (and bounds) for the whole process: two authenticate() instances asking one
// server with the same bounds share them; differently bounded ones keep the bounds they asked for.
const limiters = new Map<string, CallLimiter>();

/** The process-wide limiter of an endpoint with these bounds. */
export function limiterFor(endpoint: string, maxConcurrent: number, maxQueue: number): CallLimiter {
  const id = `${maxConcurrent} ${maxQueue} ${endpoint}`;
  let limiter = limiters.get(id);
  if (limiter === undefined) limiters.set(id, (limiter = new CallLimiter(maxConcurrent, maxQueue)));
  return limiter;
}
