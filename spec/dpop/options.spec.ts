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
  });

  it('accepts a rotating list of nonce secrets', () => {
    expect(resolveDpopOptions({ nonce: { secret: ['n'.repeat(32), new Uint8Array(32)] } }, undefined, 5)!.nonce!.secrets).to.have.length(2);
  });
});
