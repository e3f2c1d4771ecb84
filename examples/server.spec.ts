// `npm start` on a port something else holds: one line that says which port and how to choose another, no stack trace.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const server = fileURLToPath(new URL('server.ts', import.meta.url));

/** Runs `npm start`'s script with `env` until it exits; its exit code and stderr. */
function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', server], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.once('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, stderr });
  }));
}

describe('npm start (examples/server.ts) on a port already taken', function () {
  this.timeout(30_000);
  let taken: net.Server;
  let port: number;
  before(async () => {
    taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it('PORT taken: says which port and how to pick another, exits 1 without a stack trace', async () => {
    const { code, stderr } = await start({ PORT: String(port), ISSUER_PORT: '0' });
    expect(stderr).to.include(`port ${port} on 127.0.0.1 is already in use`);
    expect(stderr).to.include('PORT=3001 npm start');
    expect(stderr).not.to.match(/\n\s+at /);
    expect(code).to.equal(1);
  });

  it('ISSUER_PORT taken: names the development issuer\'s port and ISSUER_PORT, exits 1 without a stack trace', async () => {
    const { code, stderr } = await start({ PORT: '0', ISSUER_PORT: String(port) });
    expect(stderr).to.include(`port ${port} on 127.0.0.1 is already in use`);
    expect(stderr).to.include('ISSUER_PORT=');
    expect(stderr).not.to.match(/\n\s+at /);
    expect(code).to.equal(1);
  });
});
