import type { JWK } from 'jose';

/** The endpoints of a test issuer, as `outage({ endpoint })` and `requests` name them. */
export type TestEndpoint = 'discovery' | 'jwks' | 'authorization' | 'introspection' | 'token';

/** A simulated provider failure, or a slow provider. */
export interface TestOutage {
  /** Answer with this HTTP status (e.g. 500, 503, 429). Ignored with `hang`. Default 500, or the normal answer with `delay` alone. */
  status?: number | undefined;
  /** Send a `Retry-After` header with this many seconds. */
  retryAfter?: number | undefined;
  /** Accept the request and never answer it (until `recover()` or `close()`): tests your `fetchTimeout`. */
  hang?: boolean | undefined;
  /**
   * Wait this many milliseconds before answering. Alone (`{ delay: 2000 }`) the answer is the normal one, only
   * slow; with `status` the failure comes that late. Held delays end at `close()`.
   */
  delay?: number | undefined;
  /** Which endpoint fails. Default `'all'`. */
  endpoint?: TestEndpoint | 'all' | undefined;
}

/** One request to the issuer, as both transports (loopback server, nock) see it. */
export interface EndpointRequest {
  readonly method: string;
  readonly pathname: string;
  /** The query string, with its `?` (`''` when there is none). */
  readonly search: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The raw request body (`''` for GETs). */
  readonly body: string;
}

/** What one request to the issuer gets: an answer with its body already serialized, or no answer at all. */
export type EndpointAnswer =
  | { readonly kind: 'reply'; readonly status: number; readonly headers: Record<string, string>; readonly body: string }
  | { readonly kind: 'hang' };

/** Answers an OAuth endpoint (authorization, introspection, token); given only for the endpoints the issuer serves. */
export type EndpointHandler = (request: EndpointRequest) => Promise<EndpointAnswer>;

type HandledEndpoint = 'authorization' | 'introspection' | 'token';

/** The one method each handled endpoint answers: the authorization endpoint is a browser's GET (RFC 6749 §3.1). */
const METHODS: Readonly<Record<HandledEndpoint, string>> = { authorization: 'GET', introspection: 'POST', token: 'POST' };

/** A JSON answer. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): EndpointAnswer {
  return { kind: 'reply', status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** An RFC 6749 §5.2 error answer (`{ error, error_description }`), never cached. */
export function oauthError(status: number, error: string, description: string, headers: Record<string, string> = {}): EndpointAnswer {
  return json(status, { error, error_description: description }, { 'cache-control': 'no-store', ...headers });
}

/** The mutable state both transports answer from. */
export class IssuerEndpoints {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly authorizationEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly tokenEndpoint: string;
  readonly discoveryPaths: ReadonlySet<string>;
  readonly jwksPath: string;
  readonly authorizationPath: string;
  readonly introspectionPath: string;
  readonly tokenPath: string;
  readonly counts = { discovery: 0, jwks: 0, authorization: 0, introspection: 0, token: 0 };
  discovery: boolean;
  metadata: () => Record<string, unknown>;
  jwks: () => readonly JWK[];
  handlers: { [E in HandledEndpoint]?: EndpointHandler | undefined } = {};
  outage: TestOutage | undefined;
  private readonly delays = new Set<() => void>();

  constructor(issuer: string, options: { discovery: boolean; metadata: () => Record<string, unknown>; jwks: () => readonly JWK[] }) {
    this.issuer = issuer;
    const url = new URL(issuer);
    const path = url.pathname.replace(/\/+$/, '');
    this.jwksUri = `${url.origin}${path}/.well-known/jwks.json`;
    this.jwksPath = `${path}/.well-known/jwks.json`;
    this.authorizationPath = `${path}/authorize`;
    this.authorizationEndpoint = `${url.origin}${this.authorizationPath}`;
    this.introspectionPath = `${path}/introspect`;
    this.introspectionEndpoint = `${url.origin}${this.introspectionPath}`;
    this.tokenPath = `${path}/token`;
    this.tokenEndpoint = `${url.origin}${this.tokenPath}`;
    // OIDC Discovery 1.0 and RFC 8414 placements, as the key set tries them.
    this.discoveryPaths = new Set([`${path}/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server${path}`]);
    this.discovery = options.discovery;
    this.metadata = options.metadata;
    this.jwks = options.jwks;
  }

  /** Which endpoint `pathname` is, if this issuer serves it (nock mode leaves every other path of the origin alone). */
  endpointAt(pathname: string): TestEndpoint | undefined {
    if (pathname === this.jwksPath) return 'jwks';
    if (this.discovery && this.discoveryPaths.has(pathname)) return 'discovery';
    if (pathname === this.authorizationPath && this.handlers.authorization !== undefined) return 'authorization';
    if (pathname === this.introspectionPath && this.handlers.introspection !== undefined) return 'introspection';
    if (pathname === this.tokenPath && this.handlers.token !== undefined) return 'token';
    return undefined;
  }

  /** Whether this issuer serves `pathname`. */
  serves(pathname: string): boolean {
    return this.endpointAt(pathname) !== undefined;
  }

  /** The answer to one request, counting it per endpoint (a held request retried after an outage counts once). */
  async answer(request: EndpointRequest, retried = false): Promise<EndpointAnswer> {
    const endpoint = this.endpointAt(request.pathname);
    if (endpoint === undefined) return json(404, { error: 'not_found' });
    const handled = endpoint === 'authorization' || endpoint === 'introspection' || endpoint === 'token';
    const allow = handled ? METHODS[endpoint] : 'GET, HEAD';
    if (!allow.split(', ').includes(request.method)) return json(405, { error: 'method_not_allowed' }, { allow });
    if (!retried) this.counts[endpoint]++;
    const outage = this.outage;
    if (outage !== undefined && (outage.endpoint === undefined || outage.endpoint === 'all' || outage.endpoint === endpoint)) {
      if (outage.hang) return { kind: 'hang' };
      if (outage.delay !== undefined && !retried) await this.wait(outage.delay);
      if (outage.status !== undefined || outage.delay === undefined) {
        const headers: Record<string, string> = outage.retryAfter === undefined ? {} : { 'retry-after': String(outage.retryAfter) };
        return json(outage.status ?? 500, { error: 'temporarily_unavailable' }, headers);
      }
    }
    if (endpoint === 'jwks') return json(200, { keys: this.jwks() });
    if (endpoint === 'discovery') return json(200, { issuer: this.issuer, jwks_uri: this.jwksUri, ...this.metadata() });
    return this.handlers[endpoint]!(request);
  }

  /** Ends every delay now (at `close()`), so no timer outlives the issuer. */
  endDelays(): void {
    for (const end of [...this.delays]) end();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const end = (): void => {
        clearTimeout(timer);
        this.delays.delete(end);
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.delays.add(end);
    });
  }
}
