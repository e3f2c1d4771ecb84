import { expect } from 'chai';
import Koa from 'koa';
import {
  bearerChallenge, InsufficientScopeError, InsufficientUserAuthenticationError, InvalidDpopProofError, UseDpopNonceError, InvalidRequestError, InvalidTokenError, KeySourceUnavailableError, MissingCredentialsError, renderAuthErrors, TemporarilyUnavailableError, UserInfoUnavailableError,
} from '../lib/index.js';
import { request } from './support/http.js';

describe('errors', () => {
  describe('bearerChallenge', () => {
    it('is a bare Bearer with no attributes', () => {
      expect(bearerChallenge({})).to.equal('Bearer');
    });

    it('orders realm, error, error_description and scope as RFC 6750 3 shows them', () => {
      expect(bearerChallenge({ realm: 'api', error: 'insufficient_scope', description: 'more scope needed', scope: ['a', 'b'] }))
        .to.equal('Bearer realm="api", error="insufficient_scope", error_description="more scope needed", scope="a b"');
    });

    it('adds RFC 9470 acr_values and max_age, then the RFC 9728 resource_metadata, after the RFC 6750 attributes', () => {
      expect(bearerChallenge({
        realm: 'api', error: 'insufficient_user_authentication', description: 'authentication too old', acrValues: ['urn:a', 'urn:b'], maxAge: 0,
        resourceMetadata: 'https://api.example.com/.well-known/oauth-protected-resource/mcp',
      })).to.equal('Bearer realm="api", error="insufficient_user_authentication", error_description="authentication too old", acr_values="urn:a urn:b", max_age="0", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"');
      expect(bearerChallenge({ acrValues: [], resourceMetadata: 'https://x.example/"' })).to.equal('Bearer resource_metadata="https://x.example/"');
    });

    it('strips quotes, backslashes, controls and non-ASCII from values (RFC 6750 3 character set)', () => {
      expect(bearerChallenge({ realm: 'a"b\\c\r\nd\u00e9' })).to.equal('Bearer realm="abcd"');
    });
  });

  describe('challenges of one refusal (built in one place)', () => {
    const metadata = 'https://api.example.com/.well-known/oauth-protected-resource/mcp';
    const dpop = (scheme: 'Bearer' | 'DPoP' | undefined, required = false) => ({ algs: 'ES256 EdDSA', scheme, required });
    function withContext<E extends InvalidTokenError | InsufficientScopeError | InsufficientUserAuthenticationError | InvalidDpopProofError | UseDpopNonceError | MissingCredentialsError>(
      error: E, context: { dpop?: ReturnType<typeof dpop> },
    ): E {
      error.realm = 'api';
      error.resourceMetadata = metadata;
      error.dpop = context.dpop;
      return error;
    }

    it('puts Bearer first, with resource_metadata, and offers DPoP algs after it (RFC 9449 7.1, RFC 9728 5.1)', () => {
      expect(withContext(new MissingCredentialsError(), { dpop: dpop(undefined) }).headers['WWW-Authenticate'])
        .to.equal(`Bearer realm="api", resource_metadata="${metadata}", DPoP algs="ES256 EdDSA"`);
    });

    it('keeps a step-up refusal\'s acr_values and max_age when the request used DPoP (RFC 9470 3)', () => {
      expect(withContext(new InsufficientUserAuthenticationError(['urn:mfa'], 300, 'authentication too weak'), { dpop: dpop('DPoP') }).headers['WWW-Authenticate'])
        .to.equal(`DPoP error="insufficient_user_authentication", error_description="authentication too weak", acr_values="urn:mfa", max_age="300", algs="ES256 EdDSA", resource_metadata="${metadata}"`);
    });

    it('keeps a scope refusal\'s scope in a DPoP challenge, and names the metadata when no Bearer challenge is offered', () => {
      expect(withContext(new InsufficientScopeError(['read'], 'insufficient scope'), { dpop: dpop('Bearer', true) }).headers['WWW-Authenticate'])
        .to.equal(`DPoP error="insufficient_scope", error_description="insufficient scope", scope="read", algs="ES256 EdDSA", resource_metadata="${metadata}"`);
    });

    it('answers a proof error with a DPoP challenge even without DPoP context, and a nonce demand with its DPoP-Nonce', () => {
      const proof = new InvalidDpopProofError('dpop_htu_mismatch', 'DPoP proof htu mismatch');
      expect(proof.headers['WWW-Authenticate']).to.equal('DPoP error="invalid_dpop_proof", error_description="DPoP proof htu mismatch"');
      expect(withContext(new UseDpopNonceError('n-1'), { dpop: dpop('DPoP') }).headers).to.deep.equal({
        'WWW-Authenticate': `DPoP error="use_dpop_nonce", error_description="DPoP nonce required", algs="ES256 EdDSA", resource_metadata="${metadata}"`,
        'DPoP-Nonce': 'n-1',
      });
    });

    it('keeps a Bearer refusal\'s own attributes before the DPoP offer when the request used Bearer', () => {
      expect(withContext(new InvalidTokenError('token_expired', 'token expired'), { dpop: dpop('Bearer') }).headers['WWW-Authenticate'])
        .to.equal(`Bearer realm="api", error="invalid_token", error_description="token expired", resource_metadata="${metadata}", DPoP algs="ES256 EdDSA"`);
    });
  });

  describe('error classes', () => {
    it('maps each class to its RFC 6750 status, error code and exposed message', () => {
      const cases = [
        [new MissingCredentialsError(), 401, undefined, 'credentials_missing'],
        [new InvalidRequestError('token_empty', 'bearer token missing'), 400, 'invalid_request', 'token_empty'],
        [new InvalidTokenError('token_expired', 'token expired'), 401, 'invalid_token', 'token_expired'],
        [new InsufficientScopeError(['a'], 'insufficient scope'), 403, 'insufficient_scope', 'insufficient_scope'],
        [new KeySourceUnavailableError(30), 503, undefined, 'key_source_unavailable'],
      ] as const;
      for (const [error, status, bearerError, code] of cases) {
        expect(error.status).to.equal(status);
        expect(error.error).to.equal(bearerError);
        expect(error.code).to.equal(code);
        expect(error.expose).to.equal(true);
        expect(error).to.be.instanceOf(Error);
      }
    });

    it('gives the 503 a Retry-After of at least one whole second and no Bearer challenge', () => {
      expect(new KeySourceUnavailableError(0.2).headers).to.deep.equal({ 'Retry-After': '1' });
      expect(new KeySourceUnavailableError(29.1).headers).to.deep.equal({ 'Retry-After': '30' });
      expect(new UserInfoUnavailableError(29.1).headers).to.deep.equal({ 'Retry-After': '30' });
    });

    it('makes every 503 a TemporarilyUnavailableError, so error middleware can catch provider trouble in one place', () => {
      for (const error of [new KeySourceUnavailableError(5), new UserInfoUnavailableError(5)]) {
        expect(error).to.be.instanceOf(TemporarilyUnavailableError);
        expect([error.status, error.error, error.toJSON().error]).to.deep.equal([503, undefined, 'temporarily_unavailable']);
      }
    });

    it('serialises to the RFC 6750 JSON body', () => {
      expect(new InvalidTokenError('token_expired', 'token expired').toJSON()).to.deep.equal({ error: 'invalid_token', error_description: 'token expired' });
      expect(new KeySourceUnavailableError(5).toJSON()).to.deep.equal({ error: 'temporarily_unavailable', error_description: 'token verification is temporarily unavailable' });
    });
  });

  describe('rendering', () => {
    it("is rendered by Koa's default handler with status, challenge and the plain-words message", async () => {
      const app = new Koa();
      app.silent = true;
      app.use(() => {
        const error = new InvalidTokenError('token_expired', 'token expired');
        error.realm = 'api';
        throw error;
      });
      const reply = await request(app, '/');
      expect(reply.status).to.equal(401);
      expect(reply.headers['www-authenticate']).to.equal('Bearer realm="api", error="invalid_token", error_description="token expired"');
      expect(reply.text).to.equal('token expired');
    });

    it('renders the RFC 6750 JSON body with renderAuthErrors()', async () => {
      const app = new Koa();
      app.use(renderAuthErrors());
      app.use(() => {
        throw new InsufficientScopeError(['read:messages'], 'insufficient scope');
      });
      const reply = await request(app, '/');
      expect(reply.status).to.equal(403);
      expect(reply.headers['content-type']).to.match(/^application\/json/);
      expect(reply.headers['www-authenticate']).to.equal('Bearer error="insufficient_scope", error_description="insufficient scope", scope="read:messages"');
      expect(reply.json()).to.deep.equal({ error: 'insufficient_scope', error_description: 'insufficient scope' });
    });

    it('lets other errors through renderAuthErrors() untouched', async () => {
      const app = new Koa();
      app.silent = true;
      app.use(renderAuthErrors());
      app.use((ctx) => ctx.throw(418, 'teapot'));
      const reply = await request(app, '/');
      expect(reply.status).to.equal(418);
      expect(reply.text).to.equal('teapot');
    });
  });
});
