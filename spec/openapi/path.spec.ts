import { expect } from 'chai';
import { openApiPaths } from '../../lib/openapi/path.js';

describe('openapi/path: Koa route paths as OpenAPI templates', () => {
  const cases: Array<[string, string[]]> = [
    ['/messages', ['/messages']],
    ['/orgs/:orgId', ['/orgs/{orgId}']],
    ['/orgs/:orgId/messages/:id', ['/orgs/{orgId}/messages/{id}']],
    ['/files/*rest', ['/files/{rest}']],
    ['/:"quoted name"/x', ['/{quoted name}/x']],
    ['/users{/:id}', ['/users', '/users/{id}']],
    ['/a{/b{/:c}}', ['/a', '/a/b', '/a/b/{c}']],
    ['/v1/:id.json', ['/v1/{id}.json']],
    ['/time\\:now', ['/time:now']],
    ['', ['/']],
  ];
  for (const [path, expected] of cases) {
    it(`${JSON.stringify(path)} → ${expected.join(', ')}`, () => {
      expect(openApiPaths(path)).to.deep.equal(expected);
    });
  }

  it('returns no path for one it cannot read', () => {
    for (const path of ['/a/:', '/a{/b', '/a}/b', '/:"open']) expect(openApiPaths(path), path).to.deep.equal([]);
  });
});
