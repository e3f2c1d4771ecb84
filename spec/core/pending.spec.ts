import { expect } from 'chai';
import { PendingVerifications } from '../../lib/core/pending.js';

describe('core/pending: verifications in progress are shared by the very token only, and let go of as they settle', () => {
  const tail = 'S'.repeat(40);
  const token = `header.payload-a.${tail}`;
  // The same tail: the same slot, another token.
  const other = `header.payload-b.${tail}`;
  const result = (value: string): Promise<string> => Promise.resolve(value);

  it('hands the verification in progress to the same token, even as another string with the same characters', () => {
    const pending = new PendingVerifications<string>();
    const verification = result('verdict');
    const slot = pending.claim(token);
    expect(slot).to.be.at.least(0);
    pending.share(slot, token, verification);
    expect(pending.get(`header.payload-a.${'S'.repeat(40)}`)).to.equal(verification);
    expect(pending.get(other)).to.equal(undefined);
  });

  it('leaves a slot held by another token to it (that one is not shared), and gives it out again once released', () => {
    const pending = new PendingVerifications<string>();
    const first = result('first');
    const slot = pending.claim(token);
    pending.share(slot, token, first);
    expect(pending.claim(other)).to.equal(-1);
    pending.share(-1, other, result('other'));
    expect(pending.get(other)).to.equal(undefined);
    expect(pending.get(token)).to.equal(first);
    pending.release(-1);
    expect(pending.get(token)).to.equal(first);
    pending.release(slot);
    expect(pending.get(token)).to.equal(undefined);
    const again = pending.claim(other);
    expect(again).to.equal(slot);
    const second = result('second');
    pending.share(again, other, second);
    expect(pending.get(other)).to.equal(second);
  });

  it('never shares a verification that settled, and released its slot, before it was shared', () => {
    const pending = new PendingVerifications<string>();
    const slot = pending.claim(token);
    // A refusal before the verification's first await releases the slot before share() is reached.
    pending.release(slot);
    pending.share(slot, token, Promise.reject(new Error('refused')).catch(() => 'handled'));
    expect(pending.get(token)).to.equal(undefined);
    expect(pending.claim(other)).to.equal(slot);
  });
});
