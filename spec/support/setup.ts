// Root hooks: no network but loopback, and no nock interceptor leaks from one spec file into another.
import nock from 'nock';

export const mochaHooks = {
  beforeAll(): void {
    nock.disableNetConnect();
    nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);
  },
  afterAll(): void {
    nock.cleanAll();
    nock.enableNetConnect();
  },
};
