import { expect } from 'chai';
import { install } from '@sinonjs/fake-timers';
import { fetchJson, fetchText, KeySourceError } from '../../lib/keys/fetch.js';

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

  describe('redirects', () => {
    /** A provider whose answers are given per URL; records each request's URL and redirect mode. */
    const provider = (answers: Record<string, () => Response>) => {
      const seen: Array<[string, RequestRedirect | undefined]> = [];
      const fetch: typeof globalThis.fetch = (url, init) => {
        const href = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
        seen.push([href, init?.redirect]);
        const answer = answers[href];
        return Promise.resolve(answer === undefined ? new Response('', { status: 404 }) : answer());
      };
      return { fetch, seen };
    };
    const to = (location: string, status = 302) => () => new Response('', { status, headers: { location } });
    const json = () => new Response('{"keys":[]}');
    const options = (fetch: typeof globalThis.fetch, allowInsecureHttp = false) => ({ fetch, timeout: 5, maxBytes: 1024, allowInsecureHttp });

    it('follows 301, 307 and 308 (relative or not) to https, asking fetch never to follow by itself', async () => {
      const { fetch, seen } = provider({
        'https://as.example/a': to('/b', 301), 'https://as.example/b': to('https://cdn.example/c', 307), 'https://cdn.example/c': to('d', 308), 'https://cdn.example/d': json,
      });
      expect((await fetchJson('https://as.example/a', options(fetch))).body).to.deep.equal({ keys: [] });
      expect(seen).to.deep.equal([['https://as.example/a', 'manual'], ['https://as.example/b', 'manual'], ['https://cdn.example/c', 'manual'], ['https://cdn.example/d', 'manual']]);
    });

    const refusals: Array<[string, string, string | undefined, boolean]> = [
      ['from https to http, even on loopback', 'https://as.example/jwks', 'http://127.0.0.1:8080/jwks', true],
      ['from https to http off loopback, even with allowInsecureHttp', 'https://as.example/jwks', 'http://as.example/jwks', true],
      ['from http on loopback to http elsewhere', 'http://127.0.0.1:8080/jwks', 'http://keys.example/jwks', false],
      ['to another scheme', 'https://as.example/jwks', 'file:///etc/passwd', true],
      ['without a Location', 'https://as.example/jwks', undefined, false],
    ];
    for (const [label, from, location, allowInsecureHttp] of refusals) {
      it(`refuses, as the provider's fault (reason redirect) and without requesting it, a redirect ${label}`, async () => {
        const { fetch, seen } = provider({ [from]: location === undefined ? () => new Response('', { status: 302 }) : to(location) });
        const failure = await fetchJson(from, options(fetch, allowInsecureHttp)).catch((e: unknown) => e);
        expect(failure).to.be.instanceOf(KeySourceError).and.to.include({ reason: 'redirect', status: 302 });
        expect(seen).to.have.length(1);
      });
    }

    it('follows http elsewhere from loopback with allowInsecureHttp', async () => {
      const { fetch } = provider({ 'http://127.0.0.1:8080/jwks': to('http://keys.example/jwks'), 'http://keys.example/jwks': json });
      expect((await fetchJson('http://127.0.0.1:8080/jwks', options(fetch, true))).body).to.deep.equal({ keys: [] });
    });

    it('gives up after 3 redirects, and follows none when asked for none (userinfo, introspection)', async () => {
      const loop = provider({ 'https://as.example/a': to('/b'), 'https://as.example/b': to('/a') });
      expect(await fetchJson('https://as.example/a', options(loop.fetch)).catch((e: unknown) => e)).to.include({ reason: 'redirect', status: 302 });
      expect(loop.seen).to.have.length(4);
      const none = provider({ 'https://as.example/a': to('/b') });
      expect(await fetchJson('https://as.example/a', options(none.fetch), 0).catch((e: unknown) => e)).to.include({ reason: 'status', status: 302 });
      expect(none.seen).to.deep.equal([['https://as.example/a', 'manual']]);
    });
  });
});
