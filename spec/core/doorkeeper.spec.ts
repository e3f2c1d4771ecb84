import { expect } from 'chai';
import { Doorkeeper } from '../../lib/core/doorkeeper.js';

describe('core/doorkeeper: the admission filter of a full verified-token cache', () => {
  it('says a token was seen before only from its second sighting', () => {
    const doorkeeper = new Doorkeeper(100);
    expect(doorkeeper.seenBefore('token-a')).to.equal(false);
    expect(doorkeeper.seenBefore('token-a')).to.equal(true);
    expect(doorkeeper.seenBefore('token-a')).to.equal(true);
  });

  it('forgets everything once its window of distinct tokens has passed', () => {
    const doorkeeper = new Doorkeeper(100);
    doorkeeper.seenBefore('token-a');
    for (let i = 0; i < 150; i++) doorkeeper.seenBefore(`other-${i}`); // some collide, and a collision marks nothing
    expect(doorkeeper.seenBefore('token-a')).to.equal(false);
  });

  it('mistakes fewer than 1 in 50 new tokens for seen ones, even with its window full', () => {
    const doorkeeper = new Doorkeeper(10_000);
    for (let i = 0; i < 9_000; i++) doorkeeper.seenBefore(`seen-${i}`);
    let mistaken = 0;
    // 999 more: the window fills up to its last mark, never cleared on the way
    for (let i = 0; i < 999; i++) if (doorkeeper.seenBefore(`new-${i}`)) mistaken++;
    expect(mistaken).to.be.below(20);
    expect(doorkeeper.seenBefore('seen-0')).to.equal(true);
  });

  it('tells apart real tokens that share everything but their signatures', () => {
    const doorkeeper = new Doorkeeper(10);
    const body = `eyJhbGciOiJFUzI1NiJ9.${'e'.repeat(300)}`;
    expect(doorkeeper.seenBefore(`${body}.${'A'.repeat(86)}`)).to.equal(false);
    expect(doorkeeper.seenBefore(`${body}.${'A'.repeat(43)}${'B'.repeat(43)}`)).to.equal(false);
  });
});
