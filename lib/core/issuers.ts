import { LRUCache } from 'lru-cache';
import { KeySourceUnavailableError } from '../errors.js';
import { debug } from '../events.js';
import { providerUrlAllowed } from '../url.js';
import type { Caller } from './caller.js';
import type { IssuerSettings, ResolvedVerifyOptions } from './options.js';

/** An issuer `resolveIssuer` accepted: its keys come from `jwksUri`, or from its discovery document when undefined. */
export interface AcceptedIssuer {
  readonly iss: string;
  readonly jwksUri: string | undefined;
}

/** What the key set registry files an accepted issuer's keys under. */
export function keySourceOf(accepted: AcceptedIssuer): { jwksUri: string } | { issuer: string } {
  return accepted.jwksUri === undefined ? { issuer: accepted.iss } : { jwksUri: accepted.jwksUri };
}

type Resolver = NonNullable<ResolvedVerifyOptions['resolveIssuer']>;
type Answer = IssuerSettings | undefined | null;

interface Pending {
  readonly decision: Promise<AcceptedIssuer | undefined>;
  /** The client charged for it; undefined when the caller named none. */
  readonly client: string | undefined;
}

/**
 * Which issuers `resolveIssuer` accepts, for every verifier and introspector built with one resolver.
 * Three places that never take from one another: accepted issuers (an LRU of `keySets.max`), refused
 * ones (an LRU of their own, for `refusedTtl`), and look-ups under way (`maxPending` in all,
 * `maxPendingPerClient` per client, each for at most `fetchTimeout`). So a token naming a made-up
 * issuer can cost a look-up, or a 503 once the look-ups are taken, but never an accepted tenant's place.
 */
export class IssuerResolution {
  readonly #resolve: Resolver;
  readonly #options: ResolvedVerifyOptions;
  readonly #accepted: LRUCache<string, AcceptedIssuer>;
  readonly #refused: LRUCache<string, true> | undefined;
  readonly #pending = new Map<string, Pending>();
  readonly #perClient = new Map<string, number>();

  constructor(resolve: Resolver, options: ResolvedVerifyOptions) {
    this.#resolve = resolve;
    this.#options = options;
    const { max, refusedTtl } = options.keySets;
    this.#accepted = new LRUCache({ max });
    this.#refused = refusedTtl === 0 ? undefined : new LRUCache({ max, ttl: refusedTtl * 1000, ttlAutopurge: false });
  }

  /**
   * The accepted issuer `iss`, or undefined when the resolver refuses it; a promise while it decides.
   * Throws (or rejects with) a fresh 503 `KeySourceUnavailableError` when the resolver fails or takes
   * longer than `fetchTimeout`, and when the look-ups `iss` would need are all taken.
   */
  decide(iss: string, caller: Caller | undefined): AcceptedIssuer | undefined | Promise<AcceptedIssuer | undefined> {
    const accepted = this.#accepted.get(iss);
    if (accepted !== undefined) return accepted;
    if (this.#refused?.has(iss) === true) return undefined;
    const pending = this.#pending.get(iss);
    // One look-up per issuer, whoever else asks meanwhile; each waiter gets an error of its own.
    if (pending !== undefined) return pending.decision.catch(this.#unavailable);
    const { maxPending, maxPendingPerClient } = this.#options.keySets;
    const client = caller?.ip;
    const held = client === undefined ? 0 : this.#perClient.get(client) ?? 0;
    if (this.#pending.size >= maxPending || held >= maxPendingPerClient) {
      debug('%s: issuer look-up refused (keySets.maxPending %d, maxPendingPerClient %d reached)', client ?? 'no client', maxPending, maxPendingPerClient);
      throw new KeySourceUnavailableError(this.#options.fetchTimeout);
    }
    let answer: Answer | PromiseLike<Answer>;
    try {
      answer = this.#resolve(iss);
    } catch (cause) {
      return this.#unavailable(cause);
    }
    // A synchronous resolver decides at once: nothing is ever pending for it.
    if (!isPromiseLike(answer)) return this.#settle(iss, answer);
    if (client !== undefined) this.#perClient.set(client, held + 1);
    const entry: Pending = { decision: this.#await(iss, answer), client };
    this.#pending.set(iss, entry);
    const release = (): void => this.#release(iss, entry);
    entry.decision.then(release, release);
    return entry.decision.catch(this.#unavailable);
  }

  /** The resolver's answer, or a rejection once it has taken `fetchTimeout`: a stuck look-up gives its place back. */
  async #await(iss: string, answer: PromiseLike<Answer>): Promise<AcceptedIssuer | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`resolveIssuer did not settle within ${this.#options.fetchTimeout} s`)), this.#options.fetchTimeout * 1000);
      timer.unref();
    });
    try {
      return this.#settle(iss, await Promise.race([answer, timeout]));
    } finally {
      clearTimeout(timer);
    }
  }

  #settle(iss: string, settings: Answer): AcceptedIssuer | undefined {
    if (settings === undefined || settings === null) return this.#refuse(iss);
    const jwksUri = typeof settings === 'object' ? settings.jwksUri : undefined;
    if (!providerUrlAllowed(jwksUri ?? iss, this.#options.allowInsecureHttp)) {
      debug('resolveIssuer accepted %j without a usable jwksUri; refusing its tokens', iss);
      return this.#refuse(iss);
    }
    const accepted: AcceptedIssuer = { iss, jwksUri };
    this.#accepted.set(iss, accepted);
    return accepted;
  }

  #refuse(iss: string): undefined {
    this.#refused?.set(iss, true);
    return undefined;
  }

  #release(iss: string, entry: Pending): void {
    if (this.#pending.get(iss) === entry) this.#pending.delete(iss);
    const client = entry.client;
    if (client === undefined) return;
    const held = (this.#perClient.get(client) ?? 1) - 1;
    if (held > 0) this.#perClient.set(client, held);
    else this.#perClient.delete(client);
  }

  readonly #unavailable = (cause: unknown): never => {
    // The resolver's store (a tenant database, say) failed or hangs: not the token's fault.
    throw new KeySourceUnavailableError(this.#options.cooldown, { cause });
  };
}

function isPromiseLike(value: unknown): value is PromiseLike<Answer> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}

// Process-wide, per resolver function: the verifier and the introspector of one authenticate() (built
// from the same options) and any other instance given the same resolver share decisions and bounds.
const resolutions = new WeakMap<Resolver, Map<string, IssuerResolution>>();

/** The one `IssuerResolution` of `options.resolveIssuer` under these bounds; undefined without a resolver. */
export function issuerResolutionFor(options: ResolvedVerifyOptions): IssuerResolution | undefined {
  const resolve = options.resolveIssuer;
  if (resolve === undefined) return undefined;
  let byBounds = resolutions.get(resolve);
  if (byBounds === undefined) resolutions.set(resolve, (byBounds = new Map<string, IssuerResolution>()));
  const { max, maxPending, maxPendingPerClient, refusedTtl } = options.keySets;
  const id = [max, maxPending, maxPendingPerClient, refusedTtl, options.fetchTimeout, options.cooldown, options.allowInsecureHttp].join(' ');
  let resolution = byBounds.get(id);
  if (resolution === undefined) byBounds.set(id, (resolution = new IssuerResolution(resolve, options)));
  return resolution;
}
