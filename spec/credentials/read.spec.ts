import { expect } from 'chai';
import { AuthError } from '../../lib/index.js';
import { dpopProofHeader, readDpopCredentials } from '../../lib/credentials/read.js';

const request = (rawHeaders: string[], query: Record<string, string> = {}) => ({
  method: 'GET', query, is: () => false as const, req: { rawHeaders }, request: {},
});
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (error) {
    return error instanceof AuthError ? `${error.status} ${error.error} ${error.code}` : String(error);
  }
  return undefined;
};
const NONE = { query: false, body: false };

describe('credentials/read: Authorization: DPoP and the DPoP header (RFC 9449 4.1, 7.1)', () => {
  it('reads the token of the DPoP scheme (any case) and its one proof', () => {
    expect(readDpopCredentials(request(['Authorization', 'DPoP tok.en', 'DPoP', 'a.b.c']), NONE)).to.deep.equal({ scheme: 'DPoP', token: 'tok.en', proof: 'a.b.c' });
    expect(readDpopCredentials(request(['authorization', 'dpop tok', 'dpop', ' a.b.c ']), NONE)).to.deep.equal({ scheme: 'DPoP', token: 'tok', proof: 'a.b.c' });
  });

  it('leaves other schemes to the bearer reader', () => {
    expect(readDpopCredentials(request(['Authorization', 'Bearer tok', 'DPoP', 'a.b.c']), NONE)).to.equal(undefined);
    expect(readDpopCredentials(request([]), NONE)).to.equal(undefined);
  });

  it('refuses a missing proof, two DPoP headers, or two joined by a comma: 401 invalid_dpop_proof', () => {
    expect(codeOf(() => readDpopCredentials(request(['Authorization', 'DPoP tok']), NONE))).to.equal('401 invalid_dpop_proof dpop_proof_missing');
    expect(codeOf(() => readDpopCredentials(request(['Authorization', 'DPoP tok', 'DPoP', '']), NONE))).to.equal('401 invalid_dpop_proof dpop_proof_missing');
    expect(codeOf(() => dpopProofHeader(['DPoP', 'a.b.c', 'dpop', 'd.e.f']))).to.equal('401 invalid_dpop_proof dpop_proof_multiple');
    expect(codeOf(() => dpopProofHeader(['DPoP', 'a.b.c, d.e.f']))).to.equal('401 invalid_dpop_proof dpop_proof_multiple');
  });

  it('refuses malformed DPoP credentials and a token sent two ways, as for Bearer (400 invalid_request)', () => {
    expect(codeOf(() => readDpopCredentials(request(['Authorization', 'DPoP']), NONE))).to.equal('400 invalid_request token_empty');
    expect(codeOf(() => readDpopCredentials(request(['Authorization', 'DPoP a b']), NONE))).to.equal('400 invalid_request multiple_tokens');
    expect(codeOf(() => readDpopCredentials(request(['Authorization', 'DPoP a,b']), NONE))).to.equal('400 invalid_request authorization_malformed');
    expect(codeOf(() => readDpopCredentials(request(['Authorization', 'DPoP a', 'Authorization', 'DPoP b']), NONE))).to.equal('400 invalid_request multiple_tokens');
    expect(codeOf(() => readDpopCredentials(request(['Authorization', 'DPoP a', 'DPoP', 'a.b.c'], { access_token: 'b' }), { query: true, body: false })))
      .to.equal('400 invalid_request multiple_methods');
  });
});
