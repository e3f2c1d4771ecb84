// RFC 9470 step-up authentication: acr and auth_time requirements, the insufficient_user_authentication challenge.
import { expect } from 'chai';
import Router from '@koa/router';
import nock from 'nock';
import { install } from '@sinonjs/fake-timers';
import {
  allOf, anyOf, AUTH_CONTEXT, ConfigurationError, describeRoutes, InsufficientUserAuthenticationError, requireAuthLevel, requireClaim,
  requireScopes, type AuthError, type Guard,
} from '../../lib/index.js';
import { fakeProvider } from '../support/provider.js';
import { authenticatedContext, guardedApp, insufficient } from './support.js';

const MFA = 'urn:example:mfa';
const NOW = 1_800_000_000;

function refusal(guard: Guard, claims: Record<string, unknown>, clockTolerance?: number): AuthError | undefined {
  const ctx = authenticatedContext({ sub: 'u', ...claims });
  if (clockTolerance !== undefined) ctx.state[AUTH_CONTEXT] = { realm: 'api', clockTolerance };
  return guard.check(ctx) as AuthError | undefined;
}

describe('guards/requireAuthLevel (RFC 9470)', () => {
  let clock: ReturnType<typeof install>;
  beforeEach(() => {
    clock = install({ now: NOW * 1000, toFake: ['Date'] });
  });
  afterEach(() => clock.uninstall());

  describe('acr', () => {
    const guard = requireAuthLevel({ acr: [MFA, 'urn:example:hardware-key'] });

    it('passes a token whose acr is one of those listed', () => {
      expect(refusal(guard, { acr: MFA })).to.equal(undefined);
      expect(refusal(guard, { acr: 'urn:example:hardware-key' })).to.equal(undefined);
    });

    it('refuses another, a missing or a non-string acr with 401 insufficient_user_authentication', () => {
      for (const acr of ['urn:example:password', undefined, [MFA], 1]) {
        const error = refusal(guard, acr === undefined ? {} : { acr });
        expect(error, String(acr)).to.be.instanceOf(InsufficientUserAuthenticationError);
        expect([error!.status, error!.code, error!.error, error!.message])
          .to.deep.equal([401, 'insufficient_user_authentication', 'insufficient_user_authentication', 'authentication level not sufficient']);
        expect(error!.headers['WWW-Authenticate']).to.equal(
          `Bearer realm="api", error="insufficient_user_authentication", error_description="authentication level not sufficient", acr_values="${MFA} urn:example:hardware-key"`,
        );
      }
    });
  });

  describe('maxAge', () => {
    const guard = requireAuthLevel({ maxAge: 300 });

    it('passes an auth_time no older than maxAge plus the clockTolerance of authenticate()', () => {
      expect(refusal(guard, { auth_time: NOW - 10 })).to.equal(undefined);
      expect(refusal(guard, { auth_time: NOW - 305 })).to.equal(undefined); // default clockTolerance 5
      expect(refusal(guard, { auth_time: NOW - 360 }, 60)).to.equal(undefined);
    });

    it('refuses an older one, with max_age in the challenge', () => {
      for (const [age, tolerance] of [[306, undefined], [361, 60], [100_000, 0]] as const) {
        const error = refusal(guard, { auth_time: NOW - age }, tolerance);
        expect(error?.message, String(age)).to.equal('authentication too old');
        expect(error!.headers['WWW-Authenticate']).to.equal('Bearer realm="api", error="insufficient_user_authentication", error_description="authentication too old", max_age="300"');
      }
    });

    it('refuses an auth_time in the future beyond the clockTolerance, which would pass maxAge for the life of the token', () => {
      expect(refusal(guard, { auth_time: NOW + 5 })).to.equal(undefined);
      for (const [ahead, tolerance] of [[60, undefined], [3600, undefined], [61, 60], [1, 0]] as const) {
        const error = refusal(guard, { auth_time: NOW + ahead + 1 }, tolerance);
        expect([error?.status, error?.message], String(ahead)).to.deep.equal([401, 'time of authentication in the future']);
      }
    });

    it('refuses a token without a numeric auth_time, or with one no date can be (Infinity from 1e400, negative)', () => {
      for (const authTime of [undefined, String(NOW), null, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, 1e20]) {
        const error = refusal(guard, authTime === undefined ? {} : { auth_time: authTime });
        expect([error?.status, error?.message], String(authTime)).to.deep.equal([401, 'time of authentication unknown']);
      }
    });
  });

  it('with both, answers the exact RFC 9470 challenge over HTTP and never runs the handler', async () => {
    const provider = await fakeProvider({ audience: 'https://api.example.com' });
    try {
      const guarded = guardedApp(provider, [requireAuthLevel({ acr: [MFA], maxAge: 300 })]);
      const weak = await guarded.get(await provider.sign({ acr: 'urn:example:password', auth_time: NOW - 10 }));
      expect([weak.status, weak.headers['www-authenticate']]).to.deep.equal([
        401, `Bearer realm="api", error="insufficient_user_authentication", error_description="authentication level not sufficient", acr_values="${MFA}", max_age="300"`,
      ]);
      const old = await guarded.get(await provider.sign({ acr: MFA, auth_time: NOW - 3600 }));
      expect([old.status, old.headers['www-authenticate']]).to.deep.equal([
        401, `Bearer realm="api", error="insufficient_user_authentication", error_description="authentication too old", acr_values="${MFA}", max_age="300"`,
      ]);
      expect(guarded.runs()).to.equal(0);
      expect((await guarded.get(await provider.sign({ acr: MFA, auth_time: NOW - 10 }))).status).to.equal(200);
      expect(guarded.runs()).to.equal(1);
    } finally {
      nock.cleanAll();
    }
  });

  describe('composition', () => {
    const stepUp = requireAuthLevel({ acr: [MFA] });

    it('anyOf: answers with the first actionable refusal in guard order, a scope 403 or a step-up 401', () => {
      const scopeFirst = refusal(anyOf(requireScopes('messages:admin'), stepUp), { acr: 'pwd' });
      expect([scopeFirst?.status, scopeFirst?.code]).to.deep.equal([403, 'insufficient_scope']);
      const stepUpFirst = refusal(anyOf(stepUp, requireScopes('messages:admin')), { acr: 'pwd' });
      expect([stepUpFirst?.status, stepUpFirst?.code]).to.deep.equal([401, 'insufficient_user_authentication']);
    });

    it('anyOf: prefers the step-up to a claim 403 the client cannot act on', () => {
      const error = refusal(anyOf(requireClaim('role', 'owner'), stepUp), { acr: 'pwd', role: 'guest' });
      expect(error?.headers['WWW-Authenticate']).to.equal(`Bearer realm="api", error="insufficient_user_authentication", error_description="authentication level not sufficient", acr_values="${MFA}"`);
      expect(refusal(anyOf(requireClaim('role', 'owner'), stepUp), { acr: MFA })).to.equal(undefined);
    });

    it('allOf: passes only with both, and answers the step-up once the scopes are there', () => {
      const both = allOf(requireScopes('messages:admin'), stepUp);
      expect(refusal(both, { acr: 'pwd' })?.headers['WWW-Authenticate']).to.equal(insufficient('requires scope messages:admin', 'messages:admin'));
      const ctx = authenticatedContext({ sub: 'u', acr: 'pwd' }, ['messages:admin']);
      expect((both.check(ctx) as AuthError | undefined)?.code).to.equal('insufficient_user_authentication');
      expect(both.check(authenticatedContext({ sub: 'u', acr: MFA }, ['messages:admin']))).to.equal(undefined);
    });
  });

  it('describeRoutes shows { kind: "authLevel", acr, maxAge }, leaving out what is not required', () => {
    const router = new Router();
    router.post('/transfers', requireAuthLevel({ acr: MFA, maxAge: 300 }), () => undefined);
    router.get('/recent', anyOf(requireScopes('admin'), requireAuthLevel({ maxAge: 60 })), () => undefined);
    expect(describeRoutes(router).map((r) => r.requirements)).to.deep.equal([
      [{ kind: 'authLevel', acr: [MFA], maxAge: 300 }],
      [{ kind: 'anyOf', requirements: [{ kind: 'scopes', scopes: ['admin'], match: 'all' }, { kind: 'authLevel', maxAge: 60 }] }],
    ]);
  });

  it('refuses bad options at startup', () => {
    const cases: [unknown, RegExp][] = [
      [{}, /needs `acr`, `maxAge` or both/],
      [{ acr: [] }, /`acr` must be one or more acr values/],
      [{ acr: ['two words'] }, /without spaces, quotes or backslashes/],
      [{ acr: 'a"b' }, /without spaces, quotes or backslashes/],
      [{ maxAge: -1 }, /`maxAge` must be a whole number of seconds/],
      [{ maxAge: 1.5 }, /`maxAge` must be a whole number of seconds/],
    ];
    for (const [options, message] of cases) {
      expect(() => requireAuthLevel(options as Parameters<typeof requireAuthLevel>[0])).to.throw(ConfigurationError, message);
    }
  });
});
