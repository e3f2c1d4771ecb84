// Imported first by the bench smoke spec: the bench's targets load the library from its TypeScript
// sources here (bench/lib.ts), so the spec checks this checkout's lib/, whether or not dist/ was rebuilt.
process.env.BENCH_LIB ??= 'src';
