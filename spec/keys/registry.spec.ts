import { expect } from 'chai';
import nock from 'nock';
import { ConfigurationError, createVerifier, DEFAULTS, type Verifier } from '../../lib/index.js';
import { fakeProvider, type FakeProvider } from '../support/provider.js';

describe('keys/registry: key sets of resolved issuers are bounded', () => {
  afterEach(() => nock.cleanAll());

  /** Tenants served by nock, each with its own JWKS; a verifier accepting all of them through resolveIssuer. */
  async function tenants(count: number): Promise<FakeProvider[]> {
    return Promise.all(Array.from({ length: count }, () => fakeProvider({ discovery: false })));
  }
  const multiTenant = (list: FakeProvider[], max?: number): Verifier => createVerifier({
    audience: list[0]!.audience,
    // Every token is checked against its key set (no verdict served from memory).
    cache: false,
    ...(max === undefined ? {} : { keySets: { max } }),
    resolveIssuer: (iss) => {
      const tenant = list.find((t) => t.issuer === iss);
      return tenant && { jwksUri: tenant.jwksUri };
    },
  });
  const fetches = (list: FakeProvider[]): number[] => list.map((t) => t.jwksCount());

  it('keeps 1000 key sets by default; at most 100 issuer look-ups under way, 10 per client; refusals remembered 30 s', () => {
    expect(DEFAULTS.keySets).to.deep.equal({ max: 1000, maxPending: 100, maxPendingPerClient: 10, refusedTtl: 30 });
  });

  it('drops the least recently used key set past keySets.max, and fetches it again only when its issuer is used again', async () => {
    const [a, b, c] = await tenants(3);
    const verify = multiTenant([a!, b!, c!], 2);
    await verify(await a!.sign());
    await verify(await b!.sign());
    await verify(await a!.sign({ jti: 'again' })); // a is now the most recently used
    await verify(await c!.sign()); // a third tenant: b goes
    expect(fetches([a!, b!, c!])).to.deep.equal([1, 1, 1]);
    for (let i = 0; i < 5; i++) await verify(await a!.sign({ jti: `a-${i}` }));
    await verify(await c!.sign({ jti: 'c-again' }));
    expect(fetches([a!, b!, c!]), 'key sets in use are never refetched').to.deep.equal([1, 1, 1]);
    await verify(await b!.sign({ jti: 'b-back' }));
    expect(fetches([a!, b!, c!]), 'the dropped one is fetched again on its next token').to.deep.equal([1, 2, 1]);
  });

  it('never drops a key set in use while tenants come and go: one fetch per tenant per eviction, none for the busy one', async () => {
    const list = await tenants(12);
    const [busy, ...others] = list as [FakeProvider, ...FakeProvider[]];
    const verify = multiTenant(list, 4);
    for (const [i, other] of others.entries()) {
      await verify(await busy.sign({ jti: `busy-${i}` }));
      await verify(await other.sign());
    }
    expect(busy.jwksCount()).to.equal(1);
    expect(fetches(others)).to.deep.equal(others.map(() => 1));
  });

  it('keeps a dropped key set while another verifier still holds it: the process-wide registry counts holders', async () => {
    const [a, b] = await tenants(2);
    const small = multiTenant([a!, b!], 1);
    const other = multiTenant([a!, b!]);
    await other(await a!.sign());
    await small(await a!.sign({ jti: 'small' }));
    await small(await b!.sign()); // small drops a; other still holds it
    await small(await a!.sign({ jti: 'small-again' }));
    await other(await a!.sign({ jti: 'other-again' }));
    expect(fetches([a!, b!])).to.deep.equal([1, 1]);
  });

  it('never bounds configured issuers', async () => {
    const [x, y, z] = await Promise.all([fakeProvider(), fakeProvider(), fakeProvider()]);
    const verify = createVerifier({
      issuer: [x.issuer], audience: x.audience, cache: false, keySets: { max: 1 },
      resolveIssuer: (iss) => ([y, z].some((t) => t.issuer === iss) ? {} : undefined),
    });
    for (let i = 0; i < 3; i++) {
      await verify(await x.sign({ jti: `x-${i}` }));
      await verify(await (i % 2 ? y : z).sign({ jti: `yz-${i}` }));
    }
    // x is configured: discovered and fetched once; z, dropped for y, fetched again.
    expect([x.discoveryCount(), x.jwksCount()]).to.deep.equal([1, 1]);
    expect([y.discoveryCount(), y.jwksCount(), z.discoveryCount(), z.jwksCount()]).to.deep.equal([1, 1, 2, 2]);
  });

  it('refuses a keySets.max that is not a positive whole number, saying how to fix it', () => {
    for (const max of [0, -1, 1.5, Number.NaN, '10']) {
      expect(() => createVerifier({ issuer: 'https://tenant.example.com/', audience: 'https://api.example.com', keySets: { max: max as number } }))
        .to.throw(ConfigurationError, /`keySets.max` must be a positive whole number of key sets \(default 1000\)/);
    }
    expect(() => createVerifier({ issuer: 'https://tenant.example.com/', audience: 'https://api.example.com', keySets: 5 as never }))
      .to.throw(ConfigurationError, /`keySets` must be an object like \{ max: 1000 \}/);
  });
});
