/**
 * `koa-token-guard/testing`: a test issuer for your own specs. Never imported by the root export.
 * @packageDocumentation
 */
export {
  createTestIssuer,
  type TestAddKeyOptions,
  type TestIntrospection,
  type TestIntrospectionOptions,
  type TestIssuer,
  type TestIssuerOptions,
  type TestIssuerRequests,
} from './issuer.js';
export { createTestKey, type TestAlgorithm, type TestKey, type TestKeyOptions } from './keys.js';
export type { TestClaims, TestSignOptions } from './sign.js';
export type { TestOpaqueOptions } from './opaque.js';
export type { TestClient } from './token-endpoint.js';
export type { TestEndpoint, TestOutage } from './endpoints.js';
export { createDpopKey, type TestDpopKey, type TestProofOptions } from './dpop.js';
