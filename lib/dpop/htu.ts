import { LRUCache } from 'lru-cache';

/** What the htu check needs of a request: Koa's context satisfies it. */
export interface HtuRequest {
  /** `http` or `https`; Koa takes `X-Forwarded-Proto` into account only with `app.proxy` on. */
  readonly protocol: string;
  /** Host and port; Koa takes `X-Forwarded-Host` into account only with `app.proxy` on. */
  readonly host: string;
  /** The request target as received, before any router mounted under a prefix cut it. */
  readonly originalUrl: string;
}

// A Host (or X-Forwarded-Host) that is more than a host and port must not shift the path: no URL then.
const HOST = /^(?:[A-Za-z0-9\-._~]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const PERCENT = /%([0-9A-Fa-f]{2})/g;
// RFC 3986 2.3: unreserved characters are decoded (6.2.2.2); every other triplet keeps its upper-case hex (6.2.2.1).
const UNRESERVED = /[A-Za-z0-9\-._~]/;

function normalisePercent(path: string): string {
  return path.replace(PERCENT, (_, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(c) ? c : `%${hex.toUpperCase()}`;
  });
}

/**
 * RFC 3986 5.2.4 on a path's segments. Empty segments stay: a router tells `//x` from `/x`, and the
 * path is never parsed as a URL reference again, where `//x` would become an authority.
 */
function removeDotSegments(path: string): string {
  const input = path.split('/');
  const output: string[] = [];
  for (let i = 1; i < input.length; i++) {
    const segment = input[i]!;
    const last = i === input.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..' && output.length > 0) output.pop();
      if (last) output.push('');
    } else {
      output.push(segment);
    }
  }
  return `/${output.join('/')}`;
}

/**
 * An http(s) URL in the form RFC 9449 4.3 compares `htu` in: query and fragment dropped, then RFC 3986
 * 6.2.2 syntax-based normalisation (scheme and host lower case, default port dropped, percent-encoding
 * normalised, dot segments removed, empty segments kept). Undefined for anything that is not an
 * absolute http(s) URL.
 */
export function normaliseHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') return undefined;
  // Decoding may reveal dot segments ("%2E%2E"), so they are removed once more after it.
  return url.origin + removeDotSegments(normalisePercent(url.pathname));
}

// The path of an absolute-form target (RFC 9112 3.2.2) as Koa's router sees it: after the authority, before the query.
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/;
const HEX = /%[0-9a-f]{2}/g;

/**
 * The request target's path, as the router will route it, or undefined when its normal form would be
 * another path to the router: dot segments, backslashes, encoded unreserved characters or characters a
 * URL parser encodes. HTTP clients send normal paths, so only a crafted request is refused; accepting
 * it would let a proof for one path (`/admin`) pass on another (`/x/../admin`, routed elsewhere).
 */
function routedPath(target: string): string | undefined {
  let path: string;
  if (target.startsWith('/')) {
    const end = target.search(/[?#]/);
    path = end === -1 ? target : target.slice(0, end);
  } else {
    const absolute = ABSOLUTE_FORM.exec(target);
    if (absolute === null) return undefined;
    path = absolute[1] === '' ? '/' : absolute[1]!;
  }
  // Only the case of percent-encoded hex digits may differ: a router decodes `%2f` and `%2F` alike.
  const routed = path.replace(HEX, (triplet) => triplet.toUpperCase());
  const normal = normaliseHtu(`http://h${routed}`);
  return normal === `http://h${routed}` ? routed : undefined;
}

/**
 * The request's URL as the client addressed it, normalised like `normaliseHtu()`: Koa's protocol and
 * host (proxy headers only when the app trusts its proxy) and the original request target's path, so a
 * router mounted under a prefix does not change it. Undefined when the path is not in normal form.
 */
export function requestHtu(req: HtuRequest): string | undefined {
  const { protocol, host, originalUrl } = req;
  // A pure function of these three, and two URL parses per request (issue 23): remembered for the URLs in use.
  // Unambiguous where it matters: a host or path with a space never has a URL, so a key that splits two
  // ways can only ever map to "none".
  const key = `${protocol} ${host} ${originalUrl}`;
  const known = requestHtus.get(key);
  if (known !== undefined) return known === NOT_NORMAL ? undefined : known;
  const htu = computeRequestHtu(protocol, host, originalUrl);
  requestHtus.set(key, htu ?? NOT_NORMAL);
  return htu;
}

// Bounded: a client sending ever new URLs costs what it cost without this, and evicts only other URLs.
const requestHtus = new LRUCache<string, string>({ max: 1000 });
const NOT_NORMAL = '';

function computeRequestHtu(protocol: string, host: string, originalUrl: string): string | undefined {
  if (!HOST.test(host)) return undefined;
  const path = routedPath(originalUrl);
  if (path === undefined) return undefined;
  return normaliseHtu(`${protocol}://${host}${path}`);
}

/**
 * With `dpop.origin`: the request's URL under each configured origin (normalised at startup), whatever
 * the request's `Host` says; one string for one origin. Undefined when the path is not in normal form.
 */
export function originHtus(origins: readonly string[], originalUrl: string): string | readonly string[] | undefined {
  const path = routedPath(originalUrl);
  if (path === undefined) return undefined;
  return origins.length === 1 ? origins[0]! + path : origins.map((origin) => origin + path);
}
