// `npm start` prints an MCP client call: this starts examples/server.ts as npm start does, takes the printed
// command from its banner and runs it with bash, so the trace a newcomer sees is the one asserted here:
// discovery from the 401, a token from the development issuer, tools called, our 403 and the step-up.
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const server = fileURLToPath(new URL('../server.ts', import.meta.url));

/** Starts `npm start`'s script on free ports; resolves with its banner once printed. */
function start(): Promise<{ child: ChildProcess; banner: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', server], { cwd: root, env: { ...process.env, PORT: '0', ISSUER_PORT: '0', OTEL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ctrl-C to stop.')) resolve({ child, banner: out });
    });
    child.once('exit', (code) => reject(new Error(`npm start exited (${code}): ${err}`)));
  });
}

describe('example: the MCP client call npm start prints (examples/mcp/call.ts)', function () {
  this.timeout(60_000);
  let child: ChildProcess | undefined;
  let banner: string;

  before(async () => {
    ({ child, banner } = await start());
  });
  after(() => {
    child?.removeAllListeners('exit');
    child?.kill('SIGTERM');
  });

  it('discovers the issuer from the 401, calls tools, gets our 403 for messages:admin and steps up, run as printed', async () => {
    const [, command, url, issuer] = /\n(npx tsx examples\/mcp\/call\.ts (http:\/\/127\.0\.0\.1:\d+\/mcp) (http:\/\/127\.0\.0\.1:\d+\/?))\n/.exec(banner) ?? [];
    expect(command, 'the banner prints the MCP call').to.be.a('string');
    expect(banner).to.contain(`\n# MCP on ${url} (examples/mcp): the MCP SDK's own client finds the issuer from the 401 (RFC 9728)`);
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('bash', ['-c', command!], { cwd: root, timeout: 45_000 }, (error, out, stderr) => (error ? reject(new Error(`the printed MCP call failed: ${stderr}`, { cause: error })) : resolve(out)));
    });
    const origin = new URL(url!).origin;
    const as = new URL(issuer!).origin;
    // One line per exchange: status, method, target, and (for MCP requests) the MCP method and tool.
    const exchanges = stdout.split(/\n(?=\d{3} {2})/).filter((block) => /^\d{3} {2}/.test(block)).map((block) => {
      const [head, ...notes] = block.trim().split('\n').map((line) => line.trim());
      return { line: `${head!.replaceAll(as, 'AS')}${head!.endsWith(' POST /mcp') ? ` ${notes[0]}` : ''}`, notes };
    });
    expect(exchanges.map((e) => e.line)).to.deep.equal([
      '401  POST /mcp server/discover',
      '200  GET /.well-known/oauth-protected-resource/mcp',
      '200  GET AS/.well-known/oauth-authorization-server',
      '200  POST AS/token',
      '200  POST /mcp server/discover',
      '200  POST /mcp tools/list',
      '200  POST /mcp tools/call post_message',
      '200  POST /mcp tools/call list_messages',
      '403  POST /mcp tools/call purge_messages',
      '200  GET /.well-known/oauth-protected-resource/mcp',
      '200  GET AS/.well-known/oauth-authorization-server',
      '200  POST AS/token',
      '200  POST /mcp tools/call purge_messages',
    ]);
    const metadata = `${origin}/.well-known/oauth-protected-resource/mcp`;
    expect(exchanges[0]!.notes).to.include(`WWW-Authenticate: Bearer realm="api", scope="messages:read messages:write", resource_metadata="${metadata}"`);
    expect(exchanges[1]!.notes).to.deep.equal([`RFC 9728 metadata: resource ${url}, authorization_servers ${issuer}, scopes_supported messages:read messages:write messages:admin`]);
    expect(exchanges[3]!.notes).to.deep.equal([`client_credentials, scope "messages:read messages:write", resource ${url}`, 'Bearer token, scope "messages:read messages:write"']);
    expect(exchanges[8]!.notes).to.include('WWW-Authenticate: Bearer realm="api", error="insufficient_scope", error_description="requires scope messages:admin", '
      + `scope="messages:admin", resource_metadata="${metadata}"`);
    expect(exchanges[11]!.notes).to.deep.equal([`client_credentials, scope "messages:read messages:write messages:admin", resource ${url}`, 'Bearer token, scope "messages:read messages:write messages:admin"']);
    expect(stdout).to.contain('\n  purge_messages: purged\n');
    // Never a token in the trace.
    expect(stdout).not.to.match(/eyJ[\w-]*\.eyJ/);
  });
});
