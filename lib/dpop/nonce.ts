import { createHmac, timingSafeEqual } from 'node:crypto';

/** Stateless server nonces (RFC 9449 8): an HMAC over a time step, so no process needs to remember one. */
export interface NonceSource {
  /** The nonce to hand out now. */
  current(now?: number): string;
  /** Whether `nonce` was issued by a process sharing a secret, in this time step or the one before. */
  accepts(nonce: unknown, now?: number): boolean;
  /** A fresh nonce when `nonce` (accepted) expires at the end of this step, so the client can switch in time; else undefined. */
  renewal(nonce: string, now?: number): string | undefined;
}

/**
 * Nonces of `step.mac`: `step` the time step (lifetime seconds each) in base 36, `mac` the first 128 bits
 * of HMAC-SHA-256 over it. A nonce is issued for one step and accepted during the next as well, so it
 * lives between `lifetime` and twice that. `secrets[0]` issues; every secret is accepted (rotation).
 */
export function nonceSource(secrets: readonly Uint8Array[], lifetime: number): NonceSource {
  const mac = (secret: Uint8Array, step: number): Buffer => createHmac('sha256', secret).update(`koa-token-guard dpop-nonce ${step}`).digest().subarray(0, 16);
  const stepAt = (now: number): number => Math.floor(now / 1000 / lifetime);
  let memo: { step: number; nonce: string } | undefined;
  const issue = (step: number): string => {
    if (memo?.step !== step) memo = { step, nonce: `${step.toString(36)}.${mac(secrets[0]!, step).toString('base64url')}` };
    return memo.nonce;
  };
  const stepOf = (nonce: unknown, now: number): number | undefined => {
    if (typeof nonce !== 'string' || nonce.length > 64) return undefined;
    const dot = nonce.indexOf('.');
    if (dot < 1) return undefined;
    const step = parseInt(nonce.slice(0, dot), 36);
    const current = stepAt(now);
    if (step !== current && step !== current - 1) return undefined;
    if (nonce.slice(0, dot) !== step.toString(36)) return undefined;
    const given = Buffer.from(nonce.slice(dot + 1), 'base64url');
    if (given.length !== 16 || given.toString('base64url') !== nonce.slice(dot + 1)) return undefined;
    return secrets.some((secret) => timingSafeEqual(mac(secret, step), given)) ? step : undefined;
  };
  return {
    current: (now = Date.now()) => issue(stepAt(now)),
    accepts: (nonce, now = Date.now()) => stepOf(nonce, now) !== undefined,
    renewal(nonce, now = Date.now()) {
      const step = stepOf(nonce, now);
      const current = stepAt(now);
      return step === undefined || step < current ? issue(current) : undefined;
    },
  };
}
