// A nock-faked OpenID Connect userinfo endpoint that counts its calls and records the bearer tokens it saw.
import nock from 'nock';

export type UserInfoAnswer = [status: number, body: unknown, headers?: Record<string, string>];

export interface FakeUserInfo {
  readonly url: string;
  /** Requests served so far. */
  count(): number;
  /** The `Authorization` header of each request, in order. */
  readonly authorizations: string[];
  /** Replace the answer: by default 200 with `{ sub, email }` for tokens signed by fakeProvider (sub user-1). */
  answer(fn: (authorization: string | undefined) => UserInfoAnswer | Promise<UserInfoAnswer>): void;
  /** Delay every answer by this many ms (for timeouts). */
  delay(ms: number): void;
}

export function fakeUserInfo(url: string): FakeUserInfo {
  const { origin, pathname } = new URL(url);
  const authorizations: string[] = [];
  let answer: (authorization: string | undefined) => UserInfoAnswer | Promise<UserInfoAnswer> = () => [200, { sub: 'user-1', email: 'ada@example.com' }];
  let delay = 0;
  nock(origin).persist().get(pathname).reply(async function reply() {
    const authorization = this.req.headers.authorization;
    authorizations.push(authorization ?? '');
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const [status, body, headers] = await answer(authorization);
    return [status, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/json', ...headers }];
  });
  return {
    url,
    count: () => authorizations.length,
    authorizations,
    answer: (fn) => {
      answer = fn;
    },
    delay: (ms) => {
      delay = ms;
    },
  };
}
