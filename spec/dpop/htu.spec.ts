import { expect } from 'chai';
import { normaliseHtu, requestHtu } from '../../lib/dpop/htu.js';

describe('dpop/htu: the request URL compared after RFC 3986 6.2.2 normalisation', () => {
  it('lower-cases scheme and host, drops the default port, query and fragment', () => {
    expect(normaliseHtu('HTTPS://Api.Example.COM:443/Messages?x=1#f')).to.equal('https://api.example.com/Messages');
    expect(normaliseHtu('http://api.example.com:80')).to.equal('http://api.example.com/');
    expect(normaliseHtu('http://api.example.com:8080/a')).to.equal('http://api.example.com:8080/a');
  });

  it('decodes percent-encoded unreserved characters, upper-cases the rest, then removes dot segments', () => {
    expect(normaliseHtu('https://a.example/%7euser/%41b%2fc')).to.equal('https://a.example/~user/Ab%2Fc');
    expect(normaliseHtu('https://a.example/x/%2E%2E/y/./z')).to.equal('https://a.example/y/z');
  });

  it('gives back a normalised URL unchanged, so a proof whose htu equals the request URL needs no parsing', () => {
    for (const url of ['HTTPS://Api.Example.COM:443/Messages?x=1#f', 'https://a.example/%7euser/%41b%2fc', 'https://a.example/x/%2E%2E/y/./z',
      'http://[::1]:8080/a%20b/%e2%82%ac', 'https://a.example/%2e%2E%2f/x', 'https://a.example/a b/ü?q']) {
      const once = normaliseHtu(url)!;
      expect(normaliseHtu(once), url).to.equal(once);
    }
  });

  it('is undefined for what is not an absolute http(s) URL, or carries credentials', () => {
    for (const bad of ['/relative', 'ftp://a.example/', 'https://user:pw@a.example/', 'not a url', '']) expect(normaliseHtu(bad), bad).to.equal(undefined);
  });

  it('builds the request URL from Koa’s protocol, host and original URL', () => {
    expect(requestHtu({ protocol: 'https', host: 'API.example.com:443', originalUrl: '/v1/items?page=2' })).to.equal('https://api.example.com/v1/items');
    expect(requestHtu({ protocol: 'http', host: '[::1]:3000', originalUrl: '/' })).to.equal('http://[::1]:3000/');
  });

  it('takes only the path of an absolute-form request target, never its authority', () => {
    expect(requestHtu({ protocol: 'http', host: 'api.example.com', originalUrl: 'http://evil.example/items' })).to.equal('http://api.example.com/items');
  });

  it('keeps empty segments: "//" is not "/" to a router, and "//host" in a path never becomes an authority', () => {
    expect(normaliseHtu('http://h//evil.example/x')).to.equal('http://h//evil.example/x');
    expect(normaliseHtu('http://h//')).to.equal('http://h//'); // re-parsed, "//" had no host: a TypeError, a 500
    expect(normaliseHtu('https://a.example/a//b/')).to.equal('https://a.example/a//b/');
    expect(normaliseHtu('https://a.example/a/..//x')).to.equal('https://a.example//x');
    expect(normaliseHtu('https://a.example//%2E%2E/x')).to.equal('https://a.example/x');
    expect(requestHtu({ protocol: 'http', host: 'h', originalUrl: '//evil.example/x' })).to.equal('http://h//evil.example/x');
    expect(requestHtu({ protocol: 'http', host: 'h', originalUrl: '//evil.example/x' })).to.not.equal(normaliseHtu('http://h/x'));
  });

  it('takes the raw path of an absolute-form target, as Koa routes it: no dot segments resolved, empty segments kept', () => {
    expect(requestHtu({ protocol: 'http', host: 'h', originalUrl: 'http://evil.example//x?q' })).to.equal('http://h//x');
    expect(requestHtu({ protocol: 'http', host: 'h', originalUrl: 'http://evil.example' })).to.equal('http://h/');
    expect(requestHtu({ protocol: 'http', host: 'h', originalUrl: 'http://evil.example/a/../admin' })).to.equal(undefined);
  });

  it('has no URL for a request path Koa routes differently from its normal form (dot segments, backslashes, encoded unreserved characters)', () => {
    for (const target of ['/a/../admin', '/a/./b', '/%2e%2E/admin', '/a/%2E/b', '/a\\b', '/%6Dessages', '/a/..', '/a b', '/ü']) {
      expect(requestHtu({ protocol: 'http', host: 'h', originalUrl: target }), target).to.equal(undefined);
    }
  });

  it('treats percent-encoded reserved characters as data: %2F is not a slash, and only its hex case is normalised', () => {
    expect(requestHtu({ protocol: 'http', host: 'h', originalUrl: '/a%2fb' })).to.equal('http://h/a%2Fb');
    expect(normaliseHtu('http://h/a/b')).to.not.equal(requestHtu({ protocol: 'http', host: 'h', originalUrl: '/a%2fb' }));
    expect(normaliseHtu('http://h/a%5Cb')).to.not.equal(normaliseHtu('http://h/a/b'));
  });

  it('has no URL for a Host that is more than host and port (it could shift the path)', () => {
    for (const host of ['evil.example/x', '', 'a b', 'a@b', 'a.example:99999999']) {
      expect(requestHtu({ protocol: 'http', host, originalUrl: '/items' }), host).to.equal(undefined);
    }
  });

  it('answers each request for itself when its URL was seen before (requestHtu remembers URLs in use): hosts, schemes and refusals kept apart', () => {
    const ask = (protocol: string, host: string, originalUrl: string): string | undefined => requestHtu({ protocol, host, originalUrl });
    for (let round = 0; round < 2; round++) {
      expect(ask('https', 'a.example', '/items')).to.equal('https://a.example/items');
      expect(ask('http', 'a.example', '/items')).to.equal('http://a.example/items');
      expect(ask('https', 'b.example', '/items')).to.equal('https://b.example/items');
      expect(ask('https', 'a.example', '/x/../admin')).to.equal(undefined);
      expect(ask('https', 'a.example bad', '/items')).to.equal(undefined);
    }
  });
});
