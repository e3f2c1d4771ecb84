import { expect } from 'chai';
import { ConfigurationError, memoryStore, type KeyStore } from '../../lib/index.js';
import { DPOP_DEFAULTS, resolveDpopOptions, type DpopOptions } from '../../lib/dpop/options.js';

const fails = (dpop: unknown, store?: KeyStore): string => {
  try {
    resolveDpopOptions(dpop as DpopOptions, store, 5);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigurationError');
};

describe('dpop/options: resolved once, at startup', () => {
  it('is off without dpop, and has frozen defaults', () => {
    expect(resolveDpopOptions(undefined, undefined, 5)).to.equal(undefined);
    const resolved = resolveDpopOptions({}, undefined, 5)!;
    expect(Object.isFrozen(resolved) && Object.isFrozen(DPOP_DEFAULTS)).to.equal(true);
    expect(resolved).to.deep.include({ required: false, iatWindow: 300, clockTolerance: 5, nonce: undefined, replayStore: undefined, replayStoreFailure: 'memory' });
    expect(resolved.algs).to.equal('RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519');
  });

  it('takes the store as replay store when it has an atomic lock', () => {
    const store = memoryStore();
    expect(resolveDpopOptions({}, store, 5)!.replayStore).to.equal(store);
    expect(resolveDpopOptions({}, { get: () => Promise.resolve(undefined), set: () => Promise.resolve() }, 5)!.replayStore).to.equal(undefined);
  });

  it('says how to fix bad options', () => {
    expect(fails('yes')).to.include('`dpop` must be an object');
    expect(fails({ required: 'yes' })).to.include('`dpop.required` must be true or false');
    expect(fails({ algorithms: [] })).to.include('must not be empty');
    expect(fails({ algorithms: ['HS256'] })).to.include('`dpop.algorithms` contains "HS256"');
    expect(fails({ algorithms: ['none'] })).to.include('choose from RS256');
    expect(fails({ iatWindow: 0 })).to.include('`dpop.iatWindow` must be a positive number of seconds');
    expect(fails({ nonce: { secret: 'short' } })).to.include('at least 32 bytes');
    expect(fails({ nonce: { secret: [] } })).to.include('at least 32 bytes');
    expect(fails({ nonce: { secret: 'x'.repeat(32), lifetime: -1 } })).to.include('`dpop.nonce.lifetime`');
    expect(fails({ replayStore: { get: () => undefined, set: () => undefined } })).to.include('atomic lock(key, ttl)');
    expect(fails({ replayStoreFailure: 'ignore' })).to.include("'memory' or 'unavailable'");
    expect(fails({ replayCache: 5 })).to.include('`dpop.replayCache` must be an object');
    expect(fails({ replayCache: { max: 0 } })).to.include('`dpop.replayCache.max` must be a positive whole number');
    expect(fails({ replayCache: { maxPerKey: 2.5 } })).to.include('`dpop.replayCache.maxPerKey` must be a positive whole number');
    expect(fails({ replayCache: { max: 10, maxPerKey: 11 } })).to.include('must not exceed `max`');
  });

  it('gives each key a quarter of the replay cache at most, 25,000 proofs by default', () => {
    expect(DPOP_DEFAULTS.replayCache).to.deep.equal({ max: 100_000, maxPerKey: 25_000 });
    expect(resolveDpopOptions({}, undefined, 5)!.replayCache).to.deep.equal({ max: 100_000, maxPerKey: 25_000 });
    expect(resolveDpopOptions({ replayCache: { max: 1_000_000 } }, undefined, 5)!.replayCache).to.deep.equal({ max: 1_000_000, maxPerKey: 25_000 });
    expect(resolveDpopOptions({ replayCache: { max: 40 } }, undefined, 5)!.replayCache).to.deep.equal({ max: 40, maxPerKey: 10 });
    expect(resolveDpopOptions({ replayCache: { maxPerKey: 100_000 } }, undefined, 5)!.replayCache).to.deep.equal({ max: 100_000, maxPerKey: 100_000 });
  });

  it('accepts a rotating list of nonce secrets', () => {
    expect(resolveDpopOptions({ nonce: { secret: ['n'.repeat(32), new Uint8Array(32)] } }, undefined, 5)!.nonce!.secrets).to.have.length(2);
  });
});
