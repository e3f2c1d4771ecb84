// The test kit lives behind its own subpath: these run real child processes and record every module
// they resolve, so "the root never loads test code or nock" is observed, not assumed.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const lib = (path: string): string => pathToFileURL(`${root}lib/${path}`).href;

// Resolve hook run in Node's hooks thread: reports every resolved URL; can make one package vanish.
const HOOKS = `
let port, block;
export function initialize(data) { port = data.port; block = data.block; }
export async function resolve(specifier, context, next) {
  if (specifier === block) {
    const error = new Error("Cannot find package '" + specifier + "'");
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  const result = await next(specifier, context);
  port.postMessage(result.url);
  return result;
}`;

interface ChildResult { code: number | null; stdout: string; stderr: string; ms: number }

/** Runs `body` (an async ESM snippet with `urls` in scope) in a fresh Node with tsx; never calls process.exit. */
function runChild(body: string, block = ''): Promise<ChildResult> {
  const script = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const urls = [];
port1.on('message', (url) => urls.push(url));
port1.unref();
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}), import.meta.url, { data: { port: port2, block: ${JSON.stringify(block)} }, transferList: [port2] });
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
${body}`;
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const isTestKit = (url: string): boolean => url.includes('/lib/testing/');
const isNock = (url: string): boolean => url.includes('/node_modules/nock/');
const isMcpSdk = (url: string): boolean => url.includes('/node_modules/@modelcontextprotocol/');
const isOpenTelemetry = (url: string): boolean => url.includes('/node_modules/@opentelemetry/') || url.includes('/lib/opentelemetry/');

describe('testing/isolation', function () {
  this.timeout(30_000);

  it('loads no test code, no nock and no MCP SDK when the root export is imported', async () => {
    const child = await runChild(`await import(${JSON.stringify(lib('index.ts'))}); await settle(); console.log(JSON.stringify(urls));`);
    expect(child.stderr).to.equal('');
    const urls = JSON.parse(child.stdout) as string[];
    expect(urls).to.include(lib('koa/authenticate.ts')); // the recorder sees the root's own modules
    expect(urls.filter((url) => isTestKit(url) || isNock(url) || isMcpSdk(url))).to.deep.equal([]);
  });

  it('loads the MCP SDK only through koa-token-guard/mcp, never through the root or the test kit', async () => {
    const child = await runChild(`
await import(${JSON.stringify(lib('index.ts'))});
await import(${JSON.stringify(lib('testing/index.ts'))});
await settle();
const before = urls.filter((url) => url.includes('/node_modules/@modelcontextprotocol/') || url.includes('/lib/mcp/'));
await import(${JSON.stringify(lib('mcp/index.ts'))});
await settle();
console.log(JSON.stringify({ before, after: urls.some((url) => url.includes('/node_modules/@modelcontextprotocol/server/')) }));`);
    expect(child.stderr).to.equal('');
    expect(JSON.parse(child.stdout)).to.deep.equal({ before: [], after: true });
  });

  it('exports koa-token-guard/mcp built from lib/mcp, the SDK an optional peer dependency', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
      exports: Record<string, unknown>; typesVersions: Record<string, Record<string, unknown>>;
      peerDependencies: Record<string, string>; peerDependenciesMeta: Record<string, unknown>;
    };
    expect(pkg.exports['./mcp']).to.deep.equal({ types: './dist/mcp/index.d.ts', default: './dist/mcp/index.js' });
    expect(pkg.typesVersions['*']!.mcp).to.deep.equal(['./dist/mcp/index.d.ts']);
    expect(pkg.peerDependencies['@modelcontextprotocol/server']).to.equal('^2.4');
    expect(pkg.peerDependenciesMeta['@modelcontextprotocol/server']).to.deep.equal({ optional: true });
  });

  it('loads no OpenTelemetry when the root export is imported; koa-token-guard/opentelemetry loads @opentelemetry/api and the instrumentation base', async () => {
    const plain = await runChild(`await import(${JSON.stringify(lib('index.ts'))}); await settle(); console.log(JSON.stringify(urls));`);
    expect(plain.stderr).to.equal('');
    expect((JSON.parse(plain.stdout) as string[]).filter(isOpenTelemetry)).to.deep.equal([]);
    const subpath = await runChild(`await import(${JSON.stringify(lib('opentelemetry/index.ts'))}); await settle(); console.log(JSON.stringify(urls));`);
    const loaded = (JSON.parse(subpath.stdout) as string[]).filter(isOpenTelemetry);
    expect(loaded.some((url) => url.includes('/node_modules/@opentelemetry/api/'))).to.equal(true);
    expect(loaded.some((url) => url.includes('/node_modules/@opentelemetry/instrumentation/'))).to.equal(true);
  });

  it('exports the instrumentation as the koa-token-guard/opentelemetry subpath, OpenTelemetry as optional peers', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
      exports: Record<string, unknown>; typesVersions: Record<string, Record<string, unknown>>; peerDependencies: Record<string, unknown>; peerDependenciesMeta: Record<string, unknown>;
    };
    expect(pkg.exports['./opentelemetry']).to.deep.equal({ types: './dist/opentelemetry/index.d.ts', default: './dist/opentelemetry/index.js' });
    expect(pkg.typesVersions['*']!.opentelemetry).to.deep.equal(['./dist/opentelemetry/index.d.ts']);
    for (const name of ['@opentelemetry/api', '@opentelemetry/instrumentation']) {
      expect(pkg.peerDependencies[name], name).to.be.a('string');
      expect(pkg.peerDependenciesMeta[name], name).to.deep.equal({ optional: true });
    }
  });

  it('loads nock only when an issuer asks for nock mode', async () => {
    const child = await runChild(`
const { createTestIssuer } = await import(${JSON.stringify(lib('testing/index.ts'))});
const issuer = await createTestIssuer();
await issuer.close();
await settle();
const before = urls.some((url) => url.includes('/node_modules/nock/'));
const nocked = await createTestIssuer({ mode: 'nock' });
await nocked.close();
await settle();
console.log(JSON.stringify({ before, after: urls.some((url) => url.includes('/node_modules/nock/')) }));`);
    expect(JSON.parse(child.stdout)).to.deep.equal({ before: false, after: true });
  });

  it('says how to install nock when nock mode is asked for without it', async () => {
    const child = await runChild(`
const { createTestIssuer } = await import(${JSON.stringify(lib('testing/index.ts'))});
try { await createTestIssuer({ mode: 'nock' }); } catch (error) { console.log(error.message); }`, 'nock');
    expect(child.stdout.trim()).to.equal("koa-token-guard/testing: `mode: 'nock'` needs the nock package (an optional peer dependency): "
      + "run `npm install --save-dev nock@14`, or leave `mode` at its default 'loopback', which needs nothing else.");
  });

  it('lets the process exit on its own after close(): no handle left open', async () => {
    const child = await runChild(`
const { createTestIssuer } = await import(${JSON.stringify(lib('testing/index.ts'))});
const { authenticate } = await import(${JSON.stringify(lib('index.ts'))});
const { default: Koa } = await import('koa');
const issuer = await createTestIssuer({ audience: 'api' });
const app = new Koa();
app.use(authenticate({ issuer: issuer.issuer, audience: 'api' }));
app.use((ctx) => { ctx.body = 'ok'; });
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const reply = await fetch('http://127.0.0.1:' + server.address().port + '/', { headers: { authorization: 'Bearer ' + await issuer.sign() } });
console.log(reply.status);
server.closeAllConnections();
server.close();
await issuer.close();`);
    expect([child.code, child.stdout.trim(), child.stderr]).to.deep.equal([0, '200', '']);
  });

  it('exports the kit as the koa-token-guard/testing subpath, built from lib/testing', async () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: Record<string, unknown>; peerDependenciesMeta: Record<string, unknown> };
    // `default`, not `import`: CommonJS require()s it too (spec/package/commonjs.spec.ts).
    expect(pkg.exports['./testing']).to.deep.equal({ types: './dist/testing/index.d.ts', default: './dist/testing/index.js' });
    expect(pkg.peerDependenciesMeta.nock).to.deep.equal({ optional: true });
    // Resolution only: the package resolving itself through its exports map, as a user's import would.
    const resolved = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('koa-token-guard/testing'))"], { cwd: root }, (error, stdout) => {
        if (error) reject(new Error(error.message));
        else resolve(stdout.trim());
      });
    });
    expect(resolved).to.equal(pathToFileURL(`${root}dist/testing/index.js`).href);
  });
});
