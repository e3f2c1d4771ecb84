import { expect } from 'chai';
import { dpopWalkthrough } from './call.js';

describe('example: a DPoP call (examples/dpop/call.ts)', () => {
  it('gets use_dpop_nonce, then 200 with the nonce, then 401 for the replayed proof', async () => {
    const steps = await dpopWalkthrough();
    expect(steps.map((s) => s.status)).to.deep.equal([401, 200, 401]);
    expect(steps[0]!.challenge).to.match(/^DPoP error="use_dpop_nonce", error_description="DPoP nonce required", algs="/);
    expect(steps[0]!.nonce).to.be.a('string');
    expect(steps[2]!.challenge).to.match(/^DPoP error="invalid_dpop_proof", error_description="DPoP proof already used"/);
  });
});
