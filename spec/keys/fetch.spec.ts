import { expect } from 'chai';
import { install } from '@sinonjs/fake-timers';
import { fetchText, KeySourceError } from '../../lib/keys/fetch.js';

describe('keys: one request to the provider (fetchText)', () => {
  let clock: ReturnType<typeof install>;
  beforeEach(() => {
    clock = install({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => clock.uninstall());

  it('leaves no timer behind once answered, so a flood of calls holds nothing for the length of the timeout', async () => {
    const fetch: typeof globalThis.fetch = () => Promise.resolve(new Response('{"ok":true}'));
    const { text } = await fetchText('https://as.example/introspect', { method: 'POST' }, { fetch, timeout: 5, maxBytes: 1024 });
    expect(text).to.equal('{"ok":true}');
    expect(clock.countTimers()).to.equal(0);
  });

  it('leaves no timer behind after a refusal either', async () => {
    const fetch: typeof globalThis.fetch = () => Promise.resolve(new Response('no', { status: 500 }));
    const failure = await fetchText('https://as.example/introspect', {}, { fetch, timeout: 5, maxBytes: 1024 }).catch((e: unknown) => e);
    expect(failure).to.be.instanceOf(KeySourceError).and.to.include({ reason: 'status', status: 500 });
    expect(clock.countTimers()).to.equal(0);
  });

  it('aborts a request that outlasts the timeout and reports it as a timeout', async () => {
    const fetch: typeof globalThis.fetch = (_url, init) => new Promise((_, reject) => {
      init!.signal!.addEventListener('abort', () => reject(new Error('aborted')));
    });
    const pending = fetchText('https://as.example/introspect', {}, { fetch, timeout: 5, maxBytes: 1024 }).catch((e: unknown) => e);
    await clock.tickAsync(5000);
    expect(await pending).to.be.instanceOf(KeySourceError).and.to.include({ reason: 'timeout' });
  });
});
