// CPU per request, measured with process.cpuUsage() (every thread of the process, so WebCrypto's
// thread pool too), never wall-clock: the machine is shared and noisy.

/**
 * Microseconds of CPU per call of each kind: each kind runs `perRound` calls in each of `rounds`
 * interleaved rounds and keeps its cheapest round. Noise (other processes, GC, JIT) only ever adds
 * cost, so the minimum is the steadiest estimate, and interleaving spreads any drift over every kind.
 */
export async function cpuCosts<K extends string>(kinds: Record<K, () => Promise<unknown>>, perRound: number, rounds: number): Promise<Record<K, number>> {
  const names = Object.keys(kinds) as K[];
  const best = Object.fromEntries(names.map((k) => [k, Infinity])) as Record<K, number>;
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const run = kinds[name];
      const start = process.cpuUsage();
      for (let i = 0; i < perRound; i++) await run();
      const { user, system } = process.cpuUsage(start);
      best[name] = Math.min(best[name], (user + system) / perRound);
    }
  }
  return best;
}

/** CPU microseconds (user + system, all threads of this process) that one call costs. */
export async function cpuOf(run: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await run();
  const { user, system } = process.cpuUsage(before);
  return user + system;
}

/**
 * The `k` costliest cases of a fuzz run by single measurement. A single measurement may include a
 * collection; re-measuring only these with `cpuCosts` tells a costly request from a noisy one.
 */
export class Costliest<T> {
  readonly #k: number;
  readonly #cases: { cpu: number; value: T }[] = [];

  constructor(k: number) {
    this.#k = k;
  }

  note(cpu: number, value: T): void {
    if (this.#cases.length === this.#k && cpu <= this.#cases[this.#k - 1]!.cpu) return;
    this.#cases.push({ cpu, value });
    this.#cases.sort((a, b) => b.cpu - a.cpu);
    if (this.#cases.length > this.#k) this.#cases.pop();
  }

  get values(): T[] {
    return this.#cases.map((c) => c.value);
  }
}
