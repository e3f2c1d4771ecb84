import type { JWK } from 'jose';

/** A simulated provider failure. */
export interface TestOutage {
  /** Answer with this HTTP status (e.g. 500, 503, 429). Ignored with `hang`. Default 500. */
  status?: number | undefined;
  /** Send a `Retry-After` header with this many seconds. */
  retryAfter?: number | undefined;
  /** Accept the request and never answer it (until `recover()` or `close()`): tests your `fetchTimeout`. */
  hang?: boolean | undefined;
  /** Which endpoint fails. Default `'all'`. */
  endpoint?: 'discovery' | 'jwks' | 'all' | undefined;
}

/** What one request to the issuer gets: a JSON answer, or no answer at all. */
export type EndpointAnswer =
  | { readonly kind: 'json'; readonly status: number; readonly headers: Record<string, string>; readonly body: unknown }
  | { readonly kind: 'hang' };

/** The mutable state both transports (loopback server, nock) answer from. */
export class IssuerEndpoints {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly discoveryPaths: ReadonlySet<string>;
  readonly jwksPath: string;
  readonly counts = { discovery: 0, jwks: 0 };
  discovery: boolean;
  metadata: Record<string, unknown>;
  jwks: () => readonly JWK[];
  outage: TestOutage | undefined;

  constructor(issuer: string, options: { discovery: boolean; metadata: Record<string, unknown>; jwks: () => readonly JWK[] }) {
    this.issuer = issuer;
    const url = new URL(issuer);
    const path = url.pathname.replace(/\/+$/, '');
    this.jwksUri = `${url.origin}${path}/.well-known/jwks.json`;
    this.jwksPath = `${path}/.well-known/jwks.json`;
    // OIDC Discovery 1.0 and RFC 8414 placements, as the key set tries them.
    this.discoveryPaths = new Set([`${path}/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server${path}`]);
    this.discovery = options.discovery;
    this.metadata = options.metadata;
    this.jwks = options.jwks;
  }

  /** Whether this issuer serves `pathname` (nock mode leaves every other path of the origin to other interceptors). */
  serves(pathname: string): boolean {
    return pathname === this.jwksPath || (this.discovery && this.discoveryPaths.has(pathname));
  }

  /** The answer to `GET pathname`, counting discovery and JWKS requests (a held request retried after an outage counts once). */
  answer(pathname: string, retried = false): EndpointAnswer {
    const endpoint = pathname === this.jwksPath ? 'jwks' : this.discovery && this.discoveryPaths.has(pathname) ? 'discovery' : undefined;
    if (endpoint === undefined) return json(404, { error: 'not_found' });
    if (!retried) this.counts[endpoint]++;
    const outage = this.outage;
    if (outage !== undefined && (outage.endpoint === undefined || outage.endpoint === 'all' || outage.endpoint === endpoint)) {
      if (outage.hang) return { kind: 'hang' };
      const headers: Record<string, string> = outage.retryAfter === undefined ? {} : { 'retry-after': String(outage.retryAfter) };
      return json(outage.status ?? 500, { error: 'temporarily_unavailable' }, headers);
    }
    return endpoint === 'jwks'
      ? json(200, { keys: this.jwks() })
      : json(200, { issuer: this.issuer, jwks_uri: this.jwksUri, ...this.metadata });
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): EndpointAnswer {
  return { kind: 'json', status, headers: { 'content-type': 'application/json', ...headers }, body };
}
