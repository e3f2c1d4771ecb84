// Configuration mistakes found at run time (in what the provider answers to our options) print their
// fix once, as a process warning with a stable code: a newcomer's first sign of a wrong `issuer` must
// not be a silent 503 on every request. The provider's own state (down, slow, 5xx) is an outage, told
// by events only.

/** Codes of the process warnings that say how to fix a configuration mistake. */
export type ConfigurationWarningCode =
  /** The discovery document names another issuer than the configured one (a trailing slash, say). */
  | 'KOA_TOKEN_GUARD_ISSUER_MISMATCH'
  /** No discovery document at any placement for the configured issuer (4xx everywhere). */
  | 'KOA_TOKEN_GUARD_DISCOVERY_NOT_FOUND'
  /** The discovery document lacks what the options need: a usable `jwks_uri`, or an `introspection_endpoint`. */
  | 'KOA_TOKEN_GUARD_METADATA_INCOMPLETE'
  /** A `jwks_uri`, introspection endpoint or redirect the https rule refuses. */
  | 'KOA_TOKEN_GUARD_INSECURE_URL'
  /** A key set with keys, none of which fits any allowed algorithm. */
  | 'KOA_TOKEN_GUARD_NO_USABLE_KEY';

/** A mistake in our configuration, found in a provider's answer: its warning code and the sentence saying how to fix it. */
export interface ConfigurationMistake {
  readonly code: ConfigurationWarningCode;
  readonly fix: string;
}

/** Distinct sources warned per code: tenants accepted by `resolveIssuer` must not be able to flood the log. */
const MAX_SOURCES_PER_CODE = 20;
const warned = new Map<ConfigurationWarningCode, Set<string>>();

/** Emits the mistake's warning unless it was emitted for this source already (or its code's quota is spent). */
export function warnOnce(mistake: ConfigurationMistake, source: string): void {
  let sources = warned.get(mistake.code);
  if (sources === undefined) warned.set(mistake.code, (sources = new Set()));
  if (sources.has(source) || sources.size >= MAX_SOURCES_PER_CODE) return;
  sources.add(source);
  process.emitWarning(`koa-token-guard: ${mistake.fix}`, { code: mistake.code });
  if (sources.size === MAX_SOURCES_PER_CODE) {
    process.emitWarning(`koa-token-guard: ${MAX_SOURCES_PER_CODE} sources warned; further ones are not (events still report them)`, { code: mistake.code });
  }
}

/** Forgets what was warned (specs). */
export function resetWarnings(): void {
  warned.clear();
}

const QUOTE_MAX = 200;

/**
 * A value for a warning, quoted: a provider's answer is not ours to print as it is. Capped in length,
 * JSON-quoted, and every character outside printable ASCII escaped (control characters, bidi overrides).
 */
export function quote(value: unknown): string {
  if (typeof value !== 'string') return value === undefined ? 'none' : `a ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`;
  const text = value.length > QUOTE_MAX ? `${value.slice(0, QUOTE_MAX)}...` : value;
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
