import { authorizationHeader, extractToken, onlyHeader, tokenOfScheme, type TokenLocations, type TokenRequest } from '../bearer/extract.js';
import { InvalidDpopProofError, InvalidRequestError } from '../errors.js';

/** The credentials of one request: how the token was presented, the token, and its DPoP proof. */
export interface Credentials {
  /** `DPoP` for `Authorization: DPoP <token>` (RFC 9449 7.1); `Bearer` for every RFC 6750 method. */
  readonly scheme: 'Bearer' | 'DPoP';
  readonly token: string;
  /** The request's one `DPoP` header: present exactly when `scheme` is `DPoP`. Never log or echo it. */
  readonly proof: string | undefined;
}

const repeatedProof = (): Error => new InvalidDpopProofError('dpop_proof_multiple', 'more than one DPoP proof');

/**
 * The value of the request's only `DPoP` header, or undefined when there is none. Two headers, or two
 * values joined by a comma (a compact JWS has none), are refused: RFC 9449 4.3 wants exactly one.
 */
export function dpopProofHeader(rawHeaders: readonly string[]): string | undefined {
  const value = onlyHeader(rawHeaders, 'dpop', repeatedProof);
  if (value === undefined) return undefined;
  if (value.includes(',')) throw repeatedProof();
  return value.trim();
}

/**
 * Reads `Authorization: DPoP <token>` and its proof when the request uses that scheme, else undefined
 * (the caller reads bearer credentials then). A DPoP token sent a second way as well (the RFC 6750
 * body or query parameter) is `invalid_request`, as two bearer methods are.
 */
export function readDpopCredentials(ctx: TokenRequest, locations: TokenLocations): Credentials | undefined {
  const token = tokenOfScheme(authorizationHeader(ctx.req.rawHeaders), 'dpop');
  if (token === undefined) return undefined;
  if ((locations.query || locations.body) && extractToken(ctx, locations) !== undefined) {
    throw new InvalidRequestError('multiple_methods', 'token sent by more than one method');
  }
  const proof = dpopProofHeader(ctx.req.rawHeaders);
  if (proof === undefined || proof === '') throw new InvalidDpopProofError('dpop_proof_missing', 'DPoP proof missing');
  return { scheme: 'DPoP', token, proof };
}
