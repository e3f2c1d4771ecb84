import { isHttpUrl, providerUrlAllowed } from '../url.js';
import { quote, type ConfigurationMistake } from '../warnings.js';
import { fetchJson, KeySourceError, type FetchJsonOptions } from './fetch.js';

/** The parts of OpenID Connect Discovery / RFC 8414 metadata this package reads. */
export interface IssuerMetadata {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly userinfo_endpoint?: string | undefined;
  readonly [key: string]: unknown;
}

/**
 * Where the metadata of an issuer may live, in the order tried: OpenID Connect Discovery 1.0 (appended),
 * then RFC 8414 section 3 (inserted after the host) and, for issuers with a path, the appended form
 * RFC 8414 section 5 notes some servers use.
 */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const base = `${url.origin}${path}`;
  const urls = [`${base}/.well-known/openid-configuration`, `${url.origin}/.well-known/oauth-authorization-server${path}`];
  if (path !== '') urls.push(`${base}/.well-known/oauth-authorization-server`);
  return urls;
}

/** What to say about the configured issuer next to the one the metadata names. */
function slashHint(configured: string, named: string): string {
  if (named === `${configured}/`) return ' (with the trailing slash)';
  if (configured === `${named}/`) return ' (without the trailing slash)';
  return '';
}

/** The mistake of a configured issuer that the metadata at `url` does not name. */
function issuerMismatch(issuer: string, url: string, named: unknown): ConfigurationMistake {
  const fix = typeof named === 'string'
    ? `the discovery document at ${quote(url)} names the issuer ${quote(named)}, not the configured ${quote(issuer)}; set \`issuer\` to ${quote(named)}${slashHint(issuer, named)}, copied exactly: tokens carry it in \`iss\`.`
    : `the discovery document at ${quote(url)} names no issuer (its "issuer" is ${quote(named)}); check that \`issuer\` is the provider's issuer URL, or set \`jwksUri\`.`;
  return { code: 'KOA_TOKEN_GUARD_ISSUER_MISMATCH', fix };
}

/** The mistake of metadata whose `jwks_uri` cannot be used: absent or not a URL, or plain http refused by the https rule. */
function unusableJwksUri(url: string, jwksUri: unknown, issuer: string): ConfigurationMistake {
  if (!isHttpUrl(jwksUri)) {
    return { code: 'KOA_TOKEN_GUARD_METADATA_INCOMPLETE', fix: `the discovery document at ${quote(url)} names no usable "jwks_uri" (${quote(jwksUri)}), so tokens of ${quote(issuer)} cannot be verified; set \`jwksUri\` to the provider's JWKS URL.` };
  }
  return { code: 'KOA_TOKEN_GUARD_INSECURE_URL', fix: `the discovery document at ${quote(url)} names the "jwks_uri" ${quote(jwksUri)}, plain http, which is refused for ${quote(issuer)}: anyone on the path could swap the keys. Set \`jwksUri\` to the provider's https JWKS URL; \`allowInsecureHttp: true\` is for development only.` };
}

/**
 * Finds the issuer's metadata. A 4xx moves on to the next placement; metadata whose `issuer` differs
 * from the configured one is refused (OIDC Discovery 4.3, RFC 8414 3.3), as is one without a usable `jwks_uri`.
 * Failures that are our configuration (no document anywhere, another issuer, an unusable `jwks_uri`)
 * carry the mistake, with its fix.
 */
export async function discover(issuer: string, options: FetchJsonOptions): Promise<IssuerMetadata> {
  let failure: KeySourceError | undefined;
  const urls = metadataUrls(issuer);
  for (const url of urls) {
    let body: Record<string, unknown>;
    try {
      ({ body } = await fetchJson(url, { ...options, operation: 'discovery' }));
    } catch (error) {
      if (!(error instanceof KeySourceError)) throw error;
      // A provider that is down will not answer at the next placement either.
      if (error.reason !== 'status' || error.status === undefined || error.status >= 500 || error.status === 429) throw error;
      failure ??= error;
      continue;
    }
    if (body.issuer !== issuer) {
      throw new KeySourceError('issuer_mismatch', `${url} describes another issuer than the configured one; set \`issuer\` to the metadata's exact "issuer" value`, { mistake: issuerMismatch(issuer, url, body.issuer) });
    }
    // The same rule as for a configured URL: https, or http on loopback or with `allowInsecureHttp`.
    if (!providerUrlAllowed(body.jwks_uri, options.allowInsecureHttp === true)) {
      throw new KeySourceError('shape', `${url} has no usable "jwks_uri"`, { mistake: unusableJwksUri(url, body.jwks_uri, issuer) });
    }
    // OIDC Discovery 3: jwks_uri MUST be https. Plain http only where the issuer itself is (loopback or opted in).
    if (new URL(body.jwks_uri).protocol === 'http:' && new URL(issuer).protocol !== 'http:') {
      throw new KeySourceError('shape', `${url} names an http "jwks_uri" for an https issuer`, { mistake: unusableJwksUri(url, body.jwks_uri, issuer) });
    }
    return body as IssuerMetadata;
  }
  // Every placement answered 4xx: the issuer is wrong (or the provider publishes no discovery).
  const first = failure!;
  const fix = `no discovery document for the issuer ${quote(issuer)} at ${urls.map(quote).join(' or ')} (HTTP ${first.status}); check that \`issuer\` is the provider's issuer URL exactly, or set \`jwksUri\` where the provider publishes no discovery.`;
  throw new KeySourceError('status', first.message, {
    status: first.status!, ...(first.retryAfter === undefined ? {} : { retryAfter: first.retryAfter }), cause: first,
    mistake: { code: 'KOA_TOKEN_GUARD_DISCOVERY_NOT_FOUND', fix },
  });
}
