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
/** The signal of a verdict (or of a copy of it: they share the claims), made when first asked for. */
function signalOf(verdict: { claims: { exp?: unknown }; [VERDICT_EXPIRES]?: number }, clockTolerance: number): AbortSignal {
  let made = signals.get(verdict.claims);
  if (made === undefined) {
    const { exp } = verdict.claims;
    // An introspected token's verdict is trusted until its cached answer expires, which may come first.
    const at = Math.min(typeof exp === 'number' && Number.isFinite(exp) ? (exp + clockTolerance) * 1000 : Infinity, verdict[VERDICT_EXPIRES] ?? Infinity);
    made = at === Infinity ? NEVER : abortAt(at);
    signals.set(verdict.claims, made);
  }
  return made;
}

// One getter per clock tolerance (in practice one per process).
const getters = new Map<number, PropertyDescriptor>();

function getterFor(clockTolerance: number): PropertyDescriptor {
  let descriptor = getters.get(clockTolerance);
  if (descriptor === undefined) {
    descriptor = {
      enumerable: false,
      get(this: { claims: { exp?: unknown }; [VERDICT_EXPIRES]?: number }): AbortSignal {
        return signalOf(this, clockTolerance);
      },
    };
    getters.set(clockTolerance, descriptor);
  }
  return descriptor;
}

/** What a verified JWT's verdict holds, in this order (its own enumerable properties). */
export interface JwtVerdictFields<THeader, TClaims, TScopes> {
  readonly token: string;
  readonly source: 'jwt';
  readonly header: THeader;
  readonly claims: TClaims;
  readonly scopes: TScopes;
  readonly signal: AbortSignal;
}

type JwtVerdictClass = new <THeader, TClaims extends { exp?: unknown }, TScopes>(token: string, header: THeader, claims: TClaims, scopes: TScopes) => JwtVerdictFields<THeader, TClaims, TScopes>;

// One class per clock tolerance, its prototype frozen.
const classes = new Map<number, JwtVerdictClass>();

/**
 * The class of a verified JWT's verdict: the same own properties as a literal, and `signal` a getter on
 * the prototype. Two reasons. Nothing is defined per verdict. And a class instance has no allocation site:
 * V8 pretenures the objects of a literal whose objects have survived (those of the verified-token cache
 * while it fills), and a verdict made in old space for each later miss keeps its young claims alive
 * through scavenges until a full GC. With a full cache, turning pretenuring off made a miss 5 % cheaper;
 * this class 2 %, after which turning it off changes nothing (issue 23, docs/performance.md).
 */
export function jwtVerdictClass(clockTolerance: number): JwtVerdictClass {
  let made = classes.get(clockTolerance);
  if (made === undefined) {
    class JwtVerdict {
      declare readonly token: string;
      declare readonly source: 'jwt';
      declare readonly header: unknown;
      declare readonly claims: { exp?: unknown };
      declare readonly scopes: unknown;
      // Assigned in this order: a verdict's keys read as a literal's did.
      constructor(token: string, header: unknown, claims: { exp?: unknown }, scopes: unknown) {
        this.token = token;
        this.source = 'jwt';
        this.header = header;
        this.claims = claims;
        this.scopes = scopes;
      }
    }
    Object.defineProperty(JwtVerdict.prototype, 'signal', getterFor(clockTolerance));
    Object.freeze(JwtVerdict.prototype);
    made = JwtVerdict as unknown as JwtVerdictClass;
    classes.set(clockTolerance, made);
  }
  return made;
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
