import { expect } from 'chai';
import { createIntrospector, IntrospectionUnavailableError, TemporarilyUnavailableError, type TokenGuardEvent } from '../../lib/index.js';
import { useServer } from './support.js';
import { rejection } from '../support/rejection.js';
import { warningsDuring } from '../support/warnings.js';

describe('introspection/errors', () => {
  const setup = useServer();

  describe('the authorization server failing: 503 introspection_unavailable with Retry-After, never 401', () => {
    const rows: [string, (server: typeof setup.server) => void, Record<string, unknown>, string, number | undefined][] = [
      ['a 500', (s) => { s.override = () => ({ status: 500, body: '' }); }, {}, 'status', 500],
      ['a 502', (s) => { s.override = () => ({ status: 502, body: '' }); }, {}, 'status', 502],
      ['a 429', (s) => { s.override = () => ({ status: 429, body: '' }); }, {}, 'status', 429],
      ['a redirect (not followed: our credentials stay with the endpoint)', (s) => { s.override = () => ({ status: 302, headers: { location: 'http://127.0.0.1:1/x' }, body: '' }); }, {}, 'status', 302],
      ['a non-JSON answer', (s) => { s.override = () => ({ status: 200, body: '<html>' }); }, {}, 'not_json', undefined],
      ['a JSON array', (s) => { s.override = () => ({ status: 200, body: '[]' }); }, {}, 'shape', undefined],
      ['an answer over maxResponseBytes', (s) => { s.override = () => ({ status: 200, body: JSON.stringify({ active: true, pad: 'x'.repeat(2000) }) }); }, { maxResponseBytes: 1000 }, 'too_large', undefined],
      ['a timeout', (s) => { s.delay = 400; }, { fetchTimeout: 0.1 }, 'timeout', undefined],
    ];
    for (const [name, arrange, extra, failure, status] of rows) {
      it(`on ${name}`, async () => {
        const { server } = setup;
        const token = server.issue();
        arrange(server);
        const events: TokenGuardEvent[] = [];
        const error = await rejection(setup.introspectorFor({ ...extra, onEvent: (e) => events.push(e) })(token));
        expect(error).to.be.instanceOf(IntrospectionUnavailableError).and.instanceOf(TemporarilyUnavailableError);
        expect([error.status, error.code, error.error]).to.deep.equal([503, 'introspection_unavailable', undefined]);
        expect(error.headers).to.deep.equal({ 'Retry-After': '5' });
        expect(events.filter((e) => e.type === 'introspection_failed')).to.deep.equal([
          { type: 'introspection_failed', source: `introspection ${server.endpoint}`, failure, status },
        ]);
        expect(JSON.stringify(events)).to.not.include(token);
      });
    }

    it('on a network failure (nothing listening)', async () => {
      const { server } = setup;
      const error = await rejection(setup.introspectorFor({ jwksUri: `${server.issuer}jwks` }, { endpoint: 'http://127.0.0.1:1/introspect' })(server.issue()));
      expect([error.status, error.code]).to.deep.equal([503, 'introspection_unavailable']);
    });

    it('when the metadata names no introspection_endpoint (or an http one off loopback): 503 and introspection_failed', async () => {
      for (const introspection_endpoint of [undefined, 'http://as.example.com/introspect']) {
        const issuer = `https://as-${Math.random().toString(36).slice(2)}.example.com/`;
        const fetchFn: typeof fetch = (input) => Promise.resolve(Response.json((input as string).endsWith('/jwks')
          ? { keys: [] } : { issuer, jwks_uri: `${issuer}jwks`, introspection_endpoint }));
        const events: TokenGuardEvent[] = [];
        const introspect = createIntrospector({ issuer, audience: 'https://api.example.com', fetch: fetchFn, onEvent: (e) => events.push(e), introspection: { clientId: 'api', clientSecret: 's' } });
        const error = await rejection(introspect('opaque-token'));
        expect([error.status, error.code]).to.deep.equal([503, 'introspection_unavailable']);
        expect(events.find((e) => e.type === 'introspection_failed')).to.deep.include({ failure: 'shape' });
      }
    });

    it("passes on the server's Retry-After (capped at 300 s)", async () => {
      const { server } = setup;
      server.override = () => ({ status: 503, headers: { 'retry-after': '17' }, body: '' });
      expect((await rejection(setup.introspectorFor()(server.issue()))).headers).to.deep.equal({ 'Retry-After': '17' });
      server.override = () => ({ status: 429, headers: { 'retry-after': '86400' }, body: '' });
      expect((await rejection(setup.introspectorFor()(server.issue()))).headers).to.deep.equal({ 'Retry-After': '300' });
    });

    it('does not remember a failure: the next request asks again', async () => {
      const { server } = setup;
      const token = server.issue();
      const introspect = setup.introspectorFor();
      server.override = () => ({ status: 500, body: '' });
      await rejection(introspect(token));
      server.override = undefined;
      expect((await introspect(token)).source).to.equal('introspection');
      expect(server.requests).to.have.length(2);
    });
  });

  describe('our own client authentication refused (401/403): our misconfiguration, not the token', () => {
    for (const status of [401, 403]) {
      it(`answers 503, reports introspection_client_rejected and warns the process once (${status})`, async () => {
        const { server } = setup;
        server.override = () => ({ status, body: '{"error":"invalid_client"}' });
        const events: TokenGuardEvent[] = [];
        const introspect = setup.introspectorFor({ onEvent: (e) => events.push(e) }, { clientSecret: 'wrong' });
        const warnings = (await warningsDuring(async () => {
          for (let i = 0; i < 3; i++) expect((await rejection(introspect(server.issue()))).code).to.equal('introspection_unavailable');
        })).filter((w) => w.code === 'KOA_TOKEN_GUARD_INTROSPECTION_CLIENT').map((w) => w.message);
        expect(warnings).to.have.length(1);
        expect(warnings[0]).to.include('introspection.clientId');
        expect(warnings[0]).to.not.include('wrong');
        expect(events.filter((e) => e.type === 'introspection_client_rejected')).to.deep.equal(Array(3).fill(
          { type: 'introspection_client_rejected', source: `introspection ${server.endpoint}`, status },
        ));
        expect(events.filter((e) => e.type === 'token_rejected')).to.deep.equal(Array(3).fill({ type: 'token_rejected', code: 'introspection_unavailable', status: 503 }));
      });
    }
  });

  describe('a malformed or oversize token: 401 before any network call', () => {
    const tokens: [string, string, string][] = [
      ['a space', 'abc def', 'token_malformed'],
      ['a quote', 'abc"def', 'token_malformed'],
      ['a non-ASCII character', 'abcdé', 'token_malformed'],
      ['padding in the middle', 'ab=cd', 'token_malformed'],
      ['an empty string', '', 'token_malformed'],
      ['8193 characters', 'a'.repeat(8193), 'token_too_large'],
    ];
    for (const [name, token, code] of tokens) {
      it(`refuses ${name} (${code})`, async () => {
        const { server } = setup;
        const error = await rejection(setup.introspectorFor()(token));
        expect([error.status, error.error, error.code]).to.deep.equal([401, 'invalid_token', code]);
        expect(server.requests).to.have.length(0);
        expect(server.discoveryCount()).to.equal(0);
      });
    }
  });
});
