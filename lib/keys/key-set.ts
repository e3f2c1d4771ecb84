import { importJWK, type JWK, type JWSHeaderParameters } from 'jose';
import { InvalidTokenError, KeySourceUnavailableError } from '../errors.js';
import { discover, type IssuerMetadata } from './discovery.js';
import { fetchJson, KeySourceError, type FetchJsonOptions } from './fetch.js';

/** How a key set fetches and ages its keys. Durations in seconds. */
export interface KeySetOptions extends FetchJsonOptions {
  /** Where the keys are: a JWKS URL, or an issuer whose discovery document names one. */
  source: { jwksUri: string } | { issuer: string };
  cooldown: number;
  maxAge: number;
  maxStale: number;
  /** Clock in milliseconds; replaceable for specs. */
  now?: () => number;
}

type VerifyKey = CryptoKey | Uint8Array;

interface Snapshot {
  readonly keys: readonly JWK[];
  readonly fetchedAt: number;
  /** Imported keys by `index + alg`: each key is imported once per algorithm, not per request. */
  readonly imported: Map<string, Promise<VerifyKey>>;
}

const KTY_BY_ALG_PREFIX: Record<string, string> = { RS: 'RSA', PS: 'RSA', ES: 'EC', Ed: 'OKP' };
const CRV_BY_ALG: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521', EdDSA: 'Ed25519', Ed25519: 'Ed25519' };

/** Whether a JWK may verify a token signed with `alg` (RFC 7517 4.2-4.4, RFC 8725 3.1). */
function fits(jwk: JWK, alg: string): boolean {
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.kty !== KTY_BY_ALG_PREFIX[alg.slice(0, 2)]) return false;
  const crv = CRV_BY_ALG[alg];
  return crv === undefined || jwk.crv === crv;
}

function usableKeys(body: Record<string, unknown>, url: string): JWK[] {
  if (!Array.isArray(body.keys)) throw new KeySourceError('shape', `${url} has no "keys" array`);
  return (body.keys as unknown[]).filter((k): k is JWK =>
    k !== null && typeof k === 'object' && typeof (k as JWK).kty === 'string' && (k as JWK).use !== 'enc'
    && ((k as JWK).kid === undefined || typeof (k as JWK).kid === 'string'));
}

/**
 * The keys of one issuer for the life of the process. Cold requests share one discovery and one JWKS
 * request; an unknown `kid` refetches at most once per cooldown; an old key set is refreshed in the
 * background while its keys still verify; a failed refresh keeps the last good keys for `maxStale`.
 */
export class RemoteKeySet {
  readonly #options: KeySetOptions;
  readonly #now: () => number;
  #snapshot: Snapshot | undefined;
  #inflight: Promise<Snapshot> | undefined;
  #jwksUri: string | undefined;
  #metadata: IssuerMetadata | undefined;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #lastFailure: KeySourceError | undefined;
  /** Provider calls made (discovery and JWKS), for observability and specs. */
  fetchCount = 0;

  constructor(options: KeySetOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => Date.now());
    if ('jwksUri' in options.source) this.#jwksUri = options.source.jwksUri;
  }

  /** The key that verifies a token with this protected header, or a typed error. */
  async getKey(header: JWSHeaderParameters): Promise<VerifyKey> {
    const alg = header.alg as string;
    const now = this.#now();
    let snapshot = this.#snapshot;
    if (snapshot === undefined || now - snapshot.fetchedAt > this.#options.maxStale * 1000) {
      snapshot = await this.#refreshOrUnavailable(snapshot);
    } else if (now - snapshot.fetchedAt > this.#options.maxAge * 1000 && this.#coolDownOver(now)) {
      this.refresh().catch(() => undefined); // stale-while-revalidate: no request waits on it
    }
    let index = this.#select(snapshot, header.kid, alg);
    if (index < 0) {
      if (this.#coolDownOver(now)) {
        snapshot = await this.#refreshOrUnavailable(snapshot);
        index = this.#select(snapshot, header.kid, alg);
      } else if (this.#lastFailure !== undefined) {
        throw this.#unavailable();
      }
      if (index < 0) throw new InvalidTokenError('kid_unknown', 'signing key not found');
    }
    return this.#import(snapshot, index, alg);
  }

  /**
   * The issuer's discovery metadata, discovering (with the key set, coalesced) if not yet done; failures
   * are a `KeySourceUnavailableError` as for keys. Undefined for a key set built from a `jwksUri`.
   */
  async metadata(): Promise<IssuerMetadata | undefined> {
    if ('jwksUri' in this.#options.source) return undefined;
    if (this.#metadata !== undefined) return this.#metadata;
    try {
      await this.#refreshOrUnavailable(this.#snapshot);
    } catch (error) {
      if (this.#metadata === undefined) throw error; // discovery itself failed, not only the JWKS
    }
    return this.#metadata;
  }

  /** Fetches the key set now (coalesced with any fetch under way). For pre-warming and forced refresh. */
  refresh(): Promise<Snapshot> {
    this.#inflight ??= this.#load().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  #coolDownOver(now: number): boolean {
    return now - this.#lastAttempt >= this.#options.cooldown * 1000;
  }

  async #refreshOrUnavailable(previous: Snapshot | undefined): Promise<Snapshot> {
    const now = this.#now();
    const usable = previous !== undefined && now - previous.fetchedAt <= this.#options.maxStale * 1000;
    // Outside the cooldown after a failure, answer from what we have instead of hammering the provider.
    if (this.#inflight === undefined && this.#lastFailure !== undefined && !this.#coolDownOver(now)) {
      if (usable) return previous;
      throw this.#unavailable();
    }
    try {
      return await this.refresh();
    } catch (error) {
      if (usable) return previous;
      throw this.#unavailable(error);
    }
  }

  #unavailable(cause: unknown = this.#lastFailure): KeySourceUnavailableError {
    const waited = (this.#now() - this.#lastAttempt) / 1000;
    const retryAfter = Math.max(this.#lastFailure?.retryAfter ?? 0, this.#options.cooldown - waited, 1);
    return new KeySourceUnavailableError(retryAfter, { cause });
  }

  async #load(): Promise<Snapshot> {
    this.#lastAttempt = this.#now();
    try {
      if (this.#jwksUri === undefined) {
        this.fetchCount++;
        const metadata = await discover((this.#options.source as { issuer: string }).issuer, this.#options);
        this.#metadata = metadata;
        this.#jwksUri = metadata.jwks_uri;
      }
      this.fetchCount++;
      const { body } = await fetchJson(this.#jwksUri, this.#options);
      const keys = usableKeys(body, this.#jwksUri);
      const snapshot: Snapshot = { keys, fetchedAt: this.#now(), imported: new Map() };
      this.#snapshot = snapshot;
      this.#lastFailure = undefined;
      return snapshot;
    } catch (error) {
      this.#lastFailure = error instanceof KeySourceError ? error : new KeySourceError('network', 'key set request failed', { cause: error });
      throw this.#lastFailure;
    }
  }

  /** Index of the key for (kid, alg): the first match by `kid`, or without `kid` the only key that fits. */
  #select(snapshot: Snapshot, kid: string | undefined, alg: string): number {
    const { keys } = snapshot;
    if (kid !== undefined) {
      for (let i = 0; i < keys.length; i++) if (keys[i]!.kid === kid && fits(keys[i]!, alg)) return i;
      return -1;
    }
    let found = -1;
    for (let i = 0; i < keys.length; i++) {
      if (!fits(keys[i]!, alg)) continue;
      if (found >= 0) return -1; // ambiguous: never guess between two keys
      found = i;
    }
    return found;
  }

  #import(snapshot: Snapshot, index: number, alg: string): Promise<VerifyKey> {
    const id = `${index}\u0000${alg}`;
    let key = snapshot.imported.get(id);
    if (key === undefined) {
      key = importJWK(snapshot.keys[index]!, alg).catch((cause: unknown) => {
        snapshot.imported.delete(id);
        throw new KeySourceUnavailableError(this.#options.cooldown, { cause });
      });
      snapshot.imported.set(id, key);
    }
    return key;
  }
}
