// CommonJS apps and test suites load the ES module package with require() (Node >= 20.19 supports it
// for modules without top-level await), from the packed tarball, for the root and every subpath.
import { expect } from 'chai';
import { join } from 'node:path';
import { packedConsumer, root, type Consumer } from './support.js';

const subpaths = (consumer: Consumer): string[] => Object.keys(consumer.manifest.exports)
  .filter((key) => key !== './package.json')
  .map((key) => (key === '.' ? 'koa-token-guard' : `koa-token-guard${key.slice(1)}`));

describe('package: CommonJS consumers of the packed tarball', function () {
  this.timeout(90_000);
  let consumer: Consumer;
  before(async () => { consumer = await packedConsumer(); });

  it('require()s the root and every subpath with plain node, the same exports import() gives, and no warning', async () => {
    const names = subpaths(consumer);
    expect(names).to.include.members(['koa-token-guard', 'koa-token-guard/testing', 'koa-token-guard/redis']);
    consumer.write('require-all.cjs', `
const names = ${JSON.stringify(names)};
const required = Object.fromEntries(names.map((name) => [name, Object.keys(require(name)).sort()]));
Promise.all(names.map(async (name) => [name, Object.keys(await import(name)).sort()])).then((entries) => {
  console.log(JSON.stringify({ required, imported: Object.fromEntries(entries), version: require('koa-token-guard/package.json').version }));
});`);
    const child = await consumer.run(['require-all.cjs']);
    expect(child.stderr).to.equal(''); // e.g. no ExperimentalWarning, no ERR_REQUIRE_ASYNC_MODULE
    expect(child.code).to.equal(0);
    const { required, imported, version } = JSON.parse(child.stdout) as { required: Record<string, string[]>; imported: Record<string, string[]>; version: string };
    expect(required).to.deep.equal(imported);
    expect(required['koa-token-guard']).to.include.members(['authenticate', 'requireScopes', 'AuthError', 'ConfigurationError']);
    expect(required['koa-token-guard/testing']).to.include('createTestIssuer');
    expect(required['koa-token-guard/redis']).to.deep.equal(['redisStore']);
    expect(required['koa-token-guard/opentelemetry']).to.deep.equal(['INSTRUMENTATION_NAME', 'KoaTokenGuardInstrumentation', 'METRICS']);
    expect(version).to.be.a('string');
  });

  it('runs a CommonJS mocha spec file that guards a Koa app with the test kit', async () => {
    consumer.write('test/app.spec.cjs', `
const assert = require('node:assert/strict');
const Koa = require('koa');
const { authenticate, requireScopes } = require('koa-token-guard');
const { createTestIssuer } = require('koa-token-guard/testing');

describe('a CommonJS Koa app', function () {
  let issuer, server, url;
  before(async () => {
    issuer = await createTestIssuer({ audience: 'api' });
    const app = new Koa();
    app.use(authenticate({ issuer: issuer.issuer, audience: 'api' }));
    app.use(requireScopes('read'));
    app.use((ctx) => { ctx.body = ctx.state.user.sub; });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = 'http://127.0.0.1:' + server.address().port + '/';
  });
  after(async () => { server.closeAllConnections(); server.close(); await issuer.close(); });

  it('accepts a token from the kit', async () => {
    const reply = await fetch(url, { headers: { authorization: 'Bearer ' + await issuer.sign({ sub: 'alice', scope: 'read' }) } });
    assert.equal(reply.status, 200);
    assert.equal(await reply.text(), 'alice');
  });

  it('refuses a missing token', async () => {
    const reply = await fetch(url);
    assert.equal(reply.status, 401);
    assert.match(reply.headers.get('www-authenticate'), /^Bearer /);
  });
});`);
    const mocha = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const child = await consumer.run([mocha, '--no-config', '--no-package', '--reporter', 'dot', 'test/app.spec.cjs']);
    expect(child.stderr).to.equal('');
    expect([child.code, /(\d+) passing/.exec(child.stdout)?.[1]]).to.deep.equal([0, '2']);
  });
});
