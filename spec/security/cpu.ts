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
