import type { EndpointAnswer } from './endpoints.js';

// The slice of nock's API the kit uses, typed here so the published types never need nock installed.
interface NockInterceptor { reply(fn: (uri: string) => Promise<[number, unknown, Record<string, string>]>): NockScope }
interface NockScope { persist(): NockScope; get(path: (uri: string) => boolean): NockInterceptor; interceptors: unknown[] }
interface Nock { (origin: string): NockScope; removeInterceptor(interceptor: unknown): boolean }

/** Routes served through nock; `close()` removes exactly the interceptors it added. */
export interface NockRoutes {
  release(): void;
  close(): void;
}

async function loadNock(): Promise<Nock> {
  try {
    const mod = (await import('nock')) as unknown as { default?: Nock };
    return mod.default ?? (mod as unknown as Nock);
  } catch (cause) {
    throw new Error(
      "koa-token-guard/testing: `mode: 'nock'` needs the nock package (an optional peer dependency): "
      + "run `npm install --save-dev nock@14`, or leave `mode` at its default 'loopback', which needs nothing else.",
      { cause },
    );
  }
}

/** Intercepts the GETs to `origin` the issuer serves with nock and answers them from `answer(pathname)`. */
export async function interceptWithNock(
  origin: string,
  serves: (pathname: string) => boolean,
  answer: (pathname: string, retried: boolean) => EndpointAnswer,
): Promise<NockRoutes> {
  const nock = await loadNock();
  const held = new Set<() => void>();
  let closed = false;
  const reply = (uri: string, retried: boolean): Promise<[number, unknown, Record<string, string>]> => {
    const result = answer(new URL(uri, origin).pathname, retried);
    if (result.kind === 'json') return Promise.resolve([result.status, result.body, result.headers]);
    // Never settles until recover() or close(): the client's own timeout is what ends the request.
    return new Promise((resolve) => {
      const retry = (): void => {
        held.delete(retry);
        if (closed) resolve([503, { error: 'closed' }, {}]);
        else void reply(uri, true).then(resolve);
      };
      held.add(retry);
    });
  };
  const scope = nock(origin).persist();
  scope.get((uri) => serves(new URL(uri, origin).pathname)).reply((uri) => reply(uri, false));
  const interceptors = [...scope.interceptors];
  return {
    release() {
      for (const retry of [...held]) retry();
    },
    close() {
      closed = true;
      for (const retry of [...held]) retry();
      for (const interceptor of interceptors) nock.removeInterceptor(interceptor);
    },
  };
}
