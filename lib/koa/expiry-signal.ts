import type { VerifiedToken } from '../core/verify.js';
import { VERDICT_EXPIRES } from '../introspection/cache.js';

// setTimeout's ceiling (about 24.8 days): a longer delay would fire at once.
const MAX_DELAY = 2 ** 31 - 1;
// A token without `exp` never expires by time; one shared signal that never aborts.
const NEVER: AbortSignal = new AbortController().signal;

/** Aborts with a `TimeoutError` at `at` (ms since the epoch); its timers never hold the process open. */
function abortAt(at: number): AbortSignal {
  const delay = at - Date.now();
  if (delay <= MAX_DELAY) return AbortSignal.timeout(Math.max(0, delay));
  const controller = new AbortController();
  const rearm = (): void => {
    const left = at - Date.now();
    if (left > MAX_DELAY) {
      setTimeout(rearm, MAX_DELAY).unref();
      return;
    }
    const timeout = AbortSignal.timeout(Math.max(0, left));
    timeout.addEventListener('abort', () => controller.abort(timeout.reason), { once: true });
  };
  setTimeout(rearm, MAX_DELAY).unref();
  return controller.signal;
}

/**
 * Gives `ctx.state.auth` its `signal`, aborting at the token's `exp` + `clockTolerance`, or for an
 * introspected token when its verdict stops being trusted (its cached answer's expiry) if sooner. A cached
 * token's requests share one frozen object, so the signal cannot be made per request: each established
 * token gets one wrapper, memoized, with a getter that makes the signal (and its timer) only when first read. The cached path does one WeakMap lookup and allocates nothing.
 */
export function expirySignals(clockTolerance: number): {
  withSignal<T extends VerifiedToken<object>>(verified: T): T & { readonly signal: AbortSignal };
  define<T extends object>(auth: T): T & { readonly signal: AbortSignal };
} {
  const wrappers = new WeakMap<object, object>();
  const signals = new WeakMap<object, AbortSignal>(); // by claims: shared by a token's wrapper and its DPoP/mTLS copies
  const signal: PropertyDescriptor = {
    enumerable: false,
    get(this: { claims: { exp?: unknown }; [VERDICT_EXPIRES]?: number }): AbortSignal {
      let made = signals.get(this.claims);
      if (made === undefined) {
        const { exp } = this.claims;
        // An introspected token's verdict is trusted until its cached answer expires, which may come first.
        const at = Math.min(typeof exp === 'number' && Number.isFinite(exp) ? (exp + clockTolerance) * 1000 : Infinity, this[VERDICT_EXPIRES] ?? Infinity);
        made = at === Infinity ? NEVER : abortAt(at);
        signals.set(this.claims, made);
      }
      return made;
    },
  };
  const define = <T extends object>(auth: T): T & { readonly signal: AbortSignal } =>
    Object.defineProperty(auth, 'signal', signal) as T & { readonly signal: AbortSignal };
  return {
    define,
    withSignal<T extends VerifiedToken<object>>(verified: T): T & { readonly signal: AbortSignal } {
      let wrapper = wrappers.get(verified);
      if (wrapper === undefined) {
        wrapper = Object.freeze(define({ ...verified }));
        wrappers.set(verified, wrapper);
      }
      return wrapper as T & { readonly signal: AbortSignal };
    },
  };
}
