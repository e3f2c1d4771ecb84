import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { VerifiedToken } from '../core/verify.js';
import type { AuthErrorCode } from '../errors.js';

/** What the cache remembers of one token: its established form, or why it was refused. */
export type Outcome = { readonly verified: VerifiedToken<object> } | { readonly refused: AuthErrorCode; readonly description: string };

interface Entry { readonly outcome: Outcome; readonly expiresAt: number }

/** Bounds of the answer cache. Seconds. */
export interface AnswerCacheOptions {
  readonly max: number;
  readonly ttl: number;
  readonly inactiveTtl: number;
  /** The leeway a JWT's `exp` gets, so a cached answer lives exactly as long as a fresh one would pass. */
  readonly clockTolerance: number;
  /** The verifier's `maxTokenAge`, when set: an answer is never kept past the token's age limit either. */
  readonly maxTokenAge: number | undefined;
}

/**
 * The key of a token in the shared store: a SHA-256 over the token and what the answer depends on
 * (endpoint, client), so the store never holds a token. (In memory, one introspector's cache is keyed
 * by the token, as the verified-token cache is.) The raw token is never a log field or an event field.
 */
export function answerKey(scope: string, token: string): string {
  return hash('sha256', `${scope}\u0000${token}`, 'base64url');
}

/**
 * Introspection outcomes of one introspector, in memory. Accepted tokens and refused ones live in two
 * LRUs of `max` entries each, so a flood of made-up tokens evicts only other refusals, never the tokens
 * that pass. An accepted token is kept until the soonest of its `exp`, its age limit and `ttl`; a refusal `inactiveTtl`.
 * Accepted tokens are keyed by the token, which their established form holds anyway, so a hit costs no
 * hash; refusals by its SHA-256, so made-up tokens of any length cost 43 characters each.
 */
export class AnswerCache {
  readonly #options: AnswerCacheOptions;
  readonly #accepted: LRUCache<string, Entry>;
  readonly #refused: LRUCache<string, Entry>;

  constructor(options: AnswerCacheOptions) {
    this.#options = options;
    this.#accepted = new LRUCache<string, Entry>({ max: options.max });
    this.#refused = new LRUCache<string, Entry>({ max: options.max });
  }

  get(token: string): Outcome | undefined {
    let entry = this.#accepted.get(token);
    if (entry !== undefined) {
      if (Date.now() < entry.expiresAt) return entry.outcome;
      this.#accepted.delete(token);
    }
    if (this.#refused.size === 0) return undefined;
    const key = refusalKey(token);
    entry = this.#refused.get(key);
    if (entry === undefined) return undefined;
    if (Date.now() < entry.expiresAt) return entry.outcome;
    this.#refused.delete(key);
    return undefined;
  }

  /**
   * Seconds from now an answer the server gave at `at` (ms) may still be kept, here and in the store:
   * an active one until the soonest of its `exp`, its age limit (`iat + maxTokenAge`, both with the
   * clock tolerance) and `at + ttl`, an inactive one until `at + inactiveTtl`; 0 when it must not be kept. Every check that depends on the clock ends the entry's
   * life when it would first refuse, so a hit never needs re-checking.
   */
  ttlOf(answer: Readonly<Record<string, unknown>>, at: number): number {
    const now = Date.now();
    const { clockTolerance, maxTokenAge, ttl, inactiveTtl } = this.#options;
    if (answer.active !== true) return Math.max(0, (at + inactiveTtl * 1000 - now) / 1000);
    const { nbf } = answer;
    // Accepted within the clock tolerance but not valid yet: ask again until it is.
    if (typeof nbf === 'number' && nbf * 1000 > now) return 0;
    return Math.max(0, (verdictExpiry(answer, at, ttl, clockTolerance, maxTokenAge) - now) / 1000);
  }

  /** Keeps the outcome of an answer given at `at` (ms): an accepted one for `ttlOf`, a refusal until `at + inactiveTtl`. */
  set(token: string, outcome: Outcome, at: number): void {
    const now = Date.now();
    const seconds = 'verified' in outcome ? this.ttlOf(outcome.verified.claims, at) : (at + this.#options.inactiveTtl * 1000 - now) / 1000;
    if (seconds <= 0) return;
    const entry = { outcome, expiresAt: now + seconds * 1000 };
    if ('verified' in outcome) this.#accepted.set(token, entry);
    else this.#refused.set(refusalKey(token), entry);
  }
}

/**
 * When an active answer given at `at` (ms) stops being trusted (ms since the epoch): the soonest of
 * `at + ttl`, its `exp` and its age limit (`iat + maxTokenAge`), both with the clock tolerance.
 */
export function verdictExpiry(answer: Readonly<Record<string, unknown>>, at: number, ttl: number, clockTolerance: number, maxTokenAge: number | undefined): number {
  const { exp, iat } = answer;
  let expiresAt = at + ttl * 1000;
  // The answer check refuses once floor(now) >= exp + tolerance, and once floor(now) - iat > maxTokenAge + tolerance.
  if (typeof exp === 'number') expiresAt = Math.min(expiresAt, Math.ceil(exp + clockTolerance) * 1000);
  if (maxTokenAge !== undefined && typeof iat === 'number') {
    expiresAt = Math.min(expiresAt, (Math.floor(iat + maxTokenAge + clockTolerance) + 1) * 1000);
  }
  return expiresAt;
}

const refusalKey = (token: string): string => hash('sha256', token, 'base64url');
