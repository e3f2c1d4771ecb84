// An embedded development issuer, built on the test kit (koa-token-guard/testing): discovery and JWKS
// on loopback, keys generated at start. For trying the API without any account; never use it in production.
import type { JWTPayload } from 'jose';
import { createTestIssuer } from '../lib/testing/index.js';

export interface DevIssuer {
  issuer: string;
  jwksUri: string;
  /** Mints an ES256 access token (typ at+jwt) for the audience; claims override the defaults. */
  mint(claims?: JWTPayload & { scope?: string }, options?: { expired?: boolean; badSignature?: boolean }): Promise<string>;
  close(): Promise<void>;
}

export async function startDevIssuer(audience: string, port = 0): Promise<DevIssuer> {
  const kit = await createTestIssuer({
    audience,
    port,
    algorithms: ['ES256'],
    claims: { sub: 'dev-user', client_id: 'dev-client', scope: undefined },
    expiresIn: 3600,
  });
  return {
    issuer: kit.issuer,
    jwksUri: kit.jwksUri,
    mint: (claims = {}, options = {}) => kit.sign(claims, { expired: options.expired, wrongSignature: options.badSignature }),
    close: () => kit.close(),
  };
}
