import { expect } from 'chai';
import { InvalidTokenError, parseScopes } from '../../lib/index.js';

const parse = (claims: Record<string, unknown>, extra: string[] = []) => [...parseScopes(claims, extra)];

describe('core/scopes', () => {
  it('splits the space-delimited scope claim', () => {
    expect(parse({ scope: 'read:messages  write:messages' })).to.deep.equal(['read:messages', 'write:messages']);
  });

  it('reads scp as a string (Entra ID) and as an array (Okta)', () => {
    expect(parse({ scp: 'a b' })).to.deep.equal(['a', 'b']);
    expect(parse({ scp: ['a', 'b'] })).to.deep.equal(['a', 'b']);
  });

  it('merges scope, scp and the configured scopeClaims without duplicates', () => {
    expect(parse({ scope: 'a', scp: ['a', 'b'], permissions: ['c'] }, ['permissions'])).to.deep.equal(['a', 'b', 'c']);
  });

  it('ignores claims that are not configured', () => {
    expect(parse({ permissions: ['c'] })).to.deep.equal([]);
  });

  it('fails closed on a claim of the wrong type', () => {
    for (const claims of [{ scope: 1 }, { scope: ['a'] }, { scope: {} }, { scope: null }, { scp: 5 }, { scp: ['a', 1] }, { perms: { a: true } }]) {
      expect(() => parseScopes(claims, ['perms']), JSON.stringify(claims)).to.throw(InvalidTokenError, 'invalid scope claim');
    }
  });

  it('never lets an array element smuggle two scopes in with a space', () => {
    expect(parse({ scp: ['read:messages admin'] })).to.deep.equal([]);
  });
});
