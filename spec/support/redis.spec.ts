import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisPlan } from './redis.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = fileURLToPath(new URL('fixtures/needs-redis.ts', import.meta.url));
const mocha = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');

/** The fixture's suites in a child mocha whose PATH has node and nothing else (so no redis-server). */
async function runWithoutRedis(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const bin = await mkdtemp(path.join(tmpdir(), 'no-redis-'));
  try {
    await symlink(process.execPath, path.join(bin, 'node'));
    const child = spawn(process.execPath, [mocha, '--no-config', '-n', 'import=tsx', '--reporter', 'dot', fixture], {
      cwd: root, env: { ...process.env, ...env, PATH: bin }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, output };
  } finally {
    await rm(bin, { recursive: true, force: true });
  }
}

describe('spec support: suites that need redis-server', function () {
  this.timeout(30_000);

  it('run where redis-server is installed, are skipped without it, and fail without it in CI', () => {
    expect(redisPlan(true, {})).to.equal('run');
    expect(redisPlan(true, { CI: 'true' })).to.equal('run');
    expect(redisPlan(false, {})).to.equal('skip');
    expect(redisPlan(false, { CI: '' })).to.equal('skip');
    expect(redisPlan(false, { CI: 'false' })).to.equal('skip');
    expect(redisPlan(false, { CI: 'true' })).to.equal('fail');
    expect(redisPlan(false, { CI: '1' })).to.equal('fail');
  });

  it('without redis-server: skipped with the reason printed once, no after-all errors, exit 0', async () => {
    const { code, output } = await runWithoutRedis({ CI: '' });
    expect(output.match(/redis-server is not installed/g), output).to.have.length(1);
    expect(output).to.include('(.ci/run installs it)');
    expect(output).to.match(/2 pending/);
    expect(output).not.to.match(/failing|TypeError/);
    expect(code, output).to.equal(0);
  });

  it('without redis-server in CI: fails, so CI cannot pass by skipping the Redis specs', async () => {
    const { code, output } = await runWithoutRedis({ CI: 'true' });
    expect(output).to.match(/2 failing/);
    expect(output).to.include('redis-server is not installed');
    expect(output).not.to.include('TypeError');
    expect(code, output).to.equal(2);
  });
});
