import { randomBytes, type X509Certificate } from 'node:crypto';
import { bindToCertificate, type TestClaims } from './sign.js';

/** How `issueOpaque()` shapes one token; its claims are chosen with the first argument. */
export interface TestOpaqueOptions {
  /** An expired token: issued two hours ago, expired one hour ago; it introspects as inactive. */
  expired?: boolean | undefined;
  /** A token not yet valid (`nbf` one hour from now); it introspects as inactive. */
  notYetValid?: boolean | undefined;
  /** Lifetime in seconds (`exp - iat`). Default: the issuer's `expiresIn`. */
  expiresIn?: number | undefined;
  /** Binds the token to this DPoP key, from `createDpopKey()`: its answer carries `cnf.jkt` (RFC 9449 6.2) and `token_type: 'DPoP'`. */
  dpopKey?: { readonly jkt: string } | undefined;
  /** Binds the token to this client certificate (RFC 8705 3.2): its answer carries `cnf["x5t#S256"]`. PEM or `X509Certificate`. */
  certificate?: string | X509Certificate | undefined;
}

/** The opaque tokens an issuer has handed out, and every token it has revoked. */
export class OpaqueTokens {
  private readonly issued = new Map<string, TestClaims>();
  private readonly revoked = new Set<string>();

  /**
   * A new reference token: 256 random bits in base64url (43 characters, no dots, so never JWT-shaped), standing for
   * `claims` plus `iat`, `exp` (and `nbf`) from `options`.
   */
  issue(claims: TestClaims, expiresIn: number, options: TestOpaqueOptions = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const lifetime = options.expiresIn ?? expiresIn;
    const times = options.expired ? { iat: now - 7200, exp: now - 3600 } : { iat: now, exp: now + lifetime };
    const record: TestClaims = { ...times, ...(options.notYetValid ? { nbf: now + 3600 } : {}), ...claims };
    for (const name of Object.keys(record)) if (record[name] === undefined) delete record[name];
    // Bound as sign() binds a JWT, beside any cnf member the claims already carry.
    if (options.dpopKey !== undefined) record.cnf = { ...(record.cnf as object | undefined), jkt: options.dpopKey.jkt };
    if (options.certificate !== undefined) record.cnf = bindToCertificate(record.cnf, options.certificate);
    const token = randomBytes(32).toString('base64url');
    this.issued.set(token, record);
    return token;
  }

  revoke(token: string): void {
    this.revoked.add(token);
  }

  isRevoked(token: string): boolean {
    return this.revoked.has(token);
  }

  /** The claims of an opaque token that is known, not revoked and within its time window; otherwise undefined. */
  active(token: string): TestClaims | undefined {
    const claims = this.issued.get(token);
    if (claims === undefined || this.revoked.has(token)) return undefined;
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp === 'number' && claims.exp <= now) return undefined;
    if (typeof claims.nbf === 'number' && claims.nbf > now) return undefined;
    return claims;
  }
}
