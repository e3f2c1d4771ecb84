import type { EndpointAnswer, EndpointRequest } from './endpoints.js';

type NockReply = [number, string, Record<string, string>];
interface NockContext { req: { headers: Record<string, string | string[] | undefined> } }
// The slice of nock's API the kit uses, typed here so the published types never need nock installed.
interface NockInterceptor { reply(fn: (this: NockContext, uri: string, body: unknown) => Promise<NockReply>): NockScope }
interface NockScope {
  persist(): NockScope;
  get(path: (uri: string) => boolean): NockInterceptor;
  post(path: (uri: string) => boolean): NockInterceptor;
  interceptors: unknown[];
}
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

function headersOf(context: NockContext): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(context.req.headers)) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

/**
 * Intercepts the GETs (and with `post`, the POSTs) to `origin` the issuer serves with nock and answers them from
 * `answer(request)`. POSTs only when asked: an interceptor never matched stays in `nock.pendingMocks()`.
 */
export async function interceptWithNock(
  origin: string,
  serves: (pathname: string) => boolean,
  answer: (request: EndpointRequest, retried: boolean) => Promise<EndpointAnswer>,
  post = false,
): Promise<NockRoutes> {
  const nock = await loadNock();
  const held = new Set<() => void>();
  let closed = false;
  const reply = async (request: EndpointRequest, retried: boolean): Promise<NockReply> => {
    const result = await answer(request, retried);
    if (result.kind === 'reply') return [result.status, result.body, result.headers];
    // Never settles until recover() or close(): the client's own timeout is what ends the request.
    return new Promise((resolve) => {
      const retry = (): void => {
        held.delete(retry);
        if (closed) resolve([503, JSON.stringify({ error: 'closed' }), {}]);
        else void reply(request, true).then(resolve);
      };
      held.add(retry);
    });
  };
  const scope = nock(origin).persist();
  const matches = (uri: string): boolean => serves(new URL(uri, origin).pathname);
  for (const method of post ? ['GET', 'POST'] as const : ['GET'] as const) {
    const interceptor = method === 'GET' ? scope.get(matches) : scope.post(matches);
    interceptor.reply(function (this: NockContext, uri, body) {
      // nock hands over JSON bodies parsed; the endpoints read form bodies, so anything else is passed on as text.
      const text = typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body);
      const { pathname, search } = new URL(uri, origin);
      return reply({ method, pathname, search, headers: headersOf(this), body: text }, false);
    });
  }
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
