// Which URLs we may call at the identity provider. One place, so keys, discovery and userinfo agree.

const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/;

/** Whether a value is an absolute http(s) URL. */
export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/** Whether an http: URL points at this machine, where plain HTTP is fine for development. */
export function isLoopback(url: URL): boolean {
  return LOOPBACK_HOST.test(url.hostname);
}

/**
 * Whether a provider URL may be fetched: https, or http on loopback (or with `allowInsecureHttp`).
 * Plain HTTP elsewhere lets anyone on the path swap the keys or read the bearer token.
 */
export function providerUrlAllowed(value: unknown, allowInsecureHttp: boolean): value is string {
  if (!isHttpUrl(value)) return false;
  const url = new URL(value);
  return url.protocol === 'https:' || allowInsecureHttp || isLoopback(url);
}

/**
 * Where a provider's redirect from `from` leads, when it may be followed: a URL that passes the same
 * rule as the first one (`providerUrlAllowed`), and never from https down to http, even on loopback:
 * what came over TLS must not be handed on to a plain-http answer.
 */
export function redirectTarget(from: string, location: string | null, allowInsecureHttp: boolean): string | undefined {
  if (location === null) return undefined;
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    return undefined;
  }
  if (to.protocol === 'http:' && new URL(from).protocol === 'https:') return undefined;
  return providerUrlAllowed(to.href, allowInsecureHttp) ? to.href : undefined;
}
