import type { Middleware, ParameterizedContext } from 'koa';
import { extractToken, plainBearerToken, wellFormedPlainBearer } from '../bearer/extract.js';
import { afterMissOf, cachedVerdictOf } from '../core/cached.js';
import type { AccessTokenClaims, VerifiedToken } from '../core/verify.js';
import { createEstablisher, type EstablishOptions } from '../core/establish.js';
import { DEFAULTS } from '../core/options.js';
import { AuthError, ConfigurationError, MissingCredentialsError, type DpopChallengeContext } from '../errors.js';
import { readDpopCredentials } from '../credentials/read.js';
import { boundJkt, checkBinding, type DpopMode } from '../dpop/binding.js';
import { originHtus, requestHtu } from '../dpop/htu.js';
import { resolveDpopOptions, type DpopOptions } from '../dpop/options.js';
import { createDpopChecker, type DpopResult } from '../dpop/validate.js';
import { accessTokenHashOf } from '../dpop/proof.js';
import type { UserOptions } from '../users/options.js';
import { createUserResolver } from '../users/resolve-user.js';
import { createUserInfoClient } from '../users/userinfo.js';
import { reportRejection } from '../events.js';
import { authenticateContext, describeEstablished, traceAuthenticate, tracing, type AuthenticateChannelContext } from '../telemetry/channels.js';
import { shareKeySets } from '../keys/control.js';
import { boundThumbprint, checkCertificateBinding } from '../mtls/binding.js';
import { resolveMtlsOptions, type MtlsOptions } from '../mtls/options.js';
import { factsOf, registerResourceServer } from '../metadata/facts.js';
import { checkResource, metadataUrl } from '../metadata/resource.js';
import { withExpirySignal } from '../core/expiry-signal.js';
import { AUTH_CONTEXT, withChallenge, type AuthContext, type AuthInfo, type AuthState } from './state.js';

/** Options of `authenticate()`: how tokens are established, how the token is read from Koa, and who the caller is. */
export interface AuthenticateOptions<TClaims extends object = AccessTokenClaims, TUser = TClaims & AccessTokenClaims>
  extends EstablishOptions, UserOptions<TClaims, TUser, ParameterizedContext> {
  /** With `true`, a request without credentials passes with `ctx.state.user` undefined; bad credentials still fail. Default false. */
  optional?: boolean | undefined;
  /** The `realm` of every `WWW-Authenticate` challenge. Default `'api'`. */
  realm?: string | undefined;
  /** Accept the RFC 6750 2.3 `access_token` query parameter. Default false: URLs end up in logs. */
  allowQueryToken?: boolean | undefined;
  /** Accept the RFC 6750 2.2 form-body `access_token` parameter (a body parser must run first). Default false. */
  allowBodyToken?: boolean | undefined;
  /** Read the token yourself (a cookie, a custom header); replaces the RFC 6750 methods. Return undefined for none. */
  getToken?: ((ctx: ParameterizedContext) => string | undefined | Promise<string | undefined>) | undefined;
  /**
   * Names the RFC 9728 metadata in every 401 and 403 challenge (`resource_metadata="…"`), so clients
   * such as MCP clients discover the authorization server. `true`: the path-suffixed URL
   * `protectedResourceMetadata()` serves for the (single) `audience`, e.g.
   * `https://api.example.com/.well-known/oauth-protected-resource/mcp`; or that URL explicitly. Default off.
   */
  resourceMetadata?: boolean | string | undefined;
  /**
   * The `scope` attribute of the 401 challenges `authenticate()` itself answers (no credentials, an invalid
   * token), e.g. `['messages:read']`: what a client's first token should ask for. MCP clients request the
   * challenge's scope before the metadata's `scopes_supported`. 403s name what their guard needs. Default: none.
   */
  challengeScope?: readonly string[] | undefined;
  /**
   * DPoP sender-constrained tokens (RFC 9449): accept `Authorization: DPoP <token>` with a proof. Without
   * it, a DPoP-bound token (`cnf.jkt`) is refused, since its binding cannot be checked. Default: off.
   */
  dpop?: DpopOptions | undefined;
  /**
   * Certificate-bound access tokens (RFC 8705): a token with `cnf["x5t#S256"]` passes only with the client
   * certificate it is bound to. Default: not configured, so bound tokens are refused (their binding cannot be checked).
   */
  mtls?: MtlsOptions<ParameterizedContext> | undefined;
}

const REALM_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;
// RFC 6749 3.3 scope-token.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function checkChallengeScope(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))) {
    throw new ConfigurationError("`challengeScope` must be a non-empty list of scopes (no spaces, quotes or backslashes), e.g. ['messages:read'].");
  }
  return Object.freeze([...value as string[]]);
}

/**
 * Koa middleware that establishes the request's bearer token and sets `ctx.state.user` (the claims) and
 * `ctx.state.auth` (token, source, header, claims, scopes). Refusals are thrown as `AuthError`s, which Koa's
 * default handler renders with the right status and `WWW-Authenticate` challenge.
 *
 * Options are checked here, at startup: bad configuration throws a `ConfigurationError`.
 */
export function authenticate<TClaims extends object = AccessTokenClaims, TUser = TClaims & AccessTokenClaims>(
  options: AuthenticateOptions<TClaims, TUser>,
): Middleware<AuthState<TClaims, TUser>> {
  const establish = createEstablisher<TClaims>(options);
  const realm = options.realm ?? 'api';
  if (typeof realm !== 'string' || !REALM_CHARS.test(realm)) {
    throw new ConfigurationError('`realm` must be a string without `"`, `\\` or control characters (RFC 6750 3).');
  }
  if (options.getToken !== undefined && typeof options.getToken !== 'function') {
    throw new ConfigurationError('`getToken` must be a function (ctx) => string | undefined.');
  }
  const locations = { query: options.allowQueryToken === true, body: options.allowBodyToken === true };
  const getToken = options.getToken;
  const optional = options.optional === true;
  const audiences = Object.freeze(typeof options.audience === 'string' ? [options.audience] : [...options.audience]);
  const marker: AuthContext = Object.freeze({
    realm,
    userinfo: createUserInfoClient(options, realm),
    resourceMetadata: resourceMetadataUrl(options.resourceMetadata, audiences),
    challengeScope: checkChallengeScope(options.challengeScope),
    clockTolerance: options.clockTolerance ?? DEFAULTS.clockTolerance,
    audiences,
  });
  const mtls = resolveMtlsOptions(options.mtls);
  const resolveUser = options.resolveUser === undefined ? undefined : createUserResolver({ ...options, resolveUser: options.resolveUser, realm });
  const dpopOptions = resolveDpopOptions(options.dpop, options.store, options.clockTolerance ?? DEFAULTS.clockTolerance);
  const dpop = dpopOptions === undefined ? undefined : createDpopChecker(dpopOptions, options.onEvent);
  const mode: DpopMode = dpopOptions === undefined ? 'off' : dpopOptions.required ? 'required' : 'allowed';
  // The three ways a refusal's challenges can look, built once (RFC 9449 7.1).
  const challengeFor = dpopOptions === undefined ? undefined : (() => {
    const { algs, required } = dpopOptions;
    const byScheme = {
      none: Object.freeze({ algs, required, scheme: undefined }),
      Bearer: Object.freeze({ algs, required, scheme: 'Bearer' as const }),
      DPoP: Object.freeze({ algs, required, scheme: 'DPoP' as const }),
    };
    return (scheme: 'Bearer' | 'DPoP' | undefined): DpopChallengeContext => byScheme[scheme ?? 'none'];
  })();

  // Every refusal gets the realm, resource_metadata and, with DPoP, the challenges of the scheme used.
  const challenged = (error: unknown, scheme: 'Bearer' | 'DPoP' | undefined): unknown => {
    if (error instanceof AuthError) {
      withChallenge(error, marker);
      if (challengeFor !== undefined && error.dpop === undefined) error.dpop = challengeFor(scheme);
    }
    return error;
  };

  // A cached token's verdict, looked up without a promise; undefined with `cache: false`.
  const lookup = cachedVerdictOf(establish);
  // The verdict of a DPoP request: the token's own with the proven key, which is always the token's cnf.jkt
  // (checkProofKey), so it is one frozen copy per token, made on its first proof, not one per request.
  const dpopVerdicts = new WeakMap<object, AuthInfo<TClaims>>();
  const dpopVerdict = (verified: VerifiedToken<TClaims>): AuthInfo<TClaims> => {
    let made = dpopVerdicts.get(verified);
    if (made === undefined) {
      // Frozen: shared by every request of the token, like the verdict itself.
      made = Object.freeze(withExpirySignal({ ...verified, dpop: Object.freeze({ jkt: boundJkt(verified.claims)! }) }, marker.clockTolerance!));
      dpopVerdicts.set(verified, made);
    }
    return made;
  };

  type Ctx = Parameters<Middleware<AuthState<TClaims, TUser>>>[0];
  type Next = () => Promise<unknown>;
  // With `trace` (somebody subscribes to the authenticate channel), run() stops before next() and
  // returns the scheme: the span is authentication only, and traced() calls next() outside it.
  // `read`: the plain Bearer token the middleware read and found no verdict for (nothing else may carry a token then).
  async function run(ctx: Ctx, next: Next, trace: AuthenticateChannelContext | undefined, read?: string): Promise<'Bearer' | 'DPoP' | undefined> {
    (ctx.state as Record<symbol, AuthContext>)[AUTH_CONTEXT] = marker;
    let verified: VerifiedToken<TClaims>;
    let thumbprint: string | undefined;
    let scheme: 'Bearer' | 'DPoP' | undefined;
    let proven: DpopResult | undefined;
    try {
      const credentials = dpop === undefined ? undefined : readDpopCredentials(ctx, locations);
      const token = credentials?.token ?? (read !== undefined ? wellFormedPlainBearer(read) : undefined) ?? (getToken ? await getToken(ctx) : extractToken(ctx, locations));
      if (token === undefined || token === null) {
        if (optional) {
          if (trace !== undefined) {
            trace.outcome = 'anonymous';
            return undefined;
          }
          await next();
          return undefined;
        }
        throw new MissingCredentialsError();
      }
      if (typeof token !== 'string') throw new TypeError('koa-token-guard: getToken must return a string or undefined');
      scheme = credentials?.scheme ?? 'Bearer';
      // A cached verdict without a promise (lib/core/cached.ts): what establish() would resolve to at once.
      // The token the middleware has just looked up and missed goes on without a second look-up.
      verified = (missed?.(token) as VerifiedToken<TClaims> | undefined)
        ?? await (token === read ? establishAfterMiss : establish)(token, ctx.request) as VerifiedToken<TClaims>;
      if (trace !== undefined) describeEstablished(trace, scheme, verified);
      // The binding stage (RFC 9449 7, RFC 8705 3), whatever established the token (JWT or introspection);
      // the proof is never cached, the token's establishment is. A token bound both ways has both checked.
      const jkt = checkBinding(scheme, boundJkt(verified.claims), mode);
      // Without mTLS configured only a certificate-bound token has a binding to refuse: no await for the others (a DPoP token's cnf).
      if (mtls !== undefined || boundThumbprint(verified.claims) !== undefined) {
        thumbprint = await checkCertificateBinding(verified.claims, mtls, () => mtls?.getCertificate(ctx));
      }
      if (jkt !== undefined) {
        const htu = dpopOptions!.origins === undefined ? requestHtu(ctx) : originHtus(dpopOptions!.origins, ctx.originalUrl);
        // The verdict's remembered ath only for the very token it was established for (always so: it is looked up by it).
        proven = await dpop!.check({ method: ctx.method, htu, proof: credentials!.proof!, accessToken: token, jkt, ath: verified.token === token ? accessTokenHashOf(verified) : undefined });
      }
    } catch (error) {
      reportRejection(options.onEvent, challenged(error, scheme));
      throw error;
    }
    if (proven?.nonce !== undefined) ctx.set('DPoP-Nonce', proven.nonce);
    // before resolveUser, which may call fetchUserInfo(ctx)
    // The cached token stays as it is: the proven key and certificate belong to this request.
    // The verdict carries its own `signal` (lib/core/expiry-signal.ts); a copy with the proven key or certificate gets one too.
    ctx.state.auth = proven === undefined && thumbprint === undefined ? verified as AuthInfo<TClaims>
      : thumbprint === undefined ? dpopVerdict(verified) : withExpirySignal({
        ...verified,
        ...(proven === undefined ? {} : { dpop: Object.freeze({ jkt: proven.jkt }) }),
        mtls: Object.freeze({ thumbprint }),
      }, marker.clockTolerance!);
    if (challengeFor === undefined && marker.resourceMetadata === undefined) {
      ctx.state.user = resolveUser === undefined ? verified.claims as TUser : await resolveUser(verified.claims, ctx);
      if (trace !== undefined) return scheme;
      await next();
      return scheme;
    }
    // Refusals further down (resolveUser, guards, fetchUserInfo) get the same challenges.
    try {
      ctx.state.user = resolveUser === undefined ? verified.claims as TUser : await resolveUser(verified.claims, ctx);
      if (trace !== undefined) return scheme;
      await next();
    } catch (error) {
      throw challenged(error, scheme);
    }
    return scheme;
  }

  async function traced(ctx: Ctx, next: Next): Promise<void> {
    const trace = authenticateContext(realm);
    const scheme = await traceAuthenticate(trace, run, ctx, next, trace);
    // next() as run() would have called it, outside the span.
    if (trace.outcome === 'anonymous') {
      try {
        await next();
      } catch (error) {
        reportRejection(options.onEvent, challenged(error, undefined));
        throw error;
      }
      return;
    }
    if (challengeFor === undefined && marker.resourceMetadata === undefined) {
      await next();
      return;
    }
    try {
      await next();
    } catch (error) {
      throw challenged(error, scheme);
    }
  }

  // The hit path (issue 23): a plain Bearer header whose token has a cached verdict, where nothing else can
  // refuse it (no DPoP or certificate binding, no other token location, no user to resolve), is served
  // synchronously up to next(): no promise or await of its own. Anything else, misses included, goes through run().
  const cached = dpop === undefined && mtls === undefined && getToken === undefined && !locations.query && !locations.body && resolveUser === undefined
    ? lookup : undefined;
  // run() looks the token up itself only where the middleware has not just done so (a plain Bearer miss would pay twice),
  // and the establisher is not asked to either.
  const missed = cached === undefined ? lookup : undefined;
  const establishAfterMiss = afterMissOf(establish);
  // Refusals further down get resource_metadata as in run() (there is no DPoP challenge here).
  const rechallenge = (error: unknown): never => {
    throw challenged(error, 'Bearer');
  };
  // Nothing is made per request for tracing unless somebody subscribes: one hasSubscribers check.
  const middleware: Middleware<AuthState<TClaims, TUser>> = function authenticateMiddleware(ctx, next) {
    if (tracing.authenticate.hasSubscribers) return traced(ctx, next);
    if (cached === undefined) return run(ctx, next, undefined);
    const token = plainBearerToken(ctx.req.rawHeaders);
    if (token === undefined) return run(ctx, next, undefined);
    const verified = cached(token) as VerifiedToken<TClaims> | undefined;
    // A miss goes on with the token as read here: the string the look-up hashed, not a second copy.
    if (verified === undefined) return run(ctx, next, undefined, token);
    // A bound token (cnf) is refused as Bearer, or its certificate checked: run() says which.
    if ((verified.claims as { cnf?: unknown }).cnf !== undefined) return run(ctx, next, undefined);
    (ctx.state as Record<symbol, AuthContext>)[AUTH_CONTEXT] = marker;
    ctx.state.auth = verified as AuthInfo<TClaims>;
    ctx.state.user = verified.claims as TUser;
    return marker.resourceMetadata === undefined ? next() : next().catch(rechallenge);
  };
  shareKeySets(establish, middleware);
  registerResourceServer(middleware, audiences, factsOf(options));
  return middleware;
}

function resourceMetadataUrl(option: AuthenticateOptions['resourceMetadata'], audiences: readonly string[]): string | undefined {
  if (option === undefined || option === false) return undefined;
  if (typeof option === 'string') {
    checkResource('resourceMetadata', option);
    return option;
  }
  if (option !== true) throw new ConfigurationError("`resourceMetadata` must be true or the metadata's URL, e.g. 'https://api.example.com/.well-known/oauth-protected-resource/mcp'.");
  if (audiences.length !== 1) {
    throw new ConfigurationError("`resourceMetadata: true` needs exactly one `audience`, the resource identifier; with several, pass the metadata's URL, e.g. 'https://api.example.com/.well-known/oauth-protected-resource/mcp'.");
  }
  return metadataUrl(checkResource('audience (with resourceMetadata: true)', audiences[0]));
}
