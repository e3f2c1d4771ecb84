// Type-checks the documentation's TypeScript snippets in one in-process program: each snippet a module
// of its own (so top-level names never collide), the package's specifiers resolved to its sources
// through the root tsconfig's `paths`, under the root tsconfig's strict settings.
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT, type Snippet } from './markdown.js';

/** Where the snippets live, virtually: a relative import in a snippet (`../src/app.js`) lands in here. */
const VIRTUAL = join(ROOT, '.snippets');
const PRELUDE = join(VIRTUAL, 'prelude.d.ts');

export interface SnippetDiagnostic { file: string; line: number; code: number; message: string }

export function compilerOptions(): ts.CompilerOptions {
  const path = join(ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(path, (file) => ts.sys.readFile(file));
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT, undefined, path);
  return {
    ...options,
    // The package's third subpath, as its exports name it (tsconfig maps the other two).
    paths: { 'koa-token-guard/redis': ['./lib/redis.ts'], 'koa-token-guard/opentelemetry': ['./lib/opentelemetry/index.ts'], ...options.paths },
    // `mtls: { … }` alone is a label and a block, valid and meaningless: a snippet must be real code.
    allowUnusedLabels: false,
    noEmit: true,
    declaration: false,
    sourceMap: false,
  };
}

/** Compiles the snippets with the prelude (and any further virtual files) and returns every error. */
export function compileSnippets(snippets: Snippet[], prelude: string, virtualFiles: Record<string, string> = {}): SnippetDiagnostic[] {
  const options = compilerOptions();
  const files = new Map<string, { text: string; snippet?: Snippet }>([[PRELUDE, { text: prelude }]]);
  for (const [name, text] of Object.entries(virtualFiles)) files.set(join(VIRTUAL, name), { text });
  snippets.forEach((snippet, index) => {
    // A trailing `export {}` makes a snippet without imports a module, with its own scope.
    files.set(join(VIRTUAL, 'src', `snippet-${index}.ts`), { text: `${snippet.code}\nexport {};\n`, snippet });
  });
  const base = ts.createCompilerHost(options);
  const isVirtualDir = (dir: string): boolean => dir === VIRTUAL || dir.startsWith(`${VIRTUAL}/`);
  const host: ts.CompilerHost = {
    ...base,
    getSourceFile: (name, language, ...rest) => {
      const file = files.get(name);
      return file ? ts.createSourceFile(name, file.text, language, true) : base.getSourceFile(name, language, ...rest);
    },
    fileExists: (name) => files.has(name) || (!isVirtualDir(name) && base.fileExists(name)),
    readFile: (name) => files.get(name)?.text ?? (isVirtualDir(name) ? undefined : base.readFile(name)),
    directoryExists: (dir) => isVirtualDir(dir) || ts.sys.directoryExists(dir),
  };

  const program = ts.createProgram({ rootNames: [...files.keys()], options, host });
  const found: SnippetDiagnostic[] = [];
  for (const [name, { snippet }] of files) {
    const source = program.getSourceFile(name)!;
    for (const diagnostic of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
      const at = diagnostic.start === undefined ? 0 : source.getLineAndCharacterOfPosition(diagnostic.start).line;
      found.push({
        file: snippet?.file ?? name.slice(ROOT.length),
        line: (snippet?.line ?? 1) + at,
        code: diagnostic.code,
        message: ts.flattenDiagnosticMessageText(diagnostic.messageText, ' '),
      });
    }
  }
  return found;
}
