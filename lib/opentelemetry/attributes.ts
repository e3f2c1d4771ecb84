import type { Attributes } from '@opentelemetry/api';
import type {
  AuthenticateChannelContext, DpopChannelContext, FetchChannelContext, IntrospectChannelContext, VerifyChannelContext,
} from '../telemetry/channels.js';

/**
 * Span names and attributes, per channel. Standard names where OpenTelemetry's semantic conventions have
 * them (`url.full`, `http.*`, `server.*`, `error.type`), `koa_token_guard.*` for the rest. Only context
 * fields are read, and the channels never carry a token, a proof, a client secret or a claim but `iss`.
 */

/** `error.type` for an operation that threw something other than an `AuthError`: its class, never its message. */
export function thrownType(error: unknown): string {
  return error instanceof Error ? error.constructor.name : '_OTHER';
}

/** A provider URL as `url.full` wants it: user information redacted (semantic conventions), and its host. */
export function providerUrl(url: string | undefined): { full: string; address: string; port: number } | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = 'REDACTED';
    parsed.password = parsed.password === '' ? '' : 'REDACTED';
  }
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  return { full: parsed.href, address: parsed.hostname, port };
}

function set(attributes: Attributes, name: string, value: string | number | boolean | undefined): void {
  if (value !== undefined) attributes[name] = value;
}

export function authenticateAttributes(c: AuthenticateChannelContext): Attributes {
  const a: Attributes = { 'koa_token_guard.realm': c.realm };
  set(a, 'koa_token_guard.outcome', c.outcome);
  set(a, 'koa_token_guard.scheme', c.scheme);
  set(a, 'koa_token_guard.source', c.source);
  set(a, 'koa_token_guard.cached', c.cached);
  set(a, 'koa_token_guard.issuer', c.issuer);
  set(a, 'koa_token_guard.algorithm', c.algorithm);
  set(a, 'koa_token_guard.status', c.status);
  set(a, 'error.type', c.code ?? (c.outcome === 'error' ? thrownType(c.error) : undefined));
  return a;
}

export function verifyAttributes(c: VerifyChannelContext | DpopChannelContext): Attributes {
  const a: Attributes = {};
  set(a, 'koa_token_guard.outcome', c.outcome);
  set(a, 'koa_token_guard.status', c.status);
  set(a, 'error.type', c.code ?? (c.outcome === 'error' ? thrownType(c.error) : undefined));
  if ('issuer' in c) {
    set(a, 'koa_token_guard.issuer', c.issuer);
    set(a, 'koa_token_guard.algorithm', c.algorithm);
  } else {
    set(a, 'koa_token_guard.dpop.nonce_issued', c.nonceIssued);
  }
  return a;
}

/** What a call to a provider adds, whichever channel published it: where it went, how it ended. */
function providerCall(a: Attributes, target: string | undefined, c: { outcome?: string | undefined; status?: number | undefined; failure?: string | undefined; error?: unknown }): Attributes {
  const url = providerUrl(target);
  if (url) {
    a['url.full'] = url.full;
    a['server.address'] = url.address;
    a['server.port'] = url.port;
  }
  set(a, 'koa_token_guard.outcome', c.outcome);
  set(a, 'http.response.status_code', c.status);
  set(a, 'error.type', c.failure ?? (c.outcome === 'failed' ? thrownType(c.error) : undefined));
  return a;
}

export function introspectAttributes(c: IntrospectChannelContext): Attributes {
  const a: Attributes = { 'koa_token_guard.introspection.signed': c.signed };
  set(a, 'koa_token_guard.introspection.active', c.active);
  return providerCall(a, c.endpoint, c);
}

export function fetchAttributes(c: FetchChannelContext): Attributes {
  const a: Attributes = { 'http.request.method': c.method };
  set(a, 'koa_token_guard.operation', c.operation);
  return providerCall(a, c.url, c);
}
