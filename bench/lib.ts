// The library as the bench measures it: its compiled build (dist/, what an application runs; `npm run bench`
// builds it first), or with BENCH_LIB=src the TypeScript sources through tsx. The two differ on the request
// path: tsx compiles with esbuild's keepNames, which names every closure with a defineProperty call each
// time one is made (a DPoP proof's key resolver, a pending verification's callback), a cost dist/ never has.
import type * as Root from '../lib/index.js';
import type * as OpenTelemetry from '../lib/opentelemetry/index.js';

/** Where the library is loaded from: 'dist' (default) or 'src'. */
export const LIB_SOURCE: 'dist' | 'src' = process.env.BENCH_LIB === 'src' ? 'src' : 'dist';

// Paths in variables: the type comes from the sources, the module from LIB_SOURCE.
const root = LIB_SOURCE === 'src' ? '../lib/index.js' : '../dist/index.js';
const openTelemetry = LIB_SOURCE === 'src' ? '../lib/opentelemetry/index.js' : '../dist/opentelemetry/index.js';

export const lib = await import(root) as typeof Root;
/** Loaded only by who measures it (bench/otel.ts). */
export const loadOpenTelemetry = async (): Promise<typeof OpenTelemetry> => await import(openTelemetry) as typeof OpenTelemetry;
