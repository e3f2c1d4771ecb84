// CPU per request for the attack suite's cost guards: process CPU (every thread, WebCrypto's pool
// included) rather than wall-clock time, and medians of repeated runs, so a garbage collection or a
// busy neighbour on this shared machine does not pass for an expensive request.

/** CPU microseconds (user + system, all threads of this process) that one call costs. */
export async function cpuOf(run: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await run();
  const { user, system } = process.cpuUsage(before);
  return user + system;
}

/** The median CPU microseconds of `runs` calls, after one warm-up call. */
export async function medianCpu(run: () => Promise<unknown>, runs = 15): Promise<number> {
  await run();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await cpuOf(run));
  samples.sort((a, b) => a - b);
  return samples[Math.floor(runs / 2)]!;
}

/**
 * The `k` costliest cases of a fuzz run by single measurement. A single measurement may include a
 * collection; re-measuring only these with `medianCpu` tells a costly request from a noisy one.
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
