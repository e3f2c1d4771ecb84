// The examples are meant to be copied into a user's app: they import the package by its name (resolved
// to lib/ through tsconfig's `paths` here, through its exports in an installed copy), never a path into it.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/markdown.js';

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('examples', () => {
  const files = sources('examples');
  const imports = files.flatMap((file) =>
    [...readFileSync(join(ROOT, file), 'utf8').matchAll(/\bfrom\s+'([^']+)'/g)].map((match) => ({ file, specifier: match[1]! })));

  it('import koa-token-guard and its subpaths by name, never a path into lib/', () => {
    expect(imports.filter(({ specifier }) => /(^|\/)lib\//.test(specifier)).map(({ file, specifier }) => `${file}: ${specifier}`)).to.deep.equal([]);
    expect(imports.filter(({ specifier }) => specifier === 'koa-token-guard').length).to.be.at.least(6);
  });
});
