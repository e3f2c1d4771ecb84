// A JWKS endpoint on nock whose answer a spec switches at will: up, down, rate limited, with headers.
import nock from 'nock';
import type { JWK } from 'jose';
import { uniqueIssuer } from './provider.js';

export interface JwksEndpoint {
  url: string;
  /** Requests served so far. */
  count(): number;
  /** Answer with these keys (200) and headers from now on. */
  up(keys: JWK[], headers?: Record<string, string>): void;
  /** Answer with this status (and headers) from now on. */
  down(status?: number, headers?: Record<string, string>): void;
}

export function jwksEndpoint(keys: JWK[] = []): JwksEndpoint {
  const url = `${uniqueIssuer()}jwks`;
  let reply: [number, unknown, Record<string, string>] = [200, { keys }, {}];
  let count = 0;
  nock(new URL(url).origin).persist().get('/jwks').reply(() => {
    count++;
    return reply;
  });
  return {
    url,
    count: () => count,
    up: (next, headers = {}) => {
      reply = [200, { keys: next }, headers];
    },
    down: (status = 503, headers = {}) => {
      reply = [status, 'unavailable', headers];
    },
  };
}

/** Waits (real time) until the condition holds: for background refreshes whose promise no one awaits. */
export async function eventually(condition: () => boolean, ms = 2000): Promise<void> {
  const until = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
