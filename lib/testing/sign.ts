import { X509Certificate } from 'node:crypto';
import { SignJWT, type JWTHeaderParameters } from 'jose';
import { certificateThumbprint } from '../mtls/thumbprint.js';
import { strangerKey, type TestKey } from './keys.js';

/** Claims of a test token: anything JSON; an `undefined` value removes that claim from the defaults. */
export type TestClaims = Record<string, unknown>;

/** How `sign()` shapes one token. Claims are chosen with its first argument; this chooses everything else. */
export interface TestSignOptions {
  /** Sign with the issuer's current key of this algorithm. Default: the issuer's current signing key. */
  alg?: TestKey['alg'] | undefined;
  /** Sign with exactly this key (e.g. one removed with `removeKey()`, or from another issuer). */
  key?: TestKey | undefined;
  /** The `kid` header; `null` leaves it out. Default: the signing key's `kid`. A made-up one tests unknown keys. */
  kid?: string | null | undefined;
  /** Extra or replaced protected header fields (`typ`, `crit`, ...); an `undefined` value removes one. */
  header?: Record<string, unknown> | undefined;
  /** An expired token: issued two hours ago, expired one hour ago (well past any clock tolerance). */
  expired?: boolean | undefined;
  /** A token not yet valid: `nbf` one hour from now. */
  notYetValid?: boolean | undefined;
  /** Signed by a key nobody publishes, with the header of the real one: verification must fail on the signature. */
  wrongSignature?: boolean | undefined;
  /** Lifetime in seconds (`exp - iat`). Default: the issuer's `expiresIn`. */
  expiresIn?: number | undefined;
  /** Binds the token to this DPoP key (`cnf.jkt`, RFC 9449 6), from `createDpopKey()`. */
  dpopKey?: { readonly jkt: string } | undefined;
  /** Bind the token to this client certificate (RFC 8705): adds `cnf["x5t#S256"]`, beside any other `cnf` member. PEM or `X509Certificate`. */
  certificate?: string | X509Certificate | undefined;
}

/** What the issuer fixes for every token: the base claims and the header defaults. */
export interface TokenDefaults {
  readonly claims: TestClaims;
  readonly typ: string | undefined;
  readonly expiresIn: number;
}

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(record)) if (record[k] === undefined) delete record[k];
  return record;
}

/** `cnf` with the RFC 8705 thumbprint of `certificate` added. */
export function bindToCertificate(cnf: unknown, certificate: string | X509Certificate): Record<string, unknown> {
  let parsed: X509Certificate;
  try {
    parsed = certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
  } catch (cause) {
    throw new TypeError('koa-token-guard/testing: `certificate` must be a PEM certificate or an X509Certificate.', { cause });
  }
  const members = cnf !== null && typeof cnf === 'object' ? cnf : {};
  return { ...members, 'x5t#S256': certificateThumbprint(parsed.raw) };
}

/** Mints one signed JWT: defaults, then the caller's claims, then the time-shape options. */
export async function signToken(key: TestKey, defaults: TokenDefaults, claims: TestClaims = {}, options: TestSignOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const lifetime = options.expiresIn ?? defaults.expiresIn;
  const times = options.expired ? { iat: now - 7200, exp: now - 3600 } : { iat: now, exp: now + lifetime };
  const payload = withoutUndefined({
    jti: crypto.randomUUID(),
    ...defaults.claims,
    ...times,
    ...(options.notYetValid ? { nbf: now + 3600 } : {}),
    ...claims,
  });
  if (options.dpopKey !== undefined) payload.cnf = { ...(payload.cnf as object | undefined), jkt: options.dpopKey.jkt };
  if (options.certificate !== undefined) payload.cnf = bindToCertificate(payload.cnf, options.certificate);
  const kid = options.kid === undefined ? key.kid : options.kid ?? undefined;
  const header = withoutUndefined({ alg: key.alg, typ: defaults.typ, kid, ...options.header });
  const privateKey = options.wrongSignature ? await strangerKey(key.alg) : key.privateKey;
  return new SignJWT(payload).setProtectedHeader(header as unknown as JWTHeaderParameters).sign(privateKey);
}
