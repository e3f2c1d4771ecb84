/**
 * `koa-token-guard/opentelemetry`: OpenTelemetry spans and metrics for every authentication, signature
 * check, introspection call, provider fetch and DPoP proof, built on the package's tracing channels.
 * Import it from this subpath only: the root export never loads OpenTelemetry.
 */
export { KoaTokenGuardInstrumentation, INSTRUMENTATION_NAME, type KoaTokenGuardInstrumentationConfig } from './instrumentation.js';
export { METRICS } from './metrics.js';
