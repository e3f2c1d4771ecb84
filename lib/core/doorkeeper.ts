/**
 * Remembers, approximately and in a fixed few KiB, which tokens were verified recently: the admission
 * filter of a full verified-token cache (the "doorkeeper" of TinyLFU). A token new to a full cache
 * enters it only when seen a second time, so a stream of one-time tokens neither evicts the tokens in
 * use nor churns the cache (each entry it would admit lives long enough to reach V8's old generation,
 * and dying there costs mark-compact pauses: the long tail of a flood of fresh tokens).
 *
 * One bit per hash slot, about eight slots per cache entry, cleared after `window` marks, so it forgets
 * as it fills. A false "seen" only admits a token one verification early; only verified tokens mark it.
 */
export class Doorkeeper {
  readonly #bits: Uint32Array;
  readonly #mask: number;
  readonly #window: number;
  #marks = 0;

  /** `window`: how many distinct tokens it remembers before starting afresh (the cache's `max`). */
  constructor(window: number) {
    let slots = 1024;
    while (slots < window * 8 && slots < 2 ** 26) slots *= 2;
    this.#bits = new Uint32Array(slots / 32);
    this.#mask = slots - 1;
    this.#window = window;
  }

  /** Whether `token` was marked since the last clearing; marks it when it was not. */
  seenBefore(token: string): boolean {
    const slot = hash(token) & this.#mask;
    const word = slot >>> 5;
    const bit = 1 << (slot & 31);
    if ((this.#bits[word]! & bit) !== 0) return true;
    if (++this.#marks > this.#window) {
      this.#bits.fill(0);
      this.#marks = 1;
    }
    this.#bits[word]! |= bit;
    return false;
  }
}

// FNV-1a over the token's last 32 characters: for a signed token those are signature bytes, which differ
// between any two tokens, so the whole token need not be read.
function hash(token: string): number {
  let h = 0x811c9dc5;
  for (let i = Math.max(0, token.length - 32); i < token.length; i++) {
    h ^= token.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
