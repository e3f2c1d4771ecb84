import { callerKey, type Caller } from '../core/caller.js';
import { issuerResolutionFor } from '../core/issuers.js';
import { resolveVerifyOptions, type IssuerSettings, type VerifyOptions } from '../core/options.js';
import type { AccessTokenClaims, VerifiedToken } from '../core/verify.js';
import type { AuthError} from '../errors.js';
import { IntrospectionUnavailableError, InvalidTokenError, TemporarilyUnavailableError } from '../errors.js';
import { debug, emit, reportRejection } from '../events.js';
import { registerKeySets } from '../keys/control.js';
import { registerCachedVerdict } from '../core/cached.js';
import { KeySourceError } from '../keys/fetch.js';
import type { RemoteKeySet } from '../keys/key-set.js';
import { keySetFor } from '../keys/registry.js';
import { noteEstablished, traceIntrospect, tracing } from '../telemetry/channels.js';
import { isHttpUrl, providerUrlAllowed } from '../url.js';
import { quote, warnOnce, type ConfigurationMistake } from '../warnings.js';
import { AnswerCache, answerKey, verdictExpiry, type Outcome } from './cache.js';
import { VERDICT_EXPIRES, withExpirySignal } from '../core/expiry-signal.js';
import { clientAuthenticator } from './client-auth.js';
import { verifyJwtAnswer } from './jwt-response.js';
import { limiterFor, QueueFullError } from './limiter.js';
import { INTROSPECTION_DEFAULTS, resolveIntrospectionOptions, type IntrospectionOptions } from './options.js';
import { MAX_ANSWER_DEPTH, requestIntrospection } from './request.js';
import { establishAnswer, LASTING_REFUSALS, type AnswerChecks } from './response.js';
import { SharedAnswers, type StoredAnswer } from './shared.js';

/** Options of `createIntrospector()`: the verification options (issuer, audience, …) and the `introspection` group. */
export interface IntrospectorOptions extends VerifyOptions {
  introspection: IntrospectionOptions;
}

/** Introspects one opaque token: resolves to a `VerifiedToken` with `source: 'introspection'` or rejects with an `AuthError`. */
export type Introspector<TClaims extends object = AccessTokenClaims> = (token: string, caller?: Caller) => Promise<VerifiedToken<TClaims>>;

/** An answer's outcome, and when the server gave it (ms): the cache counts its lifetime from then. */
interface Judged { readonly outcome: Outcome; readonly at: number }

// RFC 6750 2.1 b64token: what a bearer token may be. Anything else is refused before any network call.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** A server's `Retry-After` is passed on up to this many seconds. */
const MAX_RETRY_AFTER = 300;

/** The mistake of metadata naming no `introspection_endpoint` we may call: absent or not a URL, or plain http refused by the https rule. */
function unusableEndpoint(issuer: string, found: unknown): ConfigurationMistake {
  if (!isHttpUrl(found)) {
    return { code: 'KOA_TOKEN_GUARD_METADATA_INCOMPLETE', fix: `the metadata of ${quote(issuer)} names no "introspection_endpoint" (${quote(found)}), so opaque tokens cannot be introspected; set \`introspection.endpoint\` to the authorization server's introspection URL. Until then they get 503.` };
  }
  return { code: 'KOA_TOKEN_GUARD_INSECURE_URL', fix: `the metadata of ${quote(issuer)} names the "introspection_endpoint" ${quote(found)}, plain http, which is refused: our credentials and the caller's token would go in the clear. Set \`introspection.endpoint\` to its https address; \`allowInsecureHttp: true\` is for development only. Until then opaque tokens get 503.` };
}

/**
 * Builds an RFC 7662 introspector once, at startup: options checked (a `ConfigurationError` says how to
 * fix them), client authentication prepared. Per token: refused at once when malformed or oversize;
 * answered from the cache (in `store`, keyed by a SHA-256, never the token); otherwise one call to the
 * authorization server, shared by concurrent requests for the token and by processes sharing `store`,
 * bounded per server. Its answer is checked as a JWT would be. The server failing is a 503, never a 401.
 */
export function createIntrospector<TClaims extends object = AccessTokenClaims>(input: IntrospectorOptions): Introspector<TClaims> {
  const verify = resolveVerifyOptions(input);
  const options = resolveIntrospectionOptions(input?.introspection, verify);
  const authenticateClient = clientAuthenticator(options);
  const onEvent = verify.onEvent;
  let source = `introspection ${options.endpoint ?? options.issuer!}`;

  // Issuers: the configured ones, and those `resolveIssuer` accepts, decided by the one IssuerResolution
  // the verifier beside us uses too (same bounds; the answer's iss is the server's word, so no client is charged).
  const configured = new Set(verify.issuers);
  const resolution = issuerResolutionFor(verify);
  const settingsOf = (iss: string): IssuerSettings | undefined | Promise<IssuerSettings | undefined> => {
    if (configured.has(iss)) return {};
    return resolution?.decide(iss, undefined);
  };
  // The very key set objects the verifier uses (the registry is process-wide): no second JWKS.
  const keySetOf = async (iss: string): Promise<RemoteKeySet | undefined> => {
    const settings = await settingsOf(iss);
    if (settings === undefined) return undefined;
    const jwksUri = verify.jwksUri ?? settings.jwksUri;
    // A look-up, not a hold: the verifier beside us holds the key set; per-call holds would pin it forever.
    const keySet = keySetFor(jwksUri === undefined ? { issuer: iss } : { jwksUri }, verify, false);
    keySet.expectAlgorithms(verify.algorithms); // RFC 9701 answers are signed with these keys too
    return keySet;
  };
  const checks: AnswerChecks = {
    issuerAccepted: async (iss) => (await settingsOf(iss)) !== undefined,
    defaultIssuer: options.issuer,
    audiences: verify.audiences,
    audienceClaim: verify.audienceClaim,
    requireAudience: options.requireAudience,
    clockTolerance: verify.clockTolerance,
    maxTokenAge: verify.maxTokenAge,
    requiredClaims: [...new Set([...(input.requiredClaims ?? []), ...(verify.typ === 'strict' ? ['sub', 'client_id', 'iat', 'jti'] : [])])],
    scopeClaims: verify.scopeClaims,
  };

  let endpoint = options.endpoint;
  const endpointOf = async (): Promise<string> => {
    if (endpoint !== undefined) return endpoint;
    const metadata = await keySetFor({ issuer: options.issuer! }, verify, false).metadata();
    const found = metadata?.introspection_endpoint;
    // Our credentials and the caller's token go to this URL: the same https rule as for keys.
    if (!providerUrlAllowed(found, verify.allowInsecureHttp)) {
      throw new KeySourceError('shape', `the metadata of ${options.issuer!} names no usable introspection_endpoint; set \`introspection.endpoint\``, { mistake: unusableEndpoint(options.issuer!, found) });
    }
    endpoint = found;
    source = `introspection ${found}`;
    return found;
  };

  // How long a stream may live on one answer: the cache's ttl, or without a cache the default one, as a
  // stream outlives the request that asked (re-asking on a timer would cost a call per stream per ttl).
  const verdictTtl = options.cache === false ? INTROSPECTION_DEFAULTS.cache.ttl : options.cache.ttl;
  const cache = options.cache === false ? undefined : new AnswerCache({ ...options.cache, clockTolerance: verify.clockTolerance, maxTokenAge: verify.maxTokenAge });
  const shared = cache === undefined || verify.store === undefined ? undefined : new SharedAnswers(verify.store, () => source, verify.fetchTimeout, onEvent);
  // Everything that changes what a stored answer means to its reader: whom we asked and as whom, whether
  // it was signed and by whose keys under which algorithms, and the audience it was judged for. A
  // service reading another's answers must never get one checked less than it would check it itself.
  const scope = JSON.stringify([
    options.endpoint ?? options.issuer!, options.clientId,
    options.jwtResponse ? ['jwt', options.issuer!, verify.jwksUri ?? null, [...verify.algorithms].sort()] : 'json',
    [...verify.audiences].sort(), verify.audienceClaim,
  ]);

  /** One call to the authorization server, within the per-server bound and the caller's share of it. Resolves to its (verified) answer. */
  async function callServer(token: string, share: string | undefined): Promise<Record<string, unknown>> {
    const url = await endpointOf();
    return limiterFor(url, options.maxConcurrent, options.maxQueue, options.maxQueuePerClient).run(async () => {
      // RFC 7523 3: the assertion is meant for the authorization server: its issuer (RFC 7523bis), or the
      // endpoint where a server wants that (Okta) or the issuer is not known (several issuers).
      const credentials = await authenticateClient(options.assertionAudience === 'endpoint' ? url : options.issuer ?? url);
      const raw = await requestIntrospection(url, token, credentials, {
        fetch: verify.fetch, timeout: verify.fetchTimeout, maxBytes: verify.maxResponseBytes, jwtResponse: options.jwtResponse, operation: 'introspection',
      });
      if ('json' in raw) return raw.json;
      // RFC 9701 5: only the server that owns the endpoint may sign its answers (resolved at startup when jwtResponse is on).
      const owner = options.issuer!;
      return verifyJwtAnswer(raw.jwt, {
        issuer: owner, keySet: () => keySetOf(owner), clientId: options.clientId, algorithms: verify.algorithms,
        clockTolerance: verify.clockTolerance, maxJsonDepth: MAX_ANSWER_DEPTH,
      });
    }, share);
  }
  const currentEndpoint = (): string | undefined => endpoint;
  const call = (token: string, share: string | undefined): Promise<Record<string, unknown>> =>
    (tracing.introspect.hasSubscribers ? traceIntrospect(currentEndpoint, options.jwtResponse, callServer, token, share) : callServer(token, share));

  async function judge(token: string, answer: Record<string, unknown>, at: number, fromStore: boolean): Promise<Judged> {
    emit(onEvent, { type: 'token_introspected', source, active: answer.active === true, shared: fromStore });
    try {
      const established = await establishAnswer<TClaims>(token, answer, checks);
      noteEstablished(established.claims);
      // Once per answer, not per request: the stream signal reads when this verdict stops being trusted.
      const verified = Object.freeze(withExpirySignal({ ...established, [VERDICT_EXPIRES]: verdictExpiry(established.claims, at, verdictTtl, verify.clockTolerance, verify.maxTokenAge) }, verify.clockTolerance));
      return { outcome: { verified }, at };
    } catch (error) {
      if (error instanceof InvalidTokenError) return { outcome: { refused: error.code, description: error.message }, at };
      throw error;
    }
  }

  let clientRejectionWarned = false;
  function reportFailure(error: unknown): void {
    if (error instanceof QueueFullError) return; // per request, not per call: token_rejected counts those
    const failure = error instanceof KeySourceError ? error : undefined;
    debug('%s: introspection failed: %s', source, (error as Error)?.message);
    const mistake = failure?.mistake;
    if (mistake !== undefined) {
      warnOnce(mistake, source);
      emit(onEvent, { type: 'introspection_failed', source, failure: failure!.reason, status: failure!.status, mistake: mistake.code });
      return;
    }
    if (failure?.reason === 'status' && (failure.status === 401 || failure.status === 403)) {
      emit(onEvent, { type: 'introspection_client_rejected', source, status: failure.status });
      if (!clientRejectionWarned) {
        clientRejectionWarned = true;
        process.emitWarning(`koa-token-guard: ${source} refused our client authentication (${failure.status}); check introspection.clientId and its credentials. Requests get 503 until it is fixed.`, { code: 'KOA_TOKEN_GUARD_INTROSPECTION_CLIENT' });
      }
      return;
    }
    emit(onEvent, { type: 'introspection_failed', source, failure: failure?.reason ?? 'network', status: failure?.status });
  }

  /** A stored answer this introspector may still use: within its own ttl, whatever the writer's. */
  const usable = (stored: StoredAnswer | undefined): stored is StoredAnswer => stored !== undefined && cache!.ttlOf(stored.answer, stored.at) > 0;

  async function ask(token: string, share: string | undefined): Promise<Judged> {
    // The store is shared, so its keys must not reveal tokens; hashed only here, on a miss.
    const key = shared === undefined ? '' : answerKey(scope, token);
    if (shared !== undefined) {
      const stored = await shared.read(key);
      if (usable(stored)) return judge(token, stored.answer, stored.at, true);
      // Another process is asking about this token: wait for its answer rather than asking too.
      if (await shared.lock(key) === false) {
        const waited = await shared.awaitOther(key);
        if (usable(waited)) return judge(token, waited.answer, waited.at, true);
      }
    }
    let answer: Record<string, unknown>;
    try {
      answer = await call(token, share);
    } catch (error) {
      shared?.publish(key, undefined, 0, 0);
      reportFailure(error);
      throw error;
    }
    const at = Date.now();
    shared?.publish(key, answer, cache!.ttlOf(answer, at), at);
    return judge(token, answer, at, false);
  }

  /** A fresh error per request (each is reported and given a realm on its own). */
  function unavailable(error: unknown): AuthError {
    if (error instanceof InvalidTokenError) return error;
    const retryAfter = error instanceof TemporarilyUnavailableError ? error.retryAfter
      : error instanceof KeySourceError && error.retryAfter !== undefined ? Math.min(error.retryAfter, MAX_RETRY_AFTER)
        : options.retryAfter;
    return new IntrospectionUnavailableError(retryAfter, { cause: error });
  }

  const settle = (outcome: Outcome): Promise<VerifiedToken<TClaims>> => {
    if ('verified' in outcome) return Promise.resolve(outcome.verified as VerifiedToken<TClaims>);
    // A remembered refusal: code and description as establishAnswer threw them, in an error of this request's own.
    const { refused: code, description } = outcome;
    return Promise.reject(new InvalidTokenError(code, description));
  };

  /** Calls being made, by token, and whose share of the queue each was made in. */
  const inflight = new Map<string, { readonly outcome: Promise<Outcome>; readonly share: string | undefined }>();

  function introspectNew(token: string, share: string | undefined, retried: boolean): Promise<VerifiedToken<TClaims>> {
    // Concurrent requests with one new token share one call, its answer and its failure alike.
    let pending = inflight.get(token);
    if (pending === undefined) {
      const outcome = ask(token, share).then(({ outcome, at }) => {
        if ('verified' in outcome || LASTING_REFUSALS.has(outcome.refused)) cache?.set(token, outcome, at);
        return outcome;
      });
      const made = (pending = { outcome, share });
      inflight.set(token, made);
      const forget = (): void => void (inflight.get(token) === made && inflight.delete(token));
      outcome.then(forget, forget);
    }
    const owner = pending.share;
    return pending.outcome.then(settle, (error: unknown) => {
      // Joined a call refused because another caller's share was full: this caller's own share decides.
      if (error instanceof QueueFullError && owner !== share && !retried) return introspectNew(token, share, true);
      return Promise.reject(unavailable(error));
    });
  }

  const introspectToken: Introspector<TClaims> = (token, caller) => {
    if (typeof token !== 'string' || token.length > verify.maxTokenLength) return Promise.reject(new InvalidTokenError('token_too_large', 'token too large'));
    if (!B64TOKEN.test(token)) return Promise.reject(new InvalidTokenError('token_malformed', 'malformed token'));
    // In memory, keyed by the token itself, as the verified-token cache is: the cached answer holds it
    // anyway, and hashing it cost more than the rest of a cached request's work.
    const hit = cache?.get(token);
    if (hit !== undefined) return settle(hit);
    // The caller is read only here, on a miss: its share of the queue bounds what its new tokens may cost.
    return introspectNew(token, caller === undefined ? undefined : callerKey(caller), false);
  };

  const introspect: Introspector<TClaims> = onEvent === undefined ? introspectToken : (token, caller) => introspectToken(token, caller).catch((error: unknown) => {
    reportRejection(onEvent, error);
    throw error;
  });
  registerKeySets(introspect, () => Promise.resolve(verify.secret !== undefined ? []
    : verify.jwksUri !== undefined ? [keySetFor({ jwksUri: verify.jwksUri }, verify)]
      : verify.issuers.map((issuer) => keySetFor({ issuer }, verify))));
  // Accepted answers only: a remembered refusal goes the full way, to be reported and challenged.
  if (cache !== undefined) {
    registerCachedVerdict(introspect, (token) => {
      const hit = cache.get(token);
      return hit !== undefined && 'verified' in hit ? hit.verified : undefined;
    });
  }
  return introspect;
}
