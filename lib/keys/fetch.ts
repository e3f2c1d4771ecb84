/** Why a call to the identity provider failed. Internal: clients only ever see a 503. */
export type FetchFailureReason = 'network' | 'timeout' | 'status' | 'too_large' | 'not_json' | 'shape' | 'issuer_mismatch' | 'jwt_invalid';

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
  constructor(reason: FetchFailureReason, message: string, extra: { status?: number; retryAfter?: number; cause?: unknown } = {}) {
    super(message, { cause: extra.cause });
    this.name = 'KeySourceError';
    this.reason = reason;
    this.status = extra.status;
    this.retryAfter = extra.retryAfter;
  }
}

export interface FetchJsonOptions {
  fetch: typeof fetch;
  /** Seconds. */
  timeout: number;
  maxBytes: number;
}

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
 * Every failure (network, timeout, non-200, oversize) is a `KeySourceError`, never anything else; a
 * non-200 carries its status and `Retry-After`. Discovery, JWKS, userinfo and introspection share it.
 */
export async function fetchText(url: string, init: RequestInit, options: FetchJsonOptions): Promise<FetchedText> {
  const signal = AbortSignal.timeout(options.timeout * 1000);
  let response: Response;
  try {
    response = await options.fetch(url, { ...init, signal });
  } catch (cause) {
    const timedOut = signal.aborted;
    throw new KeySourceError(timedOut ? 'timeout' : 'network', timedOut ? `${url} timed out after ${options.timeout} s` : `${url} could not be reached`, { cause });
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
 * GETs a JSON object from the provider with a timeout and a size limit. Every failure (network,
 * timeout, non-200, oversize, non-JSON, not an object) is a `KeySourceError`, never anything else.
 */
export async function fetchJson(url: string, options: FetchJsonOptions): Promise<FetchedJson> {
  const { response, text } = await fetchText(url, { headers: { accept: 'application/json' }, redirect: 'follow' }, options);
  return { body: parseJsonObject(text, url), maxAge: parseMaxAge(response.headers.get('cache-control')) };
}
