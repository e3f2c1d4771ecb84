import { traceFetch, tracing, type ProviderOperation } from '../telemetry/channels.js';
import { redirectTarget } from '../url.js';
import { quote, type ConfigurationMistake } from '../warnings.js';

/** Why a call to the identity provider failed. Internal: clients only ever see a 503. */
export type FetchFailureReason = 'network' | 'timeout' | 'status' | 'redirect' | 'too_large' | 'not_json' | 'shape' | 'issuer_mismatch' | 'jwt_invalid';

/**
 * A failed request to the provider (discovery, JWKS, userinfo, introspection). Never reaches a client:
 * it becomes a 503, or the key set keeps serving stale keys.
 */
export class KeySourceError extends Error {
  readonly reason: FetchFailureReason;
  /** HTTP status, when the provider answered. */
  readonly status: number | undefined;
  /** Seconds from the provider's `Retry-After`, when it sent one. */
  readonly retryAfter: number | undefined;
  /** Set when the failure is our configuration rather than the provider's state: warned once, with its fix. */
  readonly mistake: ConfigurationMistake | undefined;
  constructor(reason: FetchFailureReason, message: string, extra: { status?: number; retryAfter?: number; cause?: unknown; mistake?: ConfigurationMistake } = {}) {
    super(message, { cause: extra.cause });
    this.name = 'KeySourceError';
    this.reason = reason;
    this.status = extra.status;
    this.retryAfter = extra.retryAfter;
    this.mistake = extra.mistake;
  }
}

export interface FetchJsonOptions {
  fetch: typeof fetch;
  /** Seconds, for the whole request, redirects included. */
  timeout: number;
  maxBytes: number;
  /**
   * Whether a redirect may lead to plain http off loopback (the `allowInsecureHttp` verify option).
   * Default false. Never from https down to http, whatever this says.
   */
  allowInsecureHttp?: boolean | undefined;
  /** Which provider call this is, for the `koa-token-guard:fetch` tracing channel. */
  operation?: ProviderOperation | undefined;
}

/** Redirects a discovery or JWKS request follows: enough for a moved document, never a loop. */
export const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface FetchedJson {
  body: Record<string, unknown>;
  /** `Cache-Control: max-age` in seconds, when the provider sent one. */
  maxAge: number | undefined;
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

function parseMaxAge(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/(^|,)\s*(no-store|no-cache)\s*(,|$)/i.test(value)) return 0;
  const match = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(value);
  return match ? Number(match[1]) : undefined;
}

async function readLimited(response: Response, maxBytes: number, url: string): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new KeySourceError('too_large', `${url} answered with more than ${maxBytes} bytes`);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new KeySourceError('too_large', `${url} answered with more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A provider's answer read within the limits: status 200, its headers, and the body as text. */
export interface FetchedText {
  readonly response: Response;
  readonly text: string;
}

/**
 * Sends one request to the provider with a timeout and a size limit and reads the 200 answer's body.
 * Redirects are followed only up to `maxRedirects` (default none), each hop checked by `redirectTarget`;
 * callers that send credentials follow none, since they would go to every hop. Every failure (network,
 * timeout, non-200, a refused redirect, oversize) is a `KeySourceError`, never anything else; a non-200
 * carries its status and `Retry-After`. Discovery, JWKS, userinfo and introspection share it.
 */
export function fetchText(url: string, init: RequestInit, options: FetchJsonOptions, maxRedirects = 0): Promise<FetchedText> {
  return tracing.fetch.hasSubscribers
    ? traceFetch(options.operation, init.method, url, requestText, url, init, options, maxRedirects)
    : requestText(url, init, options, maxRedirects);
}

async function requestText(url: string, init: RequestInit, options: FetchJsonOptions, maxRedirects: number): Promise<FetchedText> {
  // Not AbortSignal.timeout(): its signal and timer stay alive for the whole timeout after the answer,
  // about 1.5 KiB per call, which under a flood of introspection calls is tens of MiB held for nothing.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeout * 1000).unref();
  const signal = controller.signal;
  try {
    let response: Response;
    for (let hop = 0, current = url; ; hop++) {
      try {
        // Never 'follow': fetch would take any scheme and any number of hops, unchecked.
        response = await options.fetch(current, { ...init, redirect: 'manual', signal });
      } catch (cause) {
        const timedOut = signal.aborted;
        throw new KeySourceError(timedOut ? 'timeout' : 'network', timedOut ? `${url} timed out after ${options.timeout} s` : `${current} could not be reached`, { cause });
      }
      if (maxRedirects === 0 || !REDIRECT_STATUSES.has(response.status)) break;
      await response.body?.cancel().catch(() => undefined);
      const next = redirectTarget(current, response.headers.get('location'), options.allowInsecureHttp === true);
      if (next === undefined || hop >= maxRedirects) {
        const why = next === undefined ? 'a URL not allowed (plain http, or no valid Location)' : `more than ${maxRedirects} redirects`;
        throw new KeySourceError('redirect', `${current} redirected to ${why}`, { status: response.status, ...insecureRedirect(current, response.headers.get('location'), next) });
      }
      current = next;
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      throw new KeySourceError('status', `${url} answered ${response.status}`, {
        status: response.status,
        ...(retryAfter === undefined ? {} : { retryAfter }),
      });
    }
    try {
      return { response, text: await readLimited(response, options.maxBytes, url) };
    } catch (cause) {
      if (cause instanceof KeySourceError) throw cause;
      const timedOut = signal.aborted;
      throw new KeySourceError(timedOut ? 'timeout' : 'network', `${url} failed while reading its body`, { cause });
    }
  } finally {
    clearTimeout(timer);
  }
}

/** A redirect refused by the https rule (not a missing or odd Location: that is the provider's state) is ours to fix. */
function insecureRedirect(from: string, location: string | null, next: string | undefined): { mistake?: ConfigurationMistake } {
  if (next !== undefined || location === null || !URL.canParse(location, from)) return {};
  const to = new URL(location, from);
  if (to.protocol !== 'http:') return {};
  const fix = new URL(from).protocol === 'https:'
    ? `${quote(from)} redirects to ${quote(to.href)}, from https down to plain http, which is never followed. Configure the https address the provider really serves (\`issuer\`, \`jwksUri\`).`
    : `${quote(from)} redirects to ${quote(to.href)}, plain http off loopback, which is refused: anyone on the path could swap the keys. Configure an https address (\`issuer\`, \`jwksUri\`); \`allowInsecureHttp: true\` is for development only.`;
  return { mistake: { code: 'KOA_TOKEN_GUARD_INSECURE_URL', fix } };
}

/** Parses a provider's answer as a JSON object, or fails with a `KeySourceError` (`not_json`, `shape`). */
export function parseJsonObject(text: string, url: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw new KeySourceError('not_json', `${url} did not answer with JSON`, { cause });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new KeySourceError('shape', `${url} did not answer with a JSON object`);
  }
  return body as Record<string, unknown>;
}

/**
 * GETs a JSON object from the provider with a timeout and a size limit, following up to
 * `maxRedirects` checked redirects. Every failure (network, timeout, non-200, a refused redirect,
 * oversize, non-JSON, not an object) is a `KeySourceError`, never anything else.
 */
export async function fetchJson(url: string, options: FetchJsonOptions, maxRedirects = MAX_REDIRECTS): Promise<FetchedJson> {
  const { response, text } = await fetchText(url, { headers: { accept: 'application/json' } }, options, maxRedirects);
  return { body: parseJsonObject(text, url), maxAge: parseMaxAge(response.headers.get('cache-control')) };
}
