/** The NumericDate claims (RFC 7519 2) this package reads, wherever a token's claims come from. */
export const TIME_CLAIMS = ['exp', 'nbf', 'iat', 'auth_time'] as const;

/**
 * 9999-12-31T23:59:59Z. JSON allows numbers no issuer means as a date: `"exp": 1e400` parses as
 * Infinity, a token that would never expire. A time claim must be a finite number from 0 to this.
 */
export const MAX_NUMERIC_DATE = 253_402_300_799;

/** Whether a claim value is a NumericDate this package accepts. */
export function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= MAX_NUMERIC_DATE;
}

/** The first time claim present with a value that is not an accepted NumericDate, or undefined when all are fine. */
export function invalidTimeClaim(claims: Readonly<Record<string, unknown>>): string | undefined {
  for (const name of TIME_CLAIMS) {
    const value = claims[name];
    if (value !== undefined && !isNumericDate(value)) return name;
  }
  return undefined;
}
