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
 * On an introspected `VerifiedToken` (and the copies `authenticate()` makes of it): when its verdict stops
 * being trusted (ms since the epoch), so `ctx.state.auth.signal` ends a stream then, as a revoked token's
 * next request would be refused once its cached answer expires. A symbol: no field of the public type.
 */
export const VERDICT_EXPIRES: unique symbol = Symbol('koa-token-guard.verdictExpires');

// The lazily made signals, by claims: shared by a token's verdict and its DPoP/mTLS copies; none until read.
const signals = new WeakMap<object, AbortSignal>();
// One getter per clock tolerance (in practice one per process).
const getters = new Map<number, PropertyDescriptor>();

function getterFor(clockTolerance: number): PropertyDescriptor {
  let descriptor = getters.get(clockTolerance);
  if (descriptor === undefined) {
    descriptor = {
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
    getters.set(clockTolerance, descriptor);
  }
  return descriptor;
}

/**
 * Gives an established token its `signal` (`ctx.state.auth.signal`), aborting at the token's `exp` +
 * `clockTolerance`, or for an introspected token when its verdict stops being trusted (its cached answer's
 * expiry) if sooner. Defined once, on the verdict itself before it is frozen and cached, so a cached
 * token's requests share it with no wrapper, lookup or allocation; the getter makes the signal (and its
 * timer) only when first read, one per token. Returns `target`.
 */
export function withExpirySignal<T extends object>(target: T, clockTolerance: number): T & { readonly signal: AbortSignal } {
  return Object.defineProperty(target, 'signal', getterFor(clockTolerance)) as T & { readonly signal: AbortSignal };
}
