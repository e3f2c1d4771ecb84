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

  it('has no URL for a Host that is more than host and port (it could shift the path)', () => {
    for (const host of ['evil.example/x', '', 'a b', 'a@b', 'a.example:99999999']) {
      expect(requestHtu({ protocol: 'http', host, originalUrl: '/items' }), host).to.equal(undefined);
    }
  });
});
