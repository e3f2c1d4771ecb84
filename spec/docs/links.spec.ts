// Every relative link and #anchor in README.md and docs/ lands somewhere: moving a section or renaming
// a heading cannot leave a reader on a 404 or at the top of the wrong page.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { anchors, documentationFiles, links, read, ROOT, slug, type Link } from '../support/markdown.js';

function broken(link: Link): string | undefined {
  const { target } = link;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto: and the like
  const hash = target.indexOf('#');
  const path = hash === -1 ? target : target.slice(0, hash);
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const file = path === '' ? link.file : normalize(join(dirname(link.file), decodeURIComponent(path)));
  if (file.startsWith('..')) return 'leaves the repository';
  if (!existsSync(join(ROOT, file))) return `no file ${file}`;
  if (anchor === undefined) return undefined;
  if (!file.endsWith('.md')) return /^L\d+(-L\d+)?$/.test(anchor) ? undefined : `anchor #${anchor} in a file that is not Markdown`;
  return anchors(read(file)).has(anchor) ? undefined : `no heading for #${anchor} in ${file}`;
}

describe('documentation links', () => {
  const files = documentationFiles();
  const all = files.flatMap((file) => links(file, read(file)));

  it('reads README.md and a page per topic under docs/', () => {
    expect(files).to.include.members(['README.md', 'docs/design/credential-pipeline.md']);
    expect(files.filter((file) => /^docs\/[^/]+\.md$/.test(file)).length).to.be.at.least(14);
  });

  it('finds the links in README.md and docs/', () => {
    expect(all.filter((link) => link.file === 'README.md').length).to.be.at.least(15);
  });

  it('resolves every relative link and #anchor to a file and one of its headings', () => {
    const failures = all.flatMap((link) => {
      const reason = broken(link);
      return reason === undefined ? [] : [`${link.file}:${link.line} ${link.target}: ${reason}`];
    });
    expect(failures).to.deep.equal([]);
  });

  it('computes anchors as GitHub does', () => {
    expect(slug('Testing your app: `koa-token-guard/testing`')).to.equal('testing-your-app-koa-token-guardtesting');
    expect(slug('Compared with koa-jwt + jwks-rsa')).to.equal('compared-with-koa-jwt--jwks-rsa');
    expect(slug('Opaque tokens (introspection)')).to.equal('opaque-tokens-introspection');
    expect(slug('Typing `ctx.state.user`')).to.equal('typing-ctxstateuser');
    expect([...anchors('# A\n## A\n```\n# not a heading\n```\n## A\n')]).to.deep.equal(['a', 'a-1', 'a-2']);
  });
});
