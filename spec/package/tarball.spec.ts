// What `npm pack` ships: the built modules with their types, the TypeScript sources their source maps and
// declaration maps name (so stack traces and "go to definition" land in real files), the licence and docs;
// nothing of the repository's specs, benchmarks, examples or build state.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { packedConsumer, type Consumer } from './support.js';

const DOCS = ['CHANGELOG.md', 'LICENSE', 'README.md', 'SECURITY.md', 'package.json'];
// 363.5 kB packed when this was written (253.5 kB before lib/ and the declaration maps): room to grow, not to double.
const MAX_PACKED_BYTES = 450_000;

describe('package: the tarball', function () {
  this.timeout(90_000);
  let consumer: Consumer;
  let paths: string[];
  let packageDir: string;
  before(async () => {
    consumer = await packedConsumer();
    paths = consumer.pack.files.map((file) => file.path).sort();
    packageDir = join(consumer.dir, 'node_modules', 'koa-token-guard');
  });

  it('lists the built modules, their sources and the docs, and nothing else', () => {
    expect(paths.filter((path) => !/^(dist|lib)\//.test(path))).to.deep.equal(DOCS);
    expect(paths.filter((path) => /(^|\/)(spec|bench|examples|scripts)\/|\.spec\.|tsbuildinfo/.test(path))).to.deep.equal([]);
    const sources = paths.filter((path) => path.startsWith('lib/'));
    expect(sources.every((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).to.equal(true);
    // Every module ships its JavaScript, types and both maps; no output is left over from a deleted module.
    const expected = sources.flatMap((path) => ['.js', '.js.map', '.d.ts', '.d.ts.map']
      .map((extension) => path.replace(/^lib\//, 'dist/').replace(/\.ts$/, extension)));
    expect(paths.filter((path) => path.startsWith('dist/'))).to.deep.equal(expected.sort());
    expect(sources).to.include.members(['lib/index.ts', 'lib/testing/index.ts', 'lib/redis.ts', 'lib/opentelemetry/index.ts']);
  });

  it(`packs to under ${MAX_PACKED_BYTES / 1000} kB`, () => {
    expect(consumer.pack.size).to.be.below(MAX_PACKED_BYTES);
    expect(consumer.pack.entryCount).to.equal(paths.length);
  });

  it('carries an MIT licence, as package.json says', () => {
    const licence = readFileSync(join(packageDir, 'LICENSE'), 'utf8');
    expect(licence).to.match(/^MIT License\n\nCopyright \(c\) 2026 koa-token-guard contributors\n/);
    expect(licence).to.include('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
    expect((JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { license: string }).license).to.equal('MIT');
  });

  it('has every source map and declaration map name sources that are in the tarball', () => {
    const maps = paths.filter((path) => path.endsWith('.map'));
    expect(maps.length).to.be.above(100);
    const missing = maps.flatMap((map) => {
      const { sources, sourceRoot = '' } = JSON.parse(readFileSync(join(packageDir, map), 'utf8')) as { sources: string[]; sourceRoot?: string };
      return sources.map((source) => posix.normalize(posix.join(posix.dirname(map), sourceRoot, source))).filter((path) => !paths.includes(path));
    });
    expect(missing).to.deep.equal([]);
  });

  it('gives stack traces under --enable-source-maps that name a shipped lib/ file and the line that threw', async () => {
    consumer.write('throws.cjs', `
try { require('koa-token-guard').authenticate({ audience: 'api' }); } catch (error) { console.log(error.name + '\\n' + error.stack); }`);
    const child = await consumer.run(['--enable-source-maps', 'throws.cjs']);
    const [name, ...stack] = child.stdout.trim().split('\n');
    expect(name).to.equal('ConfigurationError');
    const frames = stack.map((line) => /\((.*koa-token-guard\/[^)]*):(\d+):\d+\)$/.exec(line)).filter((match) => match !== null);
    expect(frames.length).to.be.above(0);
    const [, file, line] = frames[0]!;
    expect(file).to.match(/node_modules\/koa-token-guard\/lib\/.*\.ts$/);
    expect(existsSync(file!)).to.equal(true);
    expect(readFileSync(file!, 'utf8').split('\n')[Number(line) - 1]).to.match(/ConfigurationError|throw/);
    expect(dirname(file!)).to.not.include('/dist');
  });
});
