import { InvalidDpopProofError } from '../errors.js';
import type { EventHook } from '../events.js';
import { traceDpop, tracing } from '../telemetry/channels.js';
import { nonceSource, type NonceSource } from './nonce.js';
import type { ResolvedDpopOptions } from './options.js';
import { createProofVerifier } from './proof.js';
import { KeyQuota } from './quota.js';
import { createReplayCache, MemoryReplayStore } from './replay.js';

/** One DPoP request, as the checker needs it (Koa-free). */
export interface DpopRequest {
  readonly method: string;
  /** The request URL from `requestHtu()` (or `originHtus()` with `dpop.origin`), computed once per request. */
  readonly htu: string | readonly string[] | undefined;
  /** The request's one DPoP proof. */
  readonly proof: string;
  /** The access token the proof goes with. */
  readonly accessToken: string;
  /** The token's `cnf.jkt`. */
  readonly jkt: string;
  /** The access token's hash (`accessTokenHashOf()`), when known; computed from `accessToken` otherwise. */
  readonly ath?: string | undefined;
}

/** What a request that passed the checks gets. */
export interface DpopResult {
  /** The proof key's thumbprint (equal to the token's `cnf.jkt`). */
  readonly jkt: string;
  /** A fresh server nonce to send as `DPoP-Nonce` because the one the client used is about to expire. */
  readonly nonce: string | undefined;
}

/** The DPoP check of `authenticate()`, built once at startup. */
export interface DpopChecker {
  readonly options: ResolvedDpopOptions;
  readonly nonces: NonceSource | undefined;
  /** Proof, key binding, nonce and replay: resolves for a request whose proof is right, else rejects with an `AuthError`. */
  check(request: DpopRequest): Promise<DpopResult>;
}

/**
 * Builds the whole RFC 9449 resource-server check: the proof (never cached) with its key against the
 * token's `cnf.jkt` (before its signature), then its `jti` against the replay cache, recorded last so that refused proofs
 * never fill it. The replay window is the `iat` window, or the nonce's life when nonces are on.
 */
export function createDpopChecker(options: ResolvedDpopOptions, onEvent: EventHook | undefined): DpopChecker {
  const nonces = options.nonce === undefined ? undefined : nonceSource(options.nonce.secrets, options.nonce.lifetime);
  const verifyProof = createProofVerifier(options, nonces);
  const ttl = (options.nonce === undefined ? options.iatWindow : 2 * options.nonce.lifetime) + 2 * options.clockTolerance;
  const replays = createReplayCache({
    ttl,
    memory: new MemoryReplayStore(options.replayCache.max),
    quota: new KeyQuota(options.replayCache.maxPerKey, ttl, options.replayCache.max),
    shared: options.replayStore,
    onFailure: options.replayStoreFailure,
    onEvent,
  });
  async function checkProof(request: DpopRequest): Promise<DpopResult> {
    const proof = await verifyProof(request.proof, request);
    const added = replays.add(proof.jkt, proof.jti);
    if (!(typeof added === 'boolean' ? added : await added)) {
      throw new InvalidDpopProofError('dpop_replayed', 'DPoP proof already used');
    }
    return { jkt: proof.jkt, nonce: nonces === undefined || proof.nonce === undefined ? undefined : nonces.renewal(proof.nonce) };
  }
  return {
    options,
    nonces,
    check: (request) => (tracing.dpop.hasSubscribers ? traceDpop(checkProof, request) : checkProof(request)),
  };
}
