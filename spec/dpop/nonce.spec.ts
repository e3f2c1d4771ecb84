import { expect } from 'chai';
import { nonceSource } from '../../lib/dpop/nonce.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const A = enc('secret-a-of-at-least-thirty-two-bytes!!');
const B = enc('secret-b-of-at-least-thirty-two-bytes!!');
const T = 1_700_000_100_000; // 100 s into a 300 s step

describe('dpop/nonce: stateless server nonces (RFC 9449 8)', () => {
  it('issues one nonce per step, in the NQCHAR set, and accepts it in that step and the next only', () => {
    const nonces = nonceSource([A], 300);
    const n = nonces.current(T);
    expect(n).to.equal(nonces.current(T + 150_000));
    expect(n).to.match(/^[\x21\x23-\x5B\x5D-\x7E]+$/);
    expect(nonces.accepts(n, T)).to.equal(true);
    expect(nonces.accepts(n, T + 300_000)).to.equal(true);
    expect(nonces.accepts(n, T + 600_000)).to.equal(false);
    expect(nonces.accepts(nonces.current(T + 300_000), T)).to.equal(false); // a nonce of the future
  });

  it('is accepted by every process sharing the secret, and by no other', () => {
    expect(nonceSource([A], 300).accepts(nonceSource([A], 300).current(T), T)).to.equal(true);
    expect(nonceSource([B], 300).accepts(nonceSource([A], 300).current(T), T)).to.equal(false);
  });

  it('rotates: [newer, older] issues with the newer and accepts both', () => {
    const rotated = nonceSource([B, A], 300);
    expect(rotated.accepts(nonceSource([A], 300).current(T), T)).to.equal(true);
    expect(rotated.current(T)).to.equal(nonceSource([B], 300).current(T));
  });

  it('refuses altered, padded or odd nonces', () => {
    const nonces = nonceSource([A], 300);
    const n = nonces.current(T);
    const [step, mac] = n.split('.') as [string, string];
    const flipped = `${step}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'AB' : 'AA'}`;
    for (const bad of [flipped, `${step}.${mac}=`, `0${step}.${mac}`, `${step}`, `.${mac}`, '', 42, null, undefined, `${step}.${mac}${mac}`]) {
      expect(nonces.accepts(bad, T), String(bad)).to.equal(false);
    }
  });

  it('offers a renewal only once the nonce is in its last step, and for nonces it does not accept', () => {
    const nonces = nonceSource([A], 300);
    const n = nonces.current(T);
    expect(nonces.renewal(n, T)).to.equal(undefined);
    expect(nonces.renewal(n, T + 300_000)).to.equal(nonces.current(T + 300_000));
    expect(nonces.renewal('junk', T)).to.equal(n);
  });
});
