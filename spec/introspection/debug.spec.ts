import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

describe('introspection: NODE_DEBUG lines', function () {
  this.timeout(60_000);

  it('log introspection activity without any token or the client secret', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./debug-child.ts', import.meta.url))], {
      env: { ...process.env, NODE_DEBUG: 'koa-token-guard' },
      encoding: 'utf8',
    });
    expect(child.status, child.stderr).to.equal(0);
    const secrets = JSON.parse(child.stdout) as string[];
    expect(child.stderr).to.include('introspection failed');
    for (const secret of secrets) expect(child.stderr).to.not.include(secret);
  });
});
