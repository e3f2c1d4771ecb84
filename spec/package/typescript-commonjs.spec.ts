// TypeScript projects that compile to CommonJS type-check against the packed package with the project's
// own compiler, for the root and every subpath, and the require() calls they emit run.
import { expect } from 'chai';
import { join } from 'node:path';
import { packedConsumer, root, type Consumer } from './support.js';

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

// Every way a CommonJS file names the package: `import = require()`, named imports (emitted as require()),
// type-only imports; something from each subpath is used, so a type that fails to resolve is an error.
const SOURCE = `
import guard = require('koa-token-guard');
import kit = require('koa-token-guard/testing');
import { authenticate, requireScopes, type AuthenticateOptions } from 'koa-token-guard';
import { createTestIssuer, type TestIssuer } from 'koa-token-guard/testing';
import { redisStore } from 'koa-token-guard/redis';
import type { Middleware } from 'koa';

const options: AuthenticateOptions = { issuer: 'https://issuer.example', audience: 'api' };
const middleware: Middleware = authenticate(options);
const scoped: Middleware = requireScopes('read');
const make: () => Promise<TestIssuer> = () => createTestIssuer();
const checked: boolean = guard.authenticate === authenticate && kit.createTestIssuer === createTestIssuer;
// @ts-expect-error the options are typed: a number is no issuer (never called)
export const typed = (): unknown => guard.authenticate({ issuer: 1 });
console.log(JSON.stringify([typeof middleware, typeof scoped, typeof make, checked, typeof redisStore]));
`;

// skipLibCheck as most projects have it: checking @types/node and friends too costs ~10 s of CPU per run.
const compilerOptions = { strict: true, exactOptionalPropertyTypes: true, skipLibCheck: true, types: ['node'], esModuleInterop: true };

interface Outcome { tsc: string; outputs: string[] }

/** Compiles `files` (each holding SOURCE) in a project of their own, then runs what tsc emitted. */
async function compileAndRun(consumer: Consumer, name: string, options: Record<string, unknown>, files: string[]): Promise<Outcome> {
  for (const file of files) consumer.write(`${name}/${file}`, SOURCE);
  consumer.write(`${name}/tsconfig.json`, JSON.stringify({ compilerOptions: { ...compilerOptions, ...options, outDir: 'out' }, files }));
  const compiled = await consumer.run([tsc, '-p', `${name}/tsconfig.json`]);
  const outputs: string[] = [];
  for (const file of compiled.code === 0 ? files : []) {
    const ran = await consumer.run([join(name, 'out', file.replace(/\.cts$/, '.cjs').replace(/\.ts$/, '.js'))]);
    outputs.push(ran.stdout.trim() + ran.stderr);
  }
  return { tsc: compiled.stdout + compiled.stderr, outputs };
}

describe('package: TypeScript CommonJS consumers of the packed tarball', function () {
  this.timeout(120_000);
  const expected = JSON.stringify(['function', 'function', 'function', true, 'function']);
  // Both compilers at once (each is ~3 s of CPU, most of it @types/node); the its read the outcomes.
  let nodenext: Promise<Outcome>;
  let node10: Promise<Outcome>;
  before(async () => {
    const consumer = await packedConsumer();
    // A .cts file, and a .ts file in a package without "type": "module": both CommonJS.
    nodenext = compileAndRun(consumer, 'nodenext', { module: 'nodenext' }, ['consumer.cts', 'consumer.ts']);
    // TypeScript 6 deprecates node10 and 7 removes it; TypeScript 5 projects with module commonjs still default to it.
    node10 = compileAndRun(consumer, 'node10', { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' }, ['consumer.ts']);
    await Promise.allSettled([nodenext, node10]);
  });

  it('type-checks a .cts file and a .ts file of a CommonJS package under module nodenext, and the require()s tsc emits run', async () => {
    expect(await nodenext).to.deep.equal({ tsc: '', outputs: [expected, expected] });
  });

  it('type-checks the classic setup too (module commonjs, moduleResolution node10, which ignores exports) for every subpath', async () => {
    expect(await node10).to.deep.equal({ tsc: '', outputs: [expected] });
  });
});
