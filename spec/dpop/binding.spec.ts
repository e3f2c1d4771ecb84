import { expect } from 'chai';
import { AuthError } from '../../lib/index.js';
import { boundJkt, checkBinding, checkProofKey } from '../../lib/dpop/binding.js';

const codeOf = (f: () => unknown): string => {
  try {
    return `ok ${String(f())}`;
  } catch (error) {
    return error instanceof AuthError ? `${error.error} ${error.code}` : String(error);
  }
};

describe('dpop/binding: cnf.jkt and the downgrade rules (RFC 9449 6, 7.1, 7.2)', () => {
  it('reads cnf.jkt from any claims (a JWT or an introspection answer); anything malformed is invalid_token', () => {
    expect(boundJkt({})).to.equal(undefined);
    expect(boundJkt({ cnf: { 'x5t#S256': 'x' } })).to.equal(undefined);
    expect(boundJkt({ cnf: { jkt: 'abc' } })).to.equal('abc');
    for (const cnf of [null, 'abc', [], { jkt: '' }, { jkt: 1 }]) expect(codeOf(() => boundJkt({ cnf })), JSON.stringify(cnf)).to.equal('invalid_token claim_invalid');
  });

  it('refuses a bound token with Bearer, whatever the mode', () => {
    expect(codeOf(() => checkBinding('Bearer', 'k', 'allowed'))).to.equal('invalid_token token_dpop_bound');
    expect(codeOf(() => checkBinding('Bearer', 'k', 'required'))).to.equal('invalid_token token_dpop_bound');
    expect(codeOf(() => checkBinding('Bearer', 'k', 'off'))).to.equal('invalid_token token_dpop_bound');
  });

  it('lets unbound Bearer tokens through unless DPoP is required', () => {
    expect(codeOf(() => checkBinding('Bearer', undefined, 'off'))).to.equal('ok undefined');
    expect(codeOf(() => checkBinding('Bearer', undefined, 'allowed'))).to.equal('ok undefined');
    expect(codeOf(() => checkBinding('Bearer', undefined, 'required'))).to.equal('invalid_token dpop_required');
  });

  it('needs a bound token with DPoP, and returns the thumbprint the proof key must have', () => {
    expect(codeOf(() => checkBinding('DPoP', undefined, 'allowed'))).to.equal('invalid_token token_not_dpop_bound');
    expect(codeOf(() => checkBinding('DPoP', 'k', 'allowed'))).to.equal('ok k');
  });

  it('refuses a proof by another key', () => {
    expect(codeOf(() => checkProofKey('a', 'a'))).to.equal('ok undefined');
    expect(codeOf(() => checkProofKey('a', 'b'))).to.equal('invalid_dpop_proof dpop_key_mismatch');
  });
});
