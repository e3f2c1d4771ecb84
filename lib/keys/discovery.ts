import { providerUrlAllowed } from '../url.js';
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

/**
 * Finds the issuer's metadata. A 4xx moves on to the next placement; metadata whose `issuer` differs
 * from the configured one is refused (OIDC Discovery 4.3, RFC 8414 3.3), as is one without a usable `jwks_uri`.
 */
export async function discover(issuer: string, options: FetchJsonOptions): Promise<IssuerMetadata> {
  let failure: KeySourceError | undefined;
  for (const url of metadataUrls(issuer)) {
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
      throw new KeySourceError('issuer_mismatch', `${url} describes another issuer than the configured one; set \`issuer\` to the metadata's exact "issuer" value`);
    }
    // The same rule as for a configured URL: https, or http on loopback or with `allowInsecureHttp`.
    if (!providerUrlAllowed(body.jwks_uri, options.allowInsecureHttp === true)) throw new KeySourceError('shape', `${url} has no usable "jwks_uri"`);
    // OIDC Discovery 3: jwks_uri MUST be https. Plain http only where the issuer itself is (loopback or opted in).
    if (new URL(body.jwks_uri).protocol === 'http:' && new URL(issuer).protocol !== 'http:') {
      throw new KeySourceError('shape', `${url} names an http "jwks_uri" for an https issuer`);
    }
    return body as IssuerMetadata;
  }
  throw failure ?? new KeySourceError('status', `no metadata found for ${issuer}`);
}
