import { debuglog } from 'node:util';
import { AuthError, type AuthErrorCode } from './errors.js';
import type { FetchFailureReason } from './keys/fetch.js';
import type { ConfigurationWarningCode } from './warnings.js';

/** Why a key set was loaded: first use, a `kid` it did not know, its max age, or `keys.refresh()`. */
export type KeySetLoadReason = 'cold' | 'unknown_kid' | 'max_age' | 'forced';

/**
 * What `onEvent` receives. `source` names the key set (`issuer <url>` or `jwks <url>`) or the
 * introspection endpoint (`introspection <url>`); nothing in an event carries a token (nor its hash),
 * a claim value or key material, so every field is safe to log and count.
 */
export type TokenGuardEvent =
  /** A key set was loaded for the first time in this process; `shared` when it came from the store, not the provider. */
  | { type: 'key_set_fetched'; source: string; reason: KeySetLoadReason; keys: number; shared: boolean }
  /** A key set was replaced by a newer one. */
  | { type: 'key_set_refreshed'; source: string; reason: KeySetLoadReason; keys: number; shared: boolean }
  /**
   * A provider call failed; `retryIn` is how long (s) until the next attempt, `stale` whether older keys keep serving.
   * `mistake`, present only when the failure is our configuration rather than the provider's state (another
   * issuer in the metadata, no usable `jwks_uri`, no discovery document, a URL the https rule refuses), is the
   * code of the process warning that says how to fix it, printed once per key set.
   */
  | { type: 'key_set_refresh_failed'; source: string; reason: KeySetLoadReason; failure: FetchFailureReason; status: number | undefined; retryIn: number; stale: boolean; mistake?: ConfigurationWarningCode }
  /**
   * A key set was loaded whose keys fit none of the allowed `algorithms` (`KOA_TOKEN_GUARD_NO_USABLE_KEY`):
   * every token it should verify is refused `kid_unknown`. `offered`: the algorithms its keys fit (empty when
   * none of its keys can verify signatures); `allowed`: the verifier's `algorithms`.
   */
  | { type: 'key_set_unusable'; source: string; keys: number; offered: readonly string[]; allowed: readonly string[] }
  /** Keys past their max age are being served because refreshing failed (once per outage). `age` in seconds. */
  | { type: 'key_set_served_stale'; source: string; age: number }
  /** The shared store failed or timed out; the process carried on with its own memory and fetch. */
  | { type: 'key_store_failed'; source: string; operation: 'get' | 'set' | 'lock' | 'unlock' }
  /** The authorization server answered an introspection call (`shared`: another process's answer, read from the store). */
  | { type: 'token_introspected'; source: string; active: boolean; shared: boolean }
  /**
   * An introspection call failed; requests waiting on it got a 503. `mistake`, present only when it is our
   * configuration (no usable `introspection_endpoint` in the metadata), is the code of the warning that says how to fix it.
   */
  | { type: 'introspection_failed'; source: string; failure: FetchFailureReason; status: number | undefined; mistake?: ConfigurationWarningCode }
  /** The authorization server refused our own client authentication (401/403): fix `introspection.clientId` and its credentials. */
  | { type: 'introspection_client_rejected'; source: string; status: number }
  /** The shared DPoP replay store failed; the proof was checked against this process's memory (or refused with 503). */
  | { type: 'dpop_replay_store_failed' }
  /** A request was refused; `code` is the stable `AuthError` code. */
  | { type: 'token_rejected'; code: AuthErrorCode; status: number };

/** Receives events; it must not throw (a throwing hook is ignored, never fails a request). */
export type EventHook = (event: TokenGuardEvent) => void;

/** `NODE_DEBUG=koa-token-guard` prints key set activity to stderr. */
export const debug = debuglog('koa-token-guard');

/** Calls the hook, shielding the caller from anything it throws. */
export function emit(hook: EventHook | undefined, event: TokenGuardEvent): void {
  if (hook === undefined) return;
  try {
    hook(event);
  } catch {
    // An observer's bug must never turn into a failed request.
  }
}

const reported = new WeakSet<object>();

/** Emits `token_rejected` once per error, however many layers (verifier, middleware) see it. */
export function reportRejection(hook: EventHook | undefined, error: unknown): void {
  if (hook === undefined || !(error instanceof AuthError) || reported.has(error)) return;
  reported.add(error);
  emit(hook, { type: 'token_rejected', code: error.code, status: error.status });
}
