import { InvalidRequestError } from '../errors.js';

/** Which RFC 6750 section 2 methods are accepted, besides the `Authorization` header (2.1). */
export interface TokenLocations {
  /** Form-encoded body parameter `access_token` (2.2); needs a body parser before `authenticate()`. */
  body: boolean;
  /** URI query parameter `access_token` (2.3); tokens in URLs end up in logs, so off by default. */
  query: boolean;
}

/** What a request looks like to the extractor: the Koa context satisfies it. */
export interface TokenRequest {
  method: string;
  query: Record<string, string | string[] | undefined>;
  is(...types: string[]): string | false | null;
  req: { rawHeaders: string[] };
  /** A body parser (koa-bodyparser, @koa/bodyparser) puts the parsed body on `request.body`. */
  request: object;
}

// RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The value of the request's only header named `name` (lower case), or undefined; a repeated one throws
 * what `repeated` makes. One scan of the raw headers, shared by `Authorization` and `DPoP`.
 */
export function onlyHeader(rawHeaders: readonly string[], name: string, repeated: () => Error): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const header = rawHeaders[i]!;
    if (header.length === name.length && header.toLowerCase() === name) {
      if (value !== undefined) throw repeated();
      value = rawHeaders[i + 1]!;
    }
  }
  return value;
}

const repeatedAuthorization = (): Error => new InvalidRequestError('multiple_tokens', 'more than one Authorization header');

/** The value of the request's only `Authorization` header; two or more are a malformed request. */
export function authorizationHeader(rawHeaders: readonly string[]): string | undefined {
  return onlyHeader(rawHeaders, 'authorization', repeatedAuthorization);
}

/**
 * The token of an `Authorization` header using `expected` (`bearer` or `dpop`, lower case; both take a
 * b64token, RFC 6750 2.1 and RFC 9449 7.1); undefined for another scheme (that is not such credentials).
 */
export function tokenOfScheme(value: string | undefined, expected: 'bearer' | 'dpop'): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const space = trimmed.indexOf(' ');
  const scheme = space < 0 ? trimmed : trimmed.slice(0, space);
  if (scheme.toLowerCase() !== expected) return undefined;
  const credentials = space < 0 ? '' : trimmed.slice(space + 1).trim();
  if (credentials === '') throw new InvalidRequestError('token_empty', 'bearer token missing');
  if (!B64TOKEN.test(credentials)) {
    throw credentials.includes(' ')
      ? new InvalidRequestError('multiple_tokens', 'more than one bearer token')
      : new InvalidRequestError('authorization_malformed', 'malformed Authorization header');
  }
  return credentials;
}

const PLAIN_BEARER = /^Bearer /i;

/**
 * The token of a request's lone `Authorization: Bearer <token>` header in its plain form (one space, no
 * padding), unchecked, or undefined for anything else. Only for looking up a cached verdict, whose token
 * passed every check: a token that is not cached goes through `extractToken()`, which judges it (issue 23).
 */
export function plainBearerToken(rawHeaders: readonly string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const header = rawHeaders[i]!;
    if (header.length === 13 && header.toLowerCase() === 'authorization') {
      if (value !== undefined) return undefined;
      value = rawHeaders[i + 1]!;
    }
  }
  return value !== undefined && PLAIN_BEARER.test(value) ? value.slice(7) : undefined;
}

/**
 * A token `plainBearerToken()` read, when it is a well-formed b64token: then it is exactly what
 * `extractToken()` would return for that request with no other token location (the header is `Bearer`, one
 * space, this). Undefined otherwise, and `extractToken()` judges the request. On a cache miss, it keeps the
 * very string the look-up hashed, instead of reading the header again.
 */
export function wellFormedPlainBearer(token: string): string | undefined {
  return B64TOKEN.test(token) ? token : undefined;
}

const fromHeader = (value: string | undefined): string | undefined => tokenOfScheme(value, 'bearer');

function parameter(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidRequestError('multiple_tokens', `more than one access_token ${where} parameter`);
  if (value === '') throw new InvalidRequestError('token_empty', 'bearer token missing');
  return value;
}

/**
 * The bearer token of a request (RFC 6750 section 2), or undefined when it carries none.
 * A request that uses more than one method, or repeats one, is `invalid_request` (RFC 6750 2 and 3.1).
 */
export function extractToken(ctx: TokenRequest, locations: TokenLocations): string | undefined {
  const header = fromHeader(authorizationHeader(ctx.req.rawHeaders));
  if (!locations.body && !locations.query) return header;
  let token = header;
  let methods = header === undefined ? 0 : 1;
  if (locations.query) {
    const q = parameter(ctx.query.access_token, 'query');
    if (q !== undefined) {
      token = q;
      methods++;
    }
  }
  // RFC 6750 2.2: only a form-encoded, non-GET request body may carry the token.
  if (locations.body && ctx.method !== 'GET' && ctx.is('application/x-www-form-urlencoded')) {
    const body = (ctx.request as { body?: unknown }).body;
    const b = body !== null && typeof body === 'object' ? parameter((body as Record<string, unknown>).access_token, 'body') : undefined;
    if (b !== undefined) {
      token = b;
      methods++;
    }
  }
  if (methods > 1) throw new InvalidRequestError('multiple_methods', 'token sent by more than one method');
  return token;
}
