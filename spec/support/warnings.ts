/** A process warning of this package (`KOA_TOKEN_GUARD_…`). */
export interface Warned { code: string; message: string }

/** This package's process warnings emitted while `body` runs (they are delivered on a later tick). */
export async function warningsDuring(body: () => Promise<void>): Promise<Warned[]> {
  const seen: Warned[] = [];
  const listener = (warning: Error & { code?: string }): void => {
    if (warning.code?.startsWith('KOA_TOKEN_GUARD_')) seen.push({ code: warning.code, message: warning.message });
  };
  process.on('warning', listener);
  try {
    await body();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}
