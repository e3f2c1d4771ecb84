// `npm start` prints shell lines: this runs exactly those lines with bash and curl against the running example, so a
// broken token endpoint, introspection or route shows here as a wrong status, not in a user's terminal.
import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { banner, DPOP_CALL, exampleScript, mcpCall, type ExampleScript } from './banner.js';
import { startDevIssuer, type DevIssuer } from './dev-issuer.js';

const audience = 'https://api.example.com';

function hasCurl(): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    execFileSync('bash', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs the setup lines, then every printed command with its headers dumped, separated by markers. */
function runScript(script: ExampleScript): Promise<string[]> {
  const lines = [...script.setup];
  for (const step of script.steps) {
    for (const command of step.commands) {
      expect(command.startsWith('curl -i ')).to.equal(true);
      lines.push('echo @@', `curl -s -D - -o /dev/null ${command.slice('curl -i '.length)}`);
    }
  }
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', lines.join('\n')], { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`the printed lines failed: ${stderr}`, { cause: error }));
      else resolve(stdout.split('@@\n').slice(1));
    });
  });
}

describe('example: the lines npm start prints', () => {
  let dev: DevIssuer;
  let server: Server;
  let base: string;
  let script: ExampleScript;

  before(async function () {
    if (!hasCurl()) this.skip(); // the printed lines are curl commands for bash: nothing to run them with here
    dev = await startDevIssuer(audience);
    const { clientId, clientSecret } = dev.introspection;
    const app = createApp({ issuer: dev.issuer, audience, introspection: { clientId, clientSecret } });
    app.silent = true;
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    script = exampleScript(base, dev, await dev.mint({ scope: 'read:messages' }, { badSignature: true }));
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    await dev?.close();
  });

  it('prints token requests to the token endpoint, not tokens, and every command under its expectation', () => {
    const text = banner(base, dev, script);
    expect(text).to.contain(`token() { curl -s -d grant_type=client_credentials "$@" ${dev.tokenEndpoint} |`);
    expect(text).to.contain('READ=$(token -u reader:reader-secret)');
    expect(text).to.contain('OPAQUE=$(token -u legacy:legacy-secret)');
    for (const step of script.steps) expect(text).to.contain(`# ${step.say}\n${step.commands.join('\n')}`);
    // Only the one forged token is pasted: every other token comes from the token endpoint.
    expect(text.match(/eyJ[\w-]*\.eyJ/g)).to.have.length(1);
  });

  it('shows the DPoP call as a script to run (curl cannot sign proofs), naming a script that exists and has its spec', () => {
    const text = banner(base, dev, script);
    expect(DPOP_CALL).to.equal('npx tsx examples/dpop/call.ts');
    expect(text).to.match(/\n# DPoP \(RFC 9449\): curl cannot sign proofs[^\n]*\nnpx tsx examples\/dpop\/call\.ts\n\n# MCP on /);
    const file = DPOP_CALL.split(' ').at(-1)!;
    expect([existsSync(file), existsSync(file.replace(/\.ts$/, '.spec.ts'))]).to.deep.equal([true, true]);
  });

  it('ends with the MCP client call for /mcp and the issuer its credentials belong to, naming a script that exists and has its spec', () => {
    const text = banner(base, dev, script);
    expect(mcpCall(base, dev)).to.equal(`npx tsx examples/mcp/call.ts ${base}/mcp ${dev.issuer}`);
    expect(text.endsWith(`\n${mcpCall(base, dev)}\n\nCtrl-C to stop.`)).to.equal(true);
    expect([existsSync('examples/mcp/call.ts'), existsSync('examples/mcp/call.spec.ts')]).to.deep.equal([true, true]);
  });

  it('answers each printed command as its comment says, run with bash and curl', async function () {
    this.timeout(30_000);
    const answers = await runScript(script);
    const expected = script.steps.flatMap((step) => step.commands.map((command) => ({ command, status: step.status, challenge: step.challenge })));
    expect(answers).to.have.length(expected.length);
    answers.forEach((answer, i) => {
      const { command, status, challenge } = expected[i]!;
      expect(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]), command).to.equal(status);
      if (challenge !== undefined) expect(/^www-authenticate: (.*)\r$/im.exec(answer)?.[1], command).to.equal(challenge);
    });
    // Eight tokens from the token endpoint; the opaque one introspected once by the API (cached for its second
    // request) and once by the printed introspection command.
    expect(dev.requests).to.include({ token: 8, introspection: 2 });
  });
});
