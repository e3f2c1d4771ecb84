// The rules for a protected resource's identifier (RFC 8707 2, RFC 9728 1.2) and where its metadata lives (RFC 9728 3.1).
import { ConfigurationError } from '../errors.js';
import { isLoopback } from '../url.js';

/** The RFC 9728 3 well-known path of protected-resource metadata. */
export const WELL_KNOWN_PATH = '/.well-known/oauth-protected-resource';

/**
 * Checks a resource identifier at startup: an absolute https URL (http only on loopback, for
 * development), without fragment (RFC 8707 2) and without query (its metadata path could not be served).
 */
export function checkResource(name: string, value: unknown): URL {
  let url: URL;
  try {
    url = new URL(value as string);
  } catch {
    throw new ConfigurationError(`\`${name}\` must be an absolute URL, e.g. 'https://api.example.com/mcp'; got ${JSON.stringify(value)}.`);
  }
  if (typeof value !== 'string') throw new ConfigurationError(`\`${name}\` must be a string URL, e.g. 'https://api.example.com/mcp'.`);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
    throw new ConfigurationError(`\`${name}\` must be an https URL (http only on loopback, for development); got ${JSON.stringify(value)}.`);
  }
  if (value.includes('#')) throw new ConfigurationError(`\`${name}\` must not contain a fragment (RFC 8707 2); got ${JSON.stringify(value)}.`);
  if (url.search !== '' || value.includes('?')) {
    throw new ConfigurationError(`\`${name}\` must not contain a query (RFC 8707 2: SHOULD NOT); got ${JSON.stringify(value)}.`);
  }
  if (url.username !== '' || url.password !== '') throw new ConfigurationError(`\`${name}\` must not contain credentials; got a URL with user information.`);
  return url;
}

/**
 * The path of the resource's metadata (RFC 9728 3.1): the well-known path inserted between the host
 * and the resource's path, a lone terminating slash removed: `https://api.example.com/mcp` →
 * `/.well-known/oauth-protected-resource/mcp`.
 */
export function metadataPath(resource: URL): string {
  return resource.pathname === '/' ? WELL_KNOWN_PATH : `${WELL_KNOWN_PATH}${resource.pathname}`;
}

/** The absolute URL of the resource's metadata, as `resource_metadata` names it in challenges. */
export function metadataUrl(resource: URL): string {
  return `${resource.origin}${metadataPath(resource)}`;
}
