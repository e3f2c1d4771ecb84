import { expect } from 'chai';
import Router from '@koa/router';
import {
  allOf, anyOf, ConfigurationError, defineScopes, describeRoutes, openApiSecurity, publicRoute, requireAudience, requireClaim,
  requireScopes, requireToken, type Guard, type Requirement, type RouteDescription,
} from '../../lib/index.js';
import { expectValid, generatedDocument, merge } from './support.js';

const ok = (): void => undefined;
const oauth2 = { type: 'oauth2', flows: { clientCredentials: { tokenUrl: 'https://auth.example.com/oauth/token' } } } as const;

/** The security of GET /route guarded by `guards`, under the oauth2 scheme. */
function securityOf(...guards: Guard[]): unknown {
  const router = new Router();
  router.get('/route', ...guards, ok);
  return openApiSecurity(router, { scheme: oauth2 }).paths['/route']?.get;
}

const alternatives = (...sets: string[][]) => ({ security: sets.map((scopes) => ({ oauth2: scopes })) });

describe('openapi/openApiSecurity', () => {
  describe('maps each requirement', () => {
    it('requireScopes needing all scopes → one requirement object', () => {
      expect(securityOf(requireScopes(['read:messages', 'write:messages']))).to.deep.equal(alternatives(['read:messages', 'write:messages']));
    });

    it("requireScopes with match: 'any' → one alternative per scope", () => {
      expect(securityOf(requireScopes(['a', 'b'], { match: 'any' }))).to.deep.equal(alternatives(['a'], ['b']));
    });

    it('anyOf → the alternatives of each guard', () => {
      expect(securityOf(anyOf(requireScopes('a'), requireScopes(['b', 'c'])))).to.deep.equal(alternatives(['a'], ['b', 'c']));
    });

    it('allOf of alternatives → OR-of-AND, every combination', () => {
      const guard = allOf(anyOf(requireScopes('a'), requireScopes('b')), requireScopes(['c', 'd'], { match: 'any' }));
      expect(securityOf(guard)).to.deep.equal(alternatives(['a', 'c'], ['a', 'd'], ['b', 'c'], ['b', 'd']));
    });

    it('router-level and route guards → their scopes combined, router-level first', () => {
      const router = new Router();
      router.use(requireScopes('api'));
      router.get('/route', requireScopes('read'), ok);
      expect(openApiSecurity(router, { scheme: oauth2 }).paths['/route']?.get).to.deep.equal(alternatives(['api', 'read']));
    });

    it('requireToken → an empty scope list: any token', () => {
      expect(securityOf(requireToken())).to.deep.equal(alternatives([]));
    });

    it('publicRoute() → security: []', () => {
      const router = new Router();
      router.get('/health', publicRoute(), ok);
      expect(openApiSecurity(router, { scheme: oauth2 }).paths['/health']).to.deep.equal({ get: { security: [] } });
    });

    it('drops alternatives another one already covers, and repeated scopes', () => {
      expect(securityOf(anyOf(requireScopes(['a', 'b']), requireScopes('a')))).to.deep.equal(alternatives(['a']));
      expect(securityOf(allOf(requireScopes('a'), requireScopes(['a', 'b'])))).to.deep.equal(alternatives(['a', 'b']));
      expect(securityOf(anyOf(requireScopes('a'), requireToken()))).to.deep.equal(alternatives([]));
    });

    it('a claim → any token, with the route\'s requirements under x-koa-token-guard', () => {
      const claim = requireClaim('role', 'owner');
      expect(securityOf(requireScopes('a'), claim)).to.deep.equal({
        ...alternatives(['a']),
        'x-koa-token-guard': { requirements: [{ kind: 'scopes', scopes: ['a'], match: 'all' }, { kind: 'claim', claim: 'role', expected: '"owner"' }] },
      });
      // The claim's alternative is no weaker than the scope's: both are listed.
      expect(securityOf(anyOf(requireScopes('admin'), claim))).to.deep.equal({
        ...alternatives(['admin'], []),
        'x-koa-token-guard': { requirements: [{ kind: 'anyOf', requirements: [{ kind: 'scopes', scopes: ['admin'], match: 'all' }, { kind: 'claim', claim: 'role', expected: '"owner"' }] }] },
      });
    });

    it('an alternative needing a claim absorbs none, but one needing only scopes absorbs it', () => {
      const claim = requireClaim('role', 'owner');
      expect(securityOf(anyOf(claim, requireScopes(['a', 'b'])))).to.deep.include(alternatives([], ['a', 'b']));
      expect(securityOf(anyOf(allOf(requireScopes(['a', 'b']), claim), requireScopes('a')))).to.deep.include(alternatives(['a']));
      expect(securityOf(anyOf(allOf(requireScopes('a'), claim), allOf(requireScopes('a'), requireAudience('x'))))).to.deep.include(alternatives(['a']));
    });

    it('an audience → under x-koa-token-guard', () => {
      expect(securityOf(requireAudience('https://admin.example.com'))).to.deep.equal({
        ...alternatives([]),
        'x-koa-token-guard': { requirements: [{ kind: 'audience', audiences: ['https://admin.example.com'] }] },
      });
    });

    it('an auth level, or any requirement it does not know → under x-koa-token-guard', () => {
      const authLevel = { kind: 'authLevel', acr: ['urn:example:mfa'], maxAge: 300 } as unknown as Requirement;
      const routes: RouteDescription[] = [{ method: 'POST', path: '/transfers', access: 'guarded', requirements: [authLevel, { kind: 'scopes', scopes: ['pay'], match: 'all' }] }];
      expect(openApiSecurity(routes, { scheme: oauth2 }).paths).to.deep.equal({
        '/transfers': { post: { ...alternatives(['pay']), 'x-koa-token-guard': { requirements: routes[0]!.requirements } } },
      });
    });

    it('a scope some declared scopes imply → alternatives with each implying scope', () => {
      const messages = defineScopes({ 'messages:admin': ['messages:read', 'messages:write'], 'messages:read': [], 'messages:write': [] });
      expect(securityOf(messages.requireScopes('messages:read'))).to.deep.equal(alternatives(['messages:read'], ['messages:admin']));
      expect(securityOf(messages.requireScopes(['messages:read', 'messages:write']))).to.deep.equal(alternatives(['messages:read', 'messages:write'], ['messages:admin']));
      expect(securityOf(messages.requireScopes('messages:admin'))).to.deep.equal(alternatives(['messages:admin']));
    });
  });

  describe('bounds the expansion', () => {
    const pair = (n: number): Guard => requireScopes([`a${n}`, `b${n}`], { match: 'any' });

    it('throws a ConfigurationError naming the route past 64 alternatives', () => {
      const router = new Router();
      router.get('/wide', allOf(pair(1), pair(2), pair(3), pair(4), pair(5), pair(6)), ok);
      expect(openApiSecurity(router, { scheme: oauth2 }).paths['/wide']!.get!.security).to.have.length(64);
      router.get('/wider', allOf(pair(1), pair(2), pair(3), pair(4), pair(5), pair(6), pair(7)), ok);
      expect(() => openApiSecurity(router, { scheme: oauth2 })).to.throw(ConfigurationError, /GET \/wider expand to more than 64 alternatives/);
    });

    it('takes another bound from maxAlternatives, and refuses one that is not a positive whole number', () => {
      const router = new Router();
      router.get('/wider', allOf(pair(1), pair(2), pair(3), pair(4), pair(5), pair(6), pair(7)), ok);
      expect(openApiSecurity(router, { scheme: oauth2, maxAlternatives: 128 }).paths['/wider']!.get!.security).to.have.length(128);
      expect(() => openApiSecurity(router, { scheme: oauth2, maxAlternatives: 3 })).to.throw(ConfigurationError, /more than 3 alternatives/);
      for (const bad of [0, 1.5, Number.NaN]) expect(() => openApiSecurity(router, { scheme: oauth2, maxAlternatives: bad })).to.throw(ConfigurationError, /maxAlternatives/);
    });
  });

  describe('paths and methods', () => {
    it('converts Koa path parameters to OpenAPI templates, prefixes and nested routers included', () => {
      const inner = new Router();
      inner.get('/messages/:messageId', requireScopes('read'), ok);
      const router = new Router({ prefix: '/orgs/:orgId' });
      router.use('/v1', inner.routes());
      router.delete('/files/*rest', requireScopes('write'), ok);
      expect(Object.keys(openApiSecurity(router, { scheme: oauth2 }).paths)).to.deep.equal(['/orgs/{orgId}/v1/messages/{messageId}', '/orgs/{orgId}/files/{rest}']);
    });

    it('lists a path with an optional part with and without it', () => {
      const router = new Router();
      router.get('/users{/:id}', requireScopes('read'), ok);
      expect(openApiSecurity(router, { scheme: oauth2 }).paths).to.deep.equal({ '/users': { get: alternatives(['read']) }, '/users/{id}': { get: alternatives(['read']) } });
    });

    it('lists each method in lower case, and a GET without its implicit HEAD', () => {
      const router = new Router();
      router.get('/m', requireScopes('read'), ok);
      router.post('/m', requireScopes('write'), ok);
      expect(openApiSecurity(router, { scheme: oauth2 }).paths).to.deep.equal({ '/m': { get: alternatives(['read']), post: alternatives(['write']) } });
    });

    it('leaves out unguarded routes and RegExp routes', () => {
      const router = new Router();
      router.get('/open', ok);
      router.get(/^\/files\/.*/, requireScopes('read'), ok);
      expect(openApiSecurity(router, { scheme: oauth2 }).paths).to.deep.equal({});
    });

    it('follows a route change: another guard, another security', () => {
      const build = (guard: Guard) => {
        const router = new Router();
        router.get('/messages', guard, ok);
        return openApiSecurity(router, { scheme: oauth2 });
      };
      expect(build(requireScopes('read')).paths['/messages']?.get).to.deep.equal(alternatives(['read']));
      expect(build(requireScopes('write')).paths['/messages']?.get).to.deep.equal(alternatives(['write']));
      expect(build(requireScopes('read')).components.securitySchemes['oauth2']).to.have.nested.property('flows.clientCredentials.scopes').that.deep.equals({ read: '' });
    });

    it('accepts describeRoutes() output as well as a router', () => {
      const router = new Router();
      router.get('/m', requireScopes('read'), ok);
      expect(openApiSecurity(describeRoutes(router), { scheme: 'bearer' })).to.deep.equal(openApiSecurity(router, { scheme: 'bearer' }));
    });
  });

  describe('the scheme', () => {
    const router = new Router();
    router.get('/m', requireScopes('read'), ok);
    router.get('/admin', anyOf(requireScopes('admin'), requireClaim('role', 'owner')), ok);

    it("'bearer' → an http bearer scheme with bearerFormat JWT named bearerAuth, listing scopes as roles", () => {
      const fragment = openApiSecurity(router, { scheme: 'bearer' });
      expect(fragment.components.securitySchemes).to.deep.equal({ bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } });
      expect(fragment.paths['/m']?.get?.security).to.deep.equal([{ bearerAuth: ['read'] }]);
    });

    it('oauth2 without scopes → its flows list every scope the routes use', () => {
      const fragment = openApiSecurity(router, { scheme: { ...oauth2, name: 'auth', description: 'Our server' } });
      expect(fragment.components.securitySchemes).to.deep.equal({
        auth: { type: 'oauth2', description: 'Our server', flows: { clientCredentials: { tokenUrl: 'https://auth.example.com/oauth/token', scopes: { read: '', admin: '' } } } },
      });
      expect(fragment.paths['/m']?.get?.security).to.deep.equal([{ auth: ['read'] }]);
    });

    it('oauth2 with scopes → kept, and a ConfigurationError when one the routes use is missing', () => {
      const flows = { authorizationCode: { authorizationUrl: 'https://auth.example.com/authorize', tokenUrl: 'https://auth.example.com/token', scopes: { read: 'Read', admin: 'Everything', other: 'More' } } };
      expect(openApiSecurity(router, { scheme: { type: 'oauth2', flows } }).components.securitySchemes).to.deep.equal({ oauth2: { type: 'oauth2', flows } });
      const partial = { authorizationCode: { ...flows.authorizationCode, scopes: { read: 'Read' } } };
      expect(() => openApiSecurity(router, { scheme: { type: 'oauth2', flows: partial } })).to.throw(ConfigurationError, /authorizationCode flow's scopes lack "admin"/);
    });

    it('openIdConnect → the discovery URL', () => {
      const scheme = { type: 'openIdConnect', openIdConnectUrl: 'https://auth.example.com/.well-known/openid-configuration' } as const;
      expect(openApiSecurity(router, { scheme }).components.securitySchemes).to.deep.equal({ openIdConnect: scheme });
    });

    it('throws a ConfigurationError for a missing or unknown scheme, oauth2 without flows, a bad openIdConnectUrl', () => {
      const bad: unknown[] = [undefined, 'basic', { type: 'apiKey' }, { type: 'oauth2', flows: {} }, { type: 'openIdConnect', openIdConnectUrl: 'not a url' }, { type: 'http', scheme: 'basic' }, { type: 'http', scheme: 'bearer', name: '' }];
      for (const scheme of bad) expect(() => openApiSecurity(router, { scheme } as never), JSON.stringify(scheme)).to.throw(ConfigurationError);
    });
  });

  describe('merged into a generated document', () => {
    const messages = defineScopes({ 'messages:admin': ['messages:read', 'messages:write'], 'messages:read': [], 'messages:write': [] });
    const router = new Router({ prefix: '/orgs/:orgId' });
    router.get('/health', publicRoute(), ok);
    router.get('/me', requireToken(), ok);
    router.get('/messages', messages.requireScopes('messages:read'), ok);
    router.post('/messages', allOf(messages.requireScopes('messages:write'), requireClaim('org_id', (org, _claims, ctx) => org === ctx.params.orgId)), ok);
    router.delete('/messages/:id', anyOf(messages.requireScopes('messages:admin'), requireClaim('role', 'owner')), ok);
    router.put('/messages/:id', allOf(anyOf(requireScopes('a'), requireScopes('b')), requireScopes(['c', 'd'], { match: 'any' }), requireAudience('https://api.example.com')), ok);
    const generated = generatedDocument({
      '/orgs/{orgId}/health': ['get'],
      '/orgs/{orgId}/me': ['get'],
      '/orgs/{orgId}/messages': ['get', 'post'],
      '/orgs/{orgId}/messages/{id}': ['delete', 'put'],
    });

    for (const scheme of ['bearer', oauth2, { type: 'openIdConnect', openIdConnectUrl: 'https://auth.example.com/.well-known/openid-configuration' }] as const) {
      it(`is valid OpenAPI 3.1 with the ${typeof scheme === 'string' ? scheme : scheme.type} scheme`, async () => {
        await expectValid(merge(generated, openApiSecurity(router, { scheme })));
      });
    }

    it('still fails validation when broken, so the validator is really checking', async () => {
      const broken = merge(generated, openApiSecurity(router, { scheme: 'bearer' }));
      (broken.paths['/orgs/{orgId}/me']!['get'] as { security: unknown }).security = [{ bearerAuth: 'read' }];
      await expectValid(broken).then(() => expect.fail('validated'), (error: Error) => expect(error.message).to.include('must be array'));
    });
  });
});
