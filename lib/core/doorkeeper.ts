/**
 * Remembers, approximately and in a fixed few KiB, which tokens were verified recently: the admission
 * filter of a full verified-token cache (the "doorkeeper" of TinyLFU). A token new to a full cache
 * enters it only when seen a second time, so a stream of one-time tokens neither evicts the tokens in
 * use nor churns the cache (each entry it would admit lives long enough to reach V8's old generation,
 * and dying there costs mark-compact pauses: the long tail of a flood of fresh tokens).
 *
 * Two bits per token among about sixteen slots per cache entry, cleared after `window` marks, so it
 * forgets as it fills; at its fullest about 1 new token in 200 is mistaken for a seen one, and such a
 * mistake only admits a token one verification early. Only verified tokens mark it.
 */
export class Doorkeeper {
  readonly #bits: Uint32Array;
  readonly #mask: number;
  readonly #window: number;
  #marks = 0;

  /** `window`: how many distinct tokens it remembers before starting afresh (the cache's `max`). */
  constructor(window: number) {
    let slots = 1024;
    while (slots < window * 16 && slots < 2 ** 27) slots *= 2;
    this.#bits = new Uint32Array(slots / 32);
    this.#mask = slots - 1;
    this.#window = window;
  }

  /** Whether `token` was marked since the last clearing; marks it when it was not. */
  seenBefore(token: string): boolean {
    const [a, b] = tailHashes(token);
    const slotA = a & this.#mask;
    const slotB = b & this.#mask;
    const bits = this.#bits;
    if ((bits[slotA >>> 5]! & (1 << (slotA & 31))) !== 0 && (bits[slotB >>> 5]! & (1 << (slotB & 31))) !== 0) return true;
    if (++this.#marks > this.#window) {
      bits.fill(0);
      this.#marks = 1;
    }
    bits[slotA >>> 5]! |= 1 << (slotA & 31);
    bits[slotB >>> 5]! |= 1 << (slotB & 31);
    return false;
  }
}

/**
 * Two FNV-1a hashes (different offset bases) of a token's last 32 characters: for a signed token those are
 * signature bytes, which differ between any two tokens, so the whole token need not be read. The pair is
 * reused by the next call: read it at once.
 */
const pair: [number, number] = [0, 0];
export function tailHashes(token: string): readonly [number, number] {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = Math.max(0, token.length - 32); i < token.length; i++) {
    const c = token.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  pair[0] = a >>> 0;
  pair[1] = b >>> 0;
  return pair;
}
