// Every TypeScript snippet of README.md and docs/ compiles against the package's own sources under the
// project's strict settings, so the documentation cannot drift from the API. A snippet that is
// deliberately a fragment says so (`<!-- not compiled: reason -->` before it) and is listed here.
import { expect } from 'chai';
import { documentationFiles, read, typeScriptSnippets } from '../support/markdown.js';
import { compileSnippets, compilerOptions, type SnippetDiagnostic } from '../support/snippets.js';
import { PRELUDE, VIRTUAL_FILES } from './prelude.js';

describe('documentation snippets', () => {
  const snippets = documentationFiles().flatMap((file) => typeScriptSnippets(file, read(file)));
  const compiled = snippets.filter((snippet) => snippet.notCompiled === undefined);
  let diagnostics: SnippetDiagnostic[];

  before(function () {
    this.timeout(120_000); // one program for all snippets: a few seconds, more on a loaded machine
    diagnostics = compileSnippets(compiled, PRELUDE, VIRTUAL_FILES);
  });

  it('finds the TypeScript snippets of README.md and of every page', () => {
    expect(compiled.length).to.be.at.least(30);
    expect(compiled.filter((snippet) => snippet.file === 'README.md').length).to.equal(2);
  });

  it('compiles under strict, noUncheckedIndexedAccess and exactOptionalPropertyTypes, module nodenext', () => {
    const options = compilerOptions();
    expect([options.strict, options.noUncheckedIndexedAccess, options.exactOptionalPropertyTypes]).to.deep.equal([true, true, true]);
    expect(options.module).to.equal(199); // ts.ModuleKind.NodeNext
  });

  it('type-checks every snippet, koa-token-guard and its subpaths resolved to the sources', () => {
    expect(diagnostics.map((d) => `${d.file}:${d.line} TS${d.code} ${d.message}`)).to.deep.equal([]);
  });

  it('skips only the fragments marked not compiled, each with its reason', () => {
    const skipped = snippets.filter((snippet) => snippet.notCompiled !== undefined);
    expect(skipped.every((snippet) => snippet.notCompiled!.length > 0)).to.equal(true);
    expect(skipped.map((snippet) => `${snippet.file}: ${snippet.notCompiled}`)).to.deep.equal([
      "docs/guards.md: it augments koa for the whole program, which would retype every other snippet's app",
    ]);
  });
});
