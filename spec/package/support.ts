// The package as a stranger gets it: `npm pack`ed, unpacked into a temporary project's node_modules, with
// only the packed package.json's dependencies and peer dependencies (plus the consumer's own tools) linked
// from ours. Nothing is downloaded: CI runs this after `npm ci`, offline is enough.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));

export interface PackedFile { path: string; size: number }
/** One entry of `npm pack --json`. */
export interface PackReport { filename: string; size: number; unpackedSize: number; entryCount: number; files: PackedFile[] }

export interface Consumer {
  /** The temporary project; the package is at `node_modules/koa-token-guard`. */
  dir: string;
  pack: PackReport;
  /** The packed package.json. */
  manifest: { exports: Record<string, unknown>; dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
  write(path: string, text: string): void;
  /** Runs `command` (node when omitted) with `args` in the project. */
  run(args: string[], command?: string): Promise<Run>;
}

export interface Run { code: number; stdout: string; stderr: string }

export function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function walk(dir: string, into: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, into);
    else into.push(path);
  }
  return into;
}

/**
 * Why `dist` may be stale: `npm ci` builds it (`prepare`), but a contributor edits lib/ and runs one spec.
 * Stale when a lib/ file or a tsconfig is newer than the oldest output, or a module has no output (or
 * an output no module): then one `npm run build` (which empties dist/ first), else no build at all.
 */
export function distIsStale(): boolean {
  let outputs: string[];
  try {
    outputs = walk(join(root, 'dist'));
  } catch {
    return true;
  }
  const sources = walk(join(root, 'lib')).filter((path) => path.endsWith('.ts'));
  const built = new Set(outputs.filter((path) => path.endsWith('.js')).map((path) => relative(join(root, 'dist'), path).replace(/\.js$/, '')));
  const modules = new Set(sources.map((path) => relative(join(root, 'lib'), path).replace(/\.ts$/, '')));
  if (built.size !== modules.size || [...modules].some((module) => !built.has(module))) return true;
  const oldestOutput = Math.min(...outputs.map((path) => statSync(path).mtimeMs));
  const inputs = [...sources, join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json')];
  return inputs.some((path) => statSync(path).mtimeMs > oldestOutput);
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

async function create(): Promise<Consumer> {
  if (distIsStale()) {
    const build = await run(npm, ['run', 'build'], root);
    if (build.code !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'koa-token-guard-consumer-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  // --ignore-scripts: `prepare` would rebuild on every run; the freshness check above decided already.
  const packed = await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root);
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  const pack = (JSON.parse(packed.stdout) as PackReport[])[0]!;
  const target = join(dir, 'node_modules', 'koa-token-guard');
  mkdirSync(target, { recursive: true });
  const unpacked = await run('tar', ['-xzf', join(dir, pack.filename), '-C', target, '--strip-components=1'], dir);
  if (unpacked.code !== 0) throw new Error(`tar failed:\n${unpacked.stderr}`);
  const manifest = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as Consumer['manifest'];
  // What the package declares, and what a user's project brings (types, the test runner): nothing else.
  const links = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {}), '@types', 'mocha', 'chai'];
  for (const name of new Set(links)) {
    const link = join(dir, 'node_modules', name);
    mkdirSync(join(link, '..'), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), link, 'junction');
  }
  // A CommonJS project: no "type": "module".
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  return {
    dir,
    pack,
    manifest,
    write: (path, text) => {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    },
    run: (args, command = process.execPath) => run(command, args, dir),
  };
}

let consumer: Promise<Consumer> | undefined;

/** One packed consumer project per mocha run, shared by the spec files that need it. */
export function packedConsumer(): Promise<Consumer> {
  consumer ??= create();
  return consumer;
}
