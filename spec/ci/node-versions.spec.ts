// package.json `engines` says what CI tests: the Node running this suite is inside it (CI runs the suite on
// the machine's Node and on each major scripts/node-versions.sh is given), and every major .ci/run tests is.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';

const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node;

/** The forms `engines` uses: `^major.minor`, `>=major[.minor]`. */
function satisfies(version: string, range: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const caret = /^\^(\d+)\.(\d+)$/.exec(range);
  if (caret) return major === Number(caret[1]) && minor >= Number(caret[2]);
  const atLeast = /^>=(\d+)(?:\.(\d+))?$/.exec(range);
  if (atLeast) return major > Number(atLeast[1]) || (major === Number(atLeast[1]) && minor >= Number(atLeast[2] ?? 0));
  throw new Error(`a form of range this spec does not read: ${range}`);
}
const supported = (version: string): boolean => engines.split('||').some((range) => satisfies(version, range.trim()));

describe('ci: the Node versions tested are the ones package.json engines names', () => {
  it(`runs on a Node inside engines (${engines})`, () => {
    expect(supported(process.versions.node), `Node ${process.versions.node}`).to.equal(true);
  });

  it('takes in every major .ci/run tests besides the machine\'s (22 and 24)', () => {
    const run = /scripts\/node-versions\.sh((?: \d+)+)\s*$/m.exec(readFileSync('.ci/run', 'utf8'));
    const majors = run![1]!.trim().split(' ');
    expect(majors).to.deep.equal(['22', '24']);
    for (const major of majors) expect(supported(`${major}.99.0`), `Node ${major}`).to.equal(true);
  });

  it('leaves out what CI does not test: 21 and 23, and 20 and 22 before they require() ES modules (20.19, 22.12) as CommonJS consumers need', () => {
    for (const version of ['18.20.0', '20.18.3', '21.7.3', '22.11.0', '23.11.1']) expect(supported(version), version).to.equal(false);
    for (const version of ['20.19.0', '22.12.0', '24.0.0']) expect(supported(version), version).to.equal(true);
  });
});
