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
 * An http(s) URL in the form RFC 9449 4.3 compares `htu` in: query and fragment dropped, then RFC 3986
 * 6.2.2 syntax-based normalisation (scheme and host lower case, default port dropped, percent-encoding
 * normalised, dot segments removed). Undefined for anything that is not an absolute http(s) URL.
 */
export function normaliseHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') return undefined;
  // Decoding may reveal dot segments ("%2E%2E"), so the path is parsed once more after it.
  const path = new URL(normalisePercent(url.pathname), url.origin).pathname;
  return url.origin + path;
}

/**
 * The request's URL as the client addressed it, normalised like `normaliseHtu()`: Koa's protocol and
 * host (proxy headers only when the app trusts its proxy) and the original request target, so a router
 * mounted under a prefix does not change it.
 */
export function requestHtu(req: HtuRequest): string | undefined {
  if (!HOST.test(req.host)) return undefined;
  let target = req.originalUrl;
  // An absolute-form target (RFC 9112 3.2.2) contributes its path only: the authority is Koa's host.
  if (!target.startsWith('/')) {
    try {
      const absolute = new URL(target);
      target = absolute.pathname;
    } catch {
      return undefined;
    }
  }
  return normaliseHtu(`${req.protocol}://${req.host}${target}`);
}
