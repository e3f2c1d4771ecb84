import type { JWK } from 'jose';
import { ASYMMETRIC_ALGORITHMS } from '../core/options.js';
import { debug } from '../events.js';
import { keyBoundsDefect } from './bounds.js';
import { quote, type ConfigurationMistake } from '../warnings.js';

const KTY_BY_ALG_PREFIX: Record<string, string> = { RS: 'RSA', PS: 'RSA', ES: 'EC', Ed: 'OKP' };
const CRV_BY_ALG: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521', EdDSA: 'Ed25519', Ed25519: 'Ed25519' };
const VERIFYING_KTY = new Set(['RSA', 'EC', 'OKP']);
const KNOWN_ALGS = new Set<string>(ASYMMETRIC_ALGORITHMS);

/** Whether a JWK may verify a token signed with `alg` (RFC 7517 4.2-4.4, RFC 8725 3.1). */
export function fits(jwk: JWK, alg: string): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.kty !== KTY_BY_ALG_PREFIX[alg.slice(0, 2)]) return false;
  const crv = CRV_BY_ALG[alg];
  return crv === undefined || jwk.crv === crv;
}

/** The algorithms some key fits, in `ASYMMETRIC_ALGORITHMS` order: what a key set can verify. */
export function algorithmsOf(keys: readonly JWK[]): string[] {
  return ASYMMETRIC_ALGORITHMS.filter((alg) => keys.some((key) => fits(key, alg)));
}

/**
 * The configuration mistake of a key set (`source`) whose usable `keys`, of `total` in its document, fit
 * none of the `allowed` algorithms, with what they do fit; undefined when some key fits, or when the
 * document has no keys at all (the provider's state, say mid-rotation, not our configuration).
 */
export function unusableFor(source: string, keys: readonly JWK[], total: number, allowed: readonly string[]): { mistake: ConfigurationMistake; offered: string[] } | undefined {
  if (total === 0 || keys.some((key) => allowed.some((alg) => fits(key, alg)))) return undefined;
  const offered = algorithmsOf(keys);
  const its = total === 1 ? 'its one key' : `its ${total} keys`;
  const what = offered.length > 0
    ? `${its} ${total === 1 ? 'fits' : 'fit'} ${offered.join(', ')} only; add the one the provider signs with to \`algorithms\` (${allowed.join(', ')} now)`
    : `${its} cannot verify signatures (encryption or private keys, unknown types, or sizes out of bounds; NODE_DEBUG=koa-token-guard says which); the provider must publish its signing keys there`;
  const fix = `no key of ${quote(source)} fits the allowed algorithms: ${what}. Until then every token of it is refused (401 signing key not found).`;
  return { mistake: { code: 'KOA_TOKEN_GUARD_NO_USABLE_KEY', fix }, offered };
}

/**
 * The keys of a JWKS that may verify signatures: `use` absent or `sig`, `key_ops` absent or with
 * `verify`, an asymmetric `kty`, an `alg` (when declared) we verify, no private part, and parameters
 * within the bounds of `keyBoundsDefect` (whoever publishes a key sets what each check with it costs).
 * Anything else (encryption keys, `oct` secrets, X25519, odd entries, costly keys) is dropped here,
 * never imported, never considered later.
 */
export function usableKeys(keys: unknown, source: string): JWK[] {
  if (!Array.isArray(keys)) return [];
  const usable = (keys as unknown[]).filter((value): value is JWK => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    const k = value as JWK;
    return typeof k.kty === 'string' && VERIFYING_KTY.has(k.kty)
      && (k.use === undefined || k.use === 'sig')
      && (k.key_ops === undefined || (Array.isArray(k.key_ops) && k.key_ops.includes('verify')))
      && (k.alg === undefined || KNOWN_ALGS.has(k.alg))
      && (k.kid === undefined || typeof k.kid === 'string')
      && k.d === undefined
      && withinBounds(k, source);
  });
  if (usable.length !== keys.length) debug('%s: ignored %d of %d keys (encryption, private, unknown alg/kty, out of bounds)', source, keys.length - usable.length, keys.length);
  return usable;
}

/** Whether a key is within bounds; a debug line names why not (never the key, nor its attacker-chosen `kid`). */
function withinBounds(key: JWK, source: string): boolean {
  const defect = keyBoundsDefect(key);
  if (defect !== undefined) debug('%s: key dropped, out of bounds: %s', source, defect);
  return defect === undefined;
}

/**
 * Indices of the keys by `kid`, each list in a fixed order, so duplicate `kid`s resolve the same way
 * in every process: a key declaring its `alg` before one that does not, then document order.
 */
export function indexByKid(keys: readonly JWK[]): Map<string, number[]> {
  const byKid = new Map<string, number[]>();
  keys.forEach((key, i) => {
    if (key.kid === undefined) return;
    const list = byKid.get(key.kid);
    if (list === undefined) byKid.set(key.kid, [i]);
    else list.push(i);
  });
  for (const [kid, list] of byKid) {
    if (list.length < 2) continue;
    list.sort((a, b) => Number(keys[a]!.alg === undefined) - Number(keys[b]!.alg === undefined) || a - b);
    debug('duplicate kid %j: %d keys, resolved by declared alg then document order', kid, list.length);
  }
  return byKid;
}

/** Index of the key for (kid, alg): the first fitting key with that `kid`, or without `kid` the only key that fits. */
export function selectKey(keys: readonly JWK[], byKid: Map<string, number[]>, kid: string | undefined, alg: string): number {
  if (kid !== undefined) {
    for (const i of byKid.get(kid) ?? []) if (fits(keys[i]!, alg)) return i;
    return -1;
  }
  let found = -1;
  for (let i = 0; i < keys.length; i++) {
    if (!fits(keys[i]!, alg)) continue;
    if (found >= 0) return -1; // ambiguous: never guess between two keys
    found = i;
  }
  return found;
}
