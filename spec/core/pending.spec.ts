import { expect } from 'chai';
import { PendingVerifications } from '../../lib/core/pending.js';

const deferred = <T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } => {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

// Settlement reactions run in microtasks: one macrotask later they all have.
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('core/pending: verifications in progress are shared by the very token only, and let go of at once', () => {
  const tail = 'S'.repeat(40);
  const token = `header.payload-a.${tail}`;
  // The same tail: the same slot, another token.
  const other = `header.payload-b.${tail}`;

  it('hands the verification in progress to the same token, even as another string with the same characters', () => {
    const pending = new PendingVerifications<string>();
    const { promise } = deferred<string>();
    pending.hold(token, promise);
    expect(pending.get(`header.payload-a.${'S'.repeat(40)}`)).to.equal(promise);
    expect(pending.get(other)).to.equal(undefined);
  });

  it('leaves a slot held by another token to it, and frees it once that verification settles, resolved or refused', async () => {
    const pending = new PendingVerifications<string>();
    for (const outcome of ['resolve', 'reject'] as const) {
      const first = deferred<string>();
      const second = deferred<string>();
      pending.hold(token, first.promise);
      pending.hold(other, second.promise);
      expect(pending.get(other)).to.equal(undefined);
      expect(pending.get(token)).to.equal(first.promise);
      if (outcome === 'resolve') first.resolve('verdict');
      else first.reject(new Error('refused'));
      await first.promise.catch(() => undefined);
      await settled();
      expect(pending.get(token)).to.equal(undefined);
      // Free again: the other token may take it now.
      pending.hold(other, second.promise);
      expect(pending.get(other)).to.equal(second.promise);
      second.resolve('other');
      await second.promise;
      await settled();
      expect(pending.get(other)).to.equal(undefined);
    }
  });
});
