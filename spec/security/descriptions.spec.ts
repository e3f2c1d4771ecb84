import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeySourceUnavailableError, MissingCredentialsError } from '../../lib/index.js';
import { ERROR_DESCRIPTIONS } from './support.js';

const LIB = new URL('../../lib/', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []);
}

// The request-time errors whose description is their second constructor argument.
const DESCRIBED = new Set(['InvalidRequestError', 'InvalidTokenError', 'InsufficientScopeError']);
const FIXED = new Set(['MissingCredentialsError', 'KeySourceUnavailableError']);

/** The description of each `new XxxError(…)` in lib/: a literal, or a template literal turned into a pattern. */
function emittedDescriptions(): { literal: string[]; templates: RegExp[]; nonLiteral: string[] } {
  const literal: string[] = [];
  const templates: RegExp[] = [];
  const nonLiteral: string[] = [];
  for (const file of sources(LIB)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/new (\w+Error)\(/g)) {
      const name = match[1]!;
      const args = text.slice(match.index + match[0].length);
      if (FIXED.has(name)) {
        // MissingCredentialsError's description is its default; an argument would be a new phrase.
        if (name === 'MissingCredentialsError' && !args.startsWith(')')) nonLiteral.push(`${file}: ${name}(${args.slice(0, 40)}`);
        continue;
      }
      if (!DESCRIBED.has(name)) continue; // not a request-time AuthError (TypeError, KeySourceError, ConfigurationError…)
      const found = /^[^,]+,\s*(['`])((?:(?!\1).)*)\1/s.exec(args);
      if (found === null) {
        nonLiteral.push(`${file}: ${args.slice(0, 60)}`);
      } else if (found[1] === '`') {
        const escaped = found[2]!.split(/\$\{[^}]*\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
        templates.push(new RegExp(`^${escaped.join('[a-z_]+')}$`));
      } else {
        literal.push(found[2]!);
      }
    }
  }
  return { literal, templates, nonLiteral };
}

describe('security: every error_description is one of a fixed set of phrases (RFC 6750 3, RFC 8725 3.10)', () => {
  const { literal, templates, nonLiteral } = emittedDescriptions();

  it('finds only literal descriptions in lib/ (nothing computed from the request)', () => {
    expect(literal.length).to.be.greaterThan(20);
    expect(nonLiteral).to.deep.equal([]);
  });

  it('knows every description lib/ can emit', () => {
    const fixed = [new MissingCredentialsError().description, new KeySourceUnavailableError(1).description];
    expect([...literal, ...fixed].filter((d) => !ERROR_DESCRIPTIONS.has(d))).to.deep.equal([]);
    for (const template of templates) expect([...ERROR_DESCRIPTIONS].some((d) => template.test(d)), String(template)).to.equal(true);
  });

  it('lists no phrase lib/ never emits', () => {
    const fixed = new Set([...literal, new MissingCredentialsError().description, new KeySourceUnavailableError(1).description]);
    const unused = [...ERROR_DESCRIPTIONS].filter((d) => !fixed.has(d) && !templates.some((t) => t.test(d)));
    expect(unused).to.deep.equal([]);
  });

  it('keeps every phrase inside the RFC 6750 quoted-string character set, short and free of quotes', () => {
    for (const d of ERROR_DESCRIPTIONS) expect(d, d).to.match(/^[a-zA-Z_ ]{1,64}$/);
  });
});
