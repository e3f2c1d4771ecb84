// DPoP for the HTTP bench (RFC 9449): a client key, an access token bound to it (cnf.jkt), and proofs
// made just before each run (a proof's jti is single-use and its iat must be recent), signed with jose.
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { AUDIENCE, SCOPE, type BenchKey } from './support.js';

export interface DpopClient {
  /** An ES256 access token bound to the client's key, valid for an hour. */
  token: string;
  /** `count` proofs for GET `url`, each with its own jti, as "token<TAB>proof" lines for bench/wrk.lua. */
  lines(url: string, count: number): Promise<string[]>;
}

export async function dpopClient(key: BenchKey, issuer: string): Promise<DpopClient> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk: JWK = await exportJWK(publicKey);
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ scope: SCOPE, client_id: 'bench', jti: 'dpop-bound', cnf: { jkt: await calculateJwkThumbprint(jwk, 'sha256') } })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(issuer).setAudience(AUDIENCE).setSubject('dpop-user').setIssuedAt(now).setExpirationTime(now + 3600)
    .sign(key.privateKey);
  const ath = createHash('sha256').update(token).digest('base64url');
  let serial = 0;
  return {
    token,
    async lines(url, count) {
      const iat = Math.floor(Date.now() / 1000);
      const lines: string[] = [];
      for (let i = 0; i < count; i++) {
        const proof = await new SignJWT({ jti: `p${serial++}`, htm: 'GET', htu: url, iat, ath })
          .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).sign(privateKey);
        lines.push(`${token}\t${proof}`);
      }
      return lines;
    },
  };
}
