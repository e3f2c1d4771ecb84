import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { insufficientScope } from '../../lib/guards/scopes.js';
import { DpopKeyQuotaError, DpopReplayUnavailableError, IntrospectionUnavailableError, KeySourceUnavailableError, UseDpopNonceError, MissingCredentialsError, UnknownUserError, UserInfoUnavailableError } from '../../lib/index.js';
import { CONFIGURED_DESCRIPTIONS, ERROR_DESCRIPTIONS } from './support.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const LIB = join(ROOT, 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []);
}

// Request-time errors whose description is their second constructor argument.
const DESCRIBED = new Set(['InvalidRequestError', 'InvalidTokenError', 'InsufficientScopeError', 'InvalidDpopProofError']);
// Request-time errors with one fixed description, set in lib/errors.ts.
const FIXED = [new MissingCredentialsError(), new KeySourceUnavailableError(1), new UnknownUserError(401), new UserInfoUnavailableError(1), new IntrospectionUnavailableError(1), new UseDpopNonceError('n'), new UseDpopNonceError('n', true), new DpopReplayUnavailableError(1), new DpopKeyQuotaError(1)];
// The descriptions passed as a variable: built from the scopes a route requires (configuration), and an
// introspection refusal remembered by the cache, replayed as a fresh error (one of response.ts's literals).
const COMPUTED = new Set(['lib/guards/scopes.ts: description', 'lib/introspection/introspect.ts: description']);

/** The description of each `new XxxError(…)` in lib/: a literal, or a template literal turned into a pattern. */
function emittedDescriptions(): { literal: string[]; templates: string[]; unexplained: string[] } {
  const literal: string[] = [];
  const templates: string[] = [];
  const unexplained: string[] = [];
  for (const file of sources(LIB)) {
    const text = readFileSync(file, 'utf8');
    const where = relative(ROOT, file);
    for (const match of text.matchAll(/new (\w+Error)\(/g)) {
      const name = match[1]!;
      const args = text.slice(match.index + match[0].length);
      // MissingCredentialsError's description is its default; an argument would be a new phrase.
      if (name === 'MissingCredentialsError' && !args.startsWith(')')) unexplained.push(`${where}: ${name}(${args.slice(0, 40)}`);
      if (!DESCRIBED.has(name)) continue; // fixed or not request-time (TypeError, KeySourceError, ConfigurationError…)
      const found = /^[^,]+,\s*(?:(['`])((?:(?!\1).)*)\1|(\w+)\s*[,)])/s.exec(args);
      if (found?.[3] !== undefined && COMPUTED.has(`${where}: ${found[3]}`)) continue;
      if (found === null || found[1] === undefined) unexplained.push(`${where}: ${name}(${args.slice(0, 60)}`);
      else if (found[1] === '`') templates.push(found[2]!.replace(/\$\{[^}]*\}/g, '{}'));
      else literal.push(found[2]!);
    }
  }
  return { literal, templates, unexplained };
}

/** A template's text with each placeholder ("{}") standing for any non-empty text. */
const templatePattern = (t: string): RegExp => new RegExp(`^${t.split('{}').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`);
const known = (d: string): boolean => ERROR_DESCRIPTIONS.has(d) || CONFIGURED_DESCRIPTIONS.some((pattern) => pattern.test(d));

describe('security: every error_description is one of a fixed set of phrases (RFC 6750 3, RFC 8725 3.10)', () => {
  const { literal, templates, unexplained } = emittedDescriptions();
  const fixed = FIXED.map((e) => e.description);

  it('finds only literal descriptions in lib/, or ones built from configuration (nothing from the request)', () => {
    expect(literal.length).to.be.greaterThan(20);
    expect(unexplained).to.deep.equal([]);
  });

  it('knows every description lib/ can emit', () => {
    expect([...literal, ...fixed].filter((d) => !known(d))).to.deep.equal([]);
    // A template (placeholders written "{}") must be a configured shape or produce only listed phrases.
    expect(templates.filter((t) => !known(t) && ![...ERROR_DESCRIPTIONS].some((phrase) => templatePattern(t).test(phrase)))).to.deep.equal([]);
    for (const [scopes, match] of [[['read'], 'all'], [['read', 'write'], 'all'], [['read', 'write'], 'any']] as const) {
      expect(known(insufficientScope(scopes, match).description), scopes.join()).to.equal(true);
    }
  });

  it('lists no phrase lib/ never emits', () => {
    const emitted = new Set([...literal, ...fixed]);
    expect([...ERROR_DESCRIPTIONS].filter((d) => !emitted.has(d) && !templates.some((t) => templatePattern(t).test(d)))).to.deep.equal([]);
  });

  it('keeps every fixed phrase inside the RFC 6750 quoted-string character set, short and free of quotes', () => {
    for (const d of ERROR_DESCRIPTIONS) expect(d, d).to.match(/^[a-zA-Z_ ]{1,64}$/);
  });
});
