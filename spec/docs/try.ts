import { documentationFiles, read, typeScriptSnippets } from '/work/wt-docs/spec/support/markdown.js';
import { compileSnippets } from '/work/wt-docs/spec/support/snippets.js';
import { readFileSync } from 'node:fs';
const snippets = documentationFiles().flatMap((f) => typeScriptSnippets(f, read(f))).filter((s) => s.notCompiled === undefined);
const prelude = process.argv[2] ? readFileSync(process.argv[2], 'utf8') : 'export {};';
const t = Date.now();
const d = compileSnippets(snippets, prelude, { 'src/app.ts': "import type Koa from 'koa';\nexport declare function createApp(options: { issuer: string | string[]; audience: string; introspection?: import('koa-token-guard').IntrospectionOptions }): Koa;\n" });
console.log(snippets.length, 'snippets', Date.now() - t, 'ms');
for (const x of d) console.log(`${x.file}:${x.line} TS${x.code} ${x.message.slice(0, 160)}`);
