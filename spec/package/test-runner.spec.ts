// Contributors run one spec file with `npx mocha <file>`; `npm run spec` (and so `npm test`) runs them all.
// mocha adds a config file's `spec` globs to the command line's, so the globs live in the `spec` script.
import { expect } from 'chai';
import { join } from 'node:path';
import { root, run } from './support.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The files a mocha run would load, from a dry run (nothing executes) with the JSON reporter. */
function filesOf(output: string): string[] {
  const report = JSON.parse(output.slice(output.indexOf('{'))) as { tests: { file: string }[] };
  return [...new Set(report.tests.map((test) => test.file))].sort();
}

describe('package: the test runner', function () {
  this.timeout(120_000);

  it('runs only the named file when `npx mocha` is given one, with the repository\'s settings', async () => {
    const child = await run(process.execPath, [join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--dry-run', '--reporter', 'json', 'spec/errors.spec.ts'], root);
    expect(child.code).to.equal(0);
    expect(filesOf(child.stdout)).to.deep.equal([join(root, 'spec', 'errors.spec.ts')]);
  });

  it('runs every spec file under spec/ and examples/ with `npm run spec`', async () => {
    const child = await run(npm, ['run', '--silent', 'spec', '--', '--dry-run', '--reporter', 'json'], root);
    expect(child.code).to.equal(0);
    const files = filesOf(child.stdout);
    expect(files).to.include.members([join(root, 'spec', 'errors.spec.ts'), join(root, 'spec', 'package', 'test-runner.spec.ts')]);
    expect(files.some((file) => file.startsWith(join(root, 'examples')))).to.equal(true);
    expect(files.length).to.be.above(100);
  });
});
