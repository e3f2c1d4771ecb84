import type { Caller } from '../core/caller.js';
import { issuerResolutionFor } from '../core/issuers.js';
import { resolveVerifyOptions, type IssuerSettings, type VerifyOptions } from '../core/options.js';
import type { AccessTokenClaims, VerifiedToken } from '../core/verify.js';
import type { AuthError} from '../errors.js';
import { IntrospectionUnavailableError, InvalidTokenError, TemporarilyUnavailableError } from '../errors.js';
import { debug, emit, reportRejection } from '../events.js';
import { registerKeySets } from '../keys/control.js';
import { KeySourceError } from '../keys/fetch.js';
import type { RemoteKeySet } from '../keys/key-set.js';
import { keySetFor } from '../keys/registry.js';
import { providerUrlAllowed } from '../url.js';
import { AnswerCache, answerKey, type Outcome } from './cache.js';
import { clientAuthenticator } from './client-auth.js';
import { verifyJwtAnswer } from './jwt-response.js';
import { limiterFor, QueueFullError } from './limiter.js';
import { resolveIntrospectionOptions, type IntrospectionOptions } from './options.js';
import { requestIntrospection } from './request.js';
import { establishAnswer, LASTING_REFUSALS, type AnswerChecks } from './response.js';
import { SharedAnswers } from './shared.js';

/** Options of `createIntrospector()`: the verification options (issuer, audience, …) and the `introspection` group. */
export interface IntrospectorOptions extends VerifyOptions {
  introspection: IntrospectionOptions;
}

/** Introspects one opaque token: resolves to a `VerifiedToken` with `source: 'introspection'` or rejects with an `AuthError`. */
export type Introspector<TClaims extends object = AccessTokenClaims> = (token: string, caller?: Caller) => Promise<VerifiedToken<TClaims>>;

// RFC 6750 2.1 b64token: what a bearer token may be. Anything else is refused before any network call.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** A server's `Retry-After` is passed on up to this many seconds. */
const MAX_RETRY_AFTER = 300;

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
    return keySetFor(jwksUri === undefined ? { issuer: iss } : { jwksUri }, verify, false);
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
      throw new KeySourceError('shape', `the metadata of ${options.issuer!} names no usable introspection_endpoint; set \`introspection.endpoint\``);
    }
    endpoint = found;
    source = `introspection ${found}`;
    return found;
  };

  const cache = options.cache === false ? undefined : new AnswerCache({ ...options.cache, clockTolerance: verify.clockTolerance });
  const shared = cache === undefined || verify.store === undefined ? undefined : new SharedAnswers(verify.store, () => source, verify.fetchTimeout, onEvent);
  const scope = `${options.endpoint ?? options.issuer!}\u0000${options.clientId}`;

  /** One call to the authorization server, within the per-server bound. Resolves to its (verified) answer. */
  async function call(token: string): Promise<Record<string, unknown>> {
    const url = await endpointOf();
    return limiterFor(url, options.maxConcurrent, options.maxQueue).run(async () => {
      // RFC 7523 3: the assertion is meant for the authorization server: its issuer (RFC 7523bis), or the
      // endpoint where a server wants that (Okta) or the issuer is not known (several issuers).
      const credentials = await authenticateClient(options.assertionAudience === 'endpoint' ? url : options.issuer ?? url);
      const raw = await requestIntrospection(url, token, credentials, {
        fetch: verify.fetch, timeout: verify.fetchTimeout, maxBytes: verify.maxResponseBytes, jwtResponse: options.jwtResponse,
      });
      if ('json' in raw) return raw.json;
      return verifyJwtAnswer(raw.jwt, { keySetFor: keySetOf, clientId: options.clientId, algorithms: verify.algorithms, clockTolerance: verify.clockTolerance });
    });
  }

  async function judge(token: string, answer: Record<string, unknown>, fromStore: boolean): Promise<Outcome> {
    emit(onEvent, { type: 'token_introspected', source, active: answer.active === true, shared: fromStore });
    try {
      return { verified: await establishAnswer<TClaims>(token, answer, checks) };
    } catch (error) {
      if (error instanceof InvalidTokenError) return { refused: error.code, description: error.message };
      throw error;
    }
  }

  let clientRejectionWarned = false;
  function reportFailure(error: unknown): void {
    if (error instanceof QueueFullError) return; // per request, not per call: token_rejected counts those
    const failure = error instanceof KeySourceError ? error : undefined;
    debug('%s: introspection failed: %s', source, (error as Error)?.message);
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

  async function ask(token: string): Promise<Outcome> {
    // The store is shared, so its keys must not reveal tokens; hashed only here, on a miss.
    const key = shared === undefined ? '' : answerKey(scope, token);
    if (shared !== undefined) {
      const stored = await shared.read(key);
      if (stored !== undefined) return judge(token, stored, true);
      // Another process is asking about this token: wait for its answer rather than asking too.
      if (await shared.lock(key) === false) {
        const waited = await shared.awaitOther(key);
        if (waited !== undefined) return judge(token, waited, true);
      }
    }
    let answer: Record<string, unknown>;
    try {
      answer = await call(token);
    } catch (error) {
      shared?.publish(key, undefined, 0);
      reportFailure(error);
      throw error;
    }
    shared?.publish(key, answer, cache!.ttlOf(answer));
    return judge(token, answer, false);
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

  const inflight = new Map<string, Promise<Outcome>>();
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- caller: bounds one client's share of the queue (next commit)
  const introspectToken: Introspector<TClaims> = (token, caller) => {
    if (typeof token !== 'string' || token.length > verify.maxTokenLength) return Promise.reject(new InvalidTokenError('token_too_large', 'token too large'));
    if (!B64TOKEN.test(token)) return Promise.reject(new InvalidTokenError('token_malformed', 'malformed token'));
    // In memory, keyed by the token itself, as the verified-token cache is: the cached answer holds it
    // anyway, and hashing it cost more than the rest of a cached request's work.
    const hit = cache?.get(token);
    if (hit !== undefined) return settle(hit);
    // Concurrent requests with one new token share one call, its answer and its failure alike.
    let pending = inflight.get(token);
    if (pending === undefined) {
      pending = ask(token).then((outcome) => {
        if ('verified' in outcome || LASTING_REFUSALS.has(outcome.refused)) cache?.set(token, outcome);
        return outcome;
      });
      inflight.set(token, pending);
      const forget = (): void => void inflight.delete(token);
      pending.then(forget, forget);
    }
    return pending.then(settle, (error: unknown) => Promise.reject(unavailable(error)));
  };

  const introspect: Introspector<TClaims> = onEvent === undefined ? introspectToken : (token, caller) => introspectToken(token, caller).catch((error: unknown) => {
    reportRejection(onEvent, error);
    throw error;
  });
  registerKeySets(introspect, () => Promise.resolve(verify.secret !== undefined ? []
    : verify.jwksUri !== undefined ? [keySetFor({ jwksUri: verify.jwksUri }, verify)]
      : verify.issuers.map((issuer) => keySetFor({ issuer }, verify))));
  return introspect;
}
