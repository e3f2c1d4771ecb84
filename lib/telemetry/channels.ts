import { channel, tracingChannel, type Channel, type TracingChannel } from 'node:diagnostics_channel';
import type { TokenSource } from '../core/verify.js';
import { AuthError, type AuthErrorCode } from '../errors.js';
import { KeySourceError, type FetchFailureReason } from '../keys/fetch.js';
import { QueueFullError } from '../introspection/limiter.js';

/**
 * The `node:diagnostics_channel` tracing channels this package publishes, by name. Subscribe with
 * `diagnostics_channel.tracingChannel(name).subscribe({ start, end, asyncStart, asyncEnd, error })`;
 * channels are found by name, so any copy of the package (ESM or CommonJS) publishes to the same ones.
 */
export const TRACING_CHANNELS = Object.freeze({
  /** One per request through `authenticate()`, from reading the credentials to `ctx.state.user`; `next()` is outside. */
  authenticate: 'koa-token-guard:authenticate',
  /** A JWT checked because the verified-token cache did not answer (cached tokens publish nothing here). */
  verify: 'koa-token-guard:verify',
  /** A call to the authorization server's introspection endpoint (queue, client authentication, HTTP, RFC 9701 answer). */
  introspect: 'koa-token-guard:introspect',
  /** One HTTP exchange with a provider: discovery, JWKS, userinfo, introspection. */
  fetch: 'koa-token-guard:fetch',
  /** A DPoP proof checked (RFC 9449): proof, key binding, nonce, replay. */
  dpop: 'koa-token-guard:dpop',
} as const);

/** How an authentication, verification or proof check ended. */
export type TraceOutcome =
  /** The credential passed. */
  | 'accepted'
  /** An `AuthError` below 500 (401, 400, 403, 429): the client's fault. */
  | 'refused'
  /** An `AuthError` of 500 or more (503): a provider, the introspection endpoint or a store failed. */
  | 'unavailable'
  /** Anything else: a bug or a throwing hook (`getToken`, `resolveUser`), a 500. */
  | 'error';

/** What a failed operation leaves on its context, besides TracingChannel's own `error`. */
interface Refusal<O extends string = TraceOutcome> {
  outcome: O | undefined;
  /** The `AuthError`'s stable `code`, on refusal. */
  code: AuthErrorCode | undefined;
  /** The HTTP status the client gets, on refusal. */
  status: number | undefined;
  /**
   * Set by TracingChannel before `error` is published: what was thrown. An `AuthError`'s message is a fixed
   * phrase, but its `cause` is internal (jose's errors carry the claims): record `code`, not the cause.
   */
  error?: unknown;
}

/** The context of `koa-token-guard:authenticate`. Fields are filled as they become known; all are safe to record. */
export interface AuthenticateChannelContext extends Refusal<TraceOutcome | 'anonymous'> {
  /** The `realm` option: tells several `authenticate()` middlewares of one app apart. */
  readonly realm: string;
  /** `'anonymous'` with `optional: true` and no credentials; otherwise as `TraceOutcome`. */
  outcome: TraceOutcome | 'anonymous' | undefined;
  /** The scheme the request used, once the credentials were read. */
  scheme: 'Bearer' | 'DPoP' | undefined;
  /** How the token was established, once it was. */
  source: TokenSource | undefined;
  /**
   * Whether this request was answered without a signature check or introspection call of its own: by the
   * verified-token or introspection cache, or by sharing a concurrent request's. Set once the token is established.
   */
  cached: boolean | undefined;
  /** The established token's `iss` (never an unverified one). */
  issuer: string | undefined;
  /** The JWT's `alg`; undefined for an introspected token. */
  algorithm: string | undefined;
}

/** The context of `koa-token-guard:verify`. */
export interface VerifyChannelContext extends Refusal {
  /** The verified token's `iss`, once it passed. */
  issuer: string | undefined;
  /** The verified token's `alg`, once it passed. */
  algorithm: string | undefined;
}

/** Why a provider call failed: a `FetchFailureReason`, or (introspection) the bounded queue was full. */
export type ProviderFailure = FetchFailureReason | 'queue_full';

/** How a provider call ended: it answered (a 200 read within the limits), or it failed. */
export type ProviderOutcome = 'answered' | 'failed';

/** The context of `koa-token-guard:introspect`. */
export interface IntrospectChannelContext {
  /** The introspection endpoint; undefined at `start` while it is still being discovered from the issuer's metadata. */
  endpoint: string | undefined;
  /** Whether an RFC 9701 signed answer was asked for. */
  readonly signed: boolean;
  outcome: ProviderOutcome | undefined;
  /** The answer's `active`, once the server answered. */
  active: boolean | undefined;
  /** Why the call failed; undefined for anything but the server's failure or a full queue. */
  failure: ProviderFailure | undefined;
  /** The HTTP status, when the server answered something other than 200. */
  status: number | undefined;
  /** Set by TracingChannel before `error` is published (a `KeySourceError` or the queue's refusal). */
  error?: unknown;
}

/** Which provider call a fetch is. */
export type ProviderOperation = 'discovery' | 'jwks' | 'userinfo' | 'introspection';

/** The context of `koa-token-guard:fetch`. Never a header or body: those carry tokens and client credentials. */
export interface FetchChannelContext {
  readonly operation: ProviderOperation | undefined;
  /** `GET`, or `POST` for introspection. */
  readonly method: string;
  /** The URL asked (redirects, up to 3 for discovery and JWKS, are followed within the one fetch). */
  readonly url: string;
  outcome: ProviderOutcome | undefined;
  /** The HTTP status of the last answer, when there was one (200 when it answered). */
  status: number | undefined;
  /** Why it failed. A 200 whose body is not the expected JSON is judged after the fetch, by its caller. */
  failure: FetchFailureReason | undefined;
  /** Set by TracingChannel before `error` is published: a `KeySourceError`. */
  error?: unknown;
}

/** The context of `koa-token-guard:dpop`. */
export interface DpopChannelContext extends Refusal {
  /** Whether a fresh `DPoP-Nonce` goes back with the answer (the client's is about to expire). */
  nonceIssued: boolean | undefined;
}

/**
 * A plain `diagnostics_channel` (not a TracingChannel: nothing to time): one message per userinfo look-up
 * through `fetchUserInfo()`, saying whether the userinfo cache answered. (The verified-token and
 * introspection caches are told by the `authenticate` context's `cached`.) Nothing is published, nor
 * made, unless somebody subscribes.
 */
export const CACHE_CHANNEL = 'koa-token-guard:cache';

/** A message of `CACHE_CHANNEL`. */
export interface CacheChannelMessage {
  readonly cache: 'userinfo';
  /** The `realm` of the `authenticate()` the look-up belongs to. */
  readonly realm: string | undefined;
  /** Whether the cache answered (no request to the provider). */
  readonly hit: boolean;
}

export const cacheChannel: Channel<CacheChannelMessage> = channel(CACHE_CHANNEL) as Channel<CacheChannelMessage>;

export const authenticateChannel: TracingChannel<unknown, AuthenticateChannelContext> = tracingChannel(TRACING_CHANNELS.authenticate);
const verifyChannel: TracingChannel<unknown, VerifyChannelContext> = tracingChannel(TRACING_CHANNELS.verify);
const introspectChannel: TracingChannel<unknown, IntrospectChannelContext> = tracingChannel(TRACING_CHANNELS.introspect);
const fetchChannel: TracingChannel<unknown, FetchChannelContext> = tracingChannel(TRACING_CHANNELS.fetch);
const dpopChannel: TracingChannel<unknown, DpopChannelContext> = tracingChannel(TRACING_CHANNELS.dpop);

/**
 * The instrumentation points check `channel.hasSubscribers` themselves, so that nothing (no context, no
 * closure) is made when nobody listens. These are what they call when somebody does.
 */
export const tracing = { authenticate: authenticateChannel, verify: verifyChannel, introspect: introspectChannel, fetch: fetchChannel, dpop: dpopChannel };

/**
 * TracingChannel's `tracePromise`, except that the resolved value is never put on the context (it would
 * be the verified token, or claims): `settled` copies what is safe onto it before `asyncStart`.
 */
function traced<C extends object, A extends unknown[], R>(
  channel: TracingChannel<unknown, C>, context: C, settled: (context: C, value: R) => void, failed: (context: C, error: unknown) => void,
  fn: (...args: A) => Promise<R>, ...args: A
): Promise<R> {
  const { start, end, asyncStart, asyncEnd, error: errored } = channel;
  // runStores, so that stores bound to `start` (an OpenTelemetry context) hold for the whole operation.
  return start.runStores(context, () => {
    let promise: Promise<R>;
    try {
      promise = fn(...args);
    } catch (error) {
      failed(context, error);
      errored.publish(context);
      throw error;
    } finally {
      end.publish(context);
    }
    return promise.then((value) => {
      settled(context, value);
      asyncStart.publish(context);
      asyncEnd.publish(context);
      return value;
    }, (error: unknown) => {
      failed(context, error);
      errored.publish(context);
      asyncStart.publish(context);
      asyncEnd.publish(context);
      throw error;
    });
  });
}

function refused(context: Refusal<string>, error: unknown): void {
  context.error = error;
  if (error instanceof AuthError) {
    context.code = error.code;
    context.status = error.status;
    context.outcome = error.status >= 500 ? 'unavailable' : 'refused';
  } else {
    context.outcome = 'error';
  }
}

// Claims objects established since `authenticate` last looked, so that it can tell a cache's answer from a check of its own.
const established = new WeakSet<object>();

/** Called by the verifier and the introspector when they establish a token themselves (not from their cache). */
export function noteEstablished(claims: object): void {
  if (authenticateChannel.hasSubscribers) established.add(claims);
}

/** A new context for one `authenticate()` request. */
export function authenticateContext(realm: string): AuthenticateChannelContext {
  return { realm, outcome: undefined, code: undefined, status: undefined, scheme: undefined, source: undefined, cached: undefined, issuer: undefined, algorithm: undefined };
}

/** What `authenticate()` knows once the token is established. */
export function describeEstablished(
  context: AuthenticateChannelContext, scheme: 'Bearer' | 'DPoP', verified: { source: TokenSource; header?: { alg?: string } | undefined; claims: { iss: string } },
): void {
  context.scheme = scheme;
  context.source = verified.source;
  context.cached = !established.delete(verified.claims);
  context.issuer = verified.claims.iss;
  context.algorithm = verified.header?.alg;
}

/** Runs one `authenticate()` request's own work (not `next()`) as the `authenticate` operation. */
export function traceAuthenticate<A extends unknown[], R>(context: AuthenticateChannelContext, fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return traced(authenticateChannel, context, accepted, refused, fn, ...args);
}

function accepted(context: { outcome: string | undefined }): void {
  context.outcome ??= 'accepted';
}

function verified(context: VerifyChannelContext, token: { header: { alg: string }; claims: { iss: string } }): void {
  context.outcome = 'accepted';
  context.issuer = token.claims.iss;
  context.algorithm = token.header.alg;
}

/** Runs one JWT check (a cache miss) as the `verify` operation. */
export function traceVerify<A extends unknown[], R extends { header: { alg: string }; claims: { iss: string } }>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return traced(verifyChannel, { outcome: undefined, code: undefined, status: undefined, issuer: undefined, algorithm: undefined }, verified, refused, fn, ...args);
}

function providerFailed(context: IntrospectChannelContext | FetchChannelContext, error: unknown): void {
  context.error = error;
  context.outcome = 'failed';
  if (error instanceof KeySourceError) {
    context.failure = error.reason;
    context.status = error.status;
  } else if (error instanceof QueueFullError && 'endpoint' in context) {
    context.failure = 'queue_full';
  }
}

/**
 * Runs one introspection call as the `introspect` operation; `endpoint()` is read again when it ends,
 * since the first call may have discovered it.
 */
export function traceIntrospect<A extends unknown[]>(
  endpoint: () => string | undefined, signed: boolean, fn: (...args: A) => Promise<Record<string, unknown>>, ...args: A
): Promise<Record<string, unknown>> {
  const context: IntrospectChannelContext = { endpoint: endpoint(), signed, outcome: undefined, active: undefined, failure: undefined, status: undefined };
  return traced(introspectChannel, context, (done, answer) => {
    done.endpoint = endpoint();
    done.outcome = 'answered';
    done.active = answer.active === true;
  }, (done, error) => {
    done.endpoint = endpoint();
    providerFailed(done, error);
  }, fn, ...args);
}

function fetched(context: FetchChannelContext, answer: { response: { status: number } }): void {
  context.outcome = 'answered';
  context.status = answer.response.status;
}

/** Runs one provider request as the `fetch` operation. */
export function traceFetch<A extends unknown[], R extends { response: { status: number } }>(
  operation: ProviderOperation | undefined, method: string | undefined, url: string, fn: (...args: A) => Promise<R>, ...args: A
): Promise<R> {
  const context: FetchChannelContext = { operation, method: method ?? 'GET', url, outcome: undefined, status: undefined, failure: undefined };
  return traced(fetchChannel, context, fetched, providerFailed, fn, ...args);
}

function proven(context: DpopChannelContext, result: { nonce: string | undefined }): void {
  context.outcome = 'accepted';
  context.nonceIssued = result.nonce !== undefined;
}

/** Runs one DPoP proof check as the `dpop` operation. */
export function traceDpop<A extends unknown[], R extends { nonce: string | undefined }>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return traced(dpopChannel, { outcome: undefined, code: undefined, status: undefined, nonceIssued: undefined }, proven, refused, fn, ...args);
}
