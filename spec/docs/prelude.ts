// What the documentation's snippets take as given, so they can stay short: the app and router a reader
// already has, their handlers and services, and the package's functions. A snippet that imports a name
// itself shadows the one declared here. Relative imports of a snippet land in the virtual files below.

/** Declarations every snippet sees (a `.d.ts` module whose globals are the reader's app). */
export const PRELUDE = `
import type Koa from 'koa';
import type { RouterMiddleware } from '@koa/router';
import type { AuthState, Guard, IntrospectionOptions } from 'koa-token-guard';
import type { TestIssuer } from 'koa-token-guard/testing';
import type { RedisClientLike } from 'koa-token-guard/redis';
import type { Server } from 'node:http';

type Handler = RouterMiddleware<AuthState>;
interface UserRecord { id: number; email: string }

declare global {
  // The reader's app, router and settings.
  const app: Koa<AuthState>;
  const router: InstanceType<typeof import('@koa/router').default<AuthState>>;
  const issuer: string;
  const audience: string;
  const origin: string;
  const key: string;
  const cert: string;
  // The reader's route handlers.
  const health: Handler, list: Handler, listMessages: Handler, create: Handler, remove: Handler, stats: Handler, transfer: Handler;
  // The reader's services.
  const client: RedisClientLike;
  const db: { users: { findBySub(sub: string | undefined): Promise<UserRecord | undefined>; create(user: { sub: string | undefined; email: unknown }): Promise<UserRecord> } };
  const metrics: { increment(name: string): void };
  const tenants: { byIssuer(iss: string): Promise<object | undefined> };
  const openapi: { components?: { securitySchemes?: Record<string, unknown> }; paths: Record<string, Record<string, object>> };
  function createApp(options: { issuer: string; audience: string; introspection?: IntrospectionOptions }): Koa<AuthState>;
  // The MCP server's pieces (see examples/mcp/app.ts).
  function readJson(ctx: Koa.Context): Promise<unknown>;
  function toolCalled(body: unknown): string;
  const toolGuards: Map<string, Guard>;
  const server: { connect(transport: unknown): Promise<void> };
  const transport: { handleRequest(req: unknown, res: unknown, body: unknown): Promise<void> };
  const testIssuer: TestIssuer;
  const httpServer: Server;
  // The package's functions a snippet may use without importing them.
  const authenticate: typeof import('koa-token-guard').authenticate;
  const requireScopes: typeof import('koa-token-guard').requireScopes;
  const requireClaim: typeof import('koa-token-guard').requireClaim;
  const requireAuthLevel: typeof import('koa-token-guard').requireAuthLevel;
  const defineScopes: typeof import('koa-token-guard').defineScopes;
  const describeRoutes: typeof import('koa-token-guard').describeRoutes;
  const redisStore: typeof import('koa-token-guard/redis').redisStore;
  const createTestIssuer: typeof import('koa-token-guard/testing').createTestIssuer;
  const expect: typeof import('chai').expect;
}
`;

/** The reader's own modules, as snippets import them: snippets sit in `src/`, so `./claims.js` and a spec's `../src/app.js` land here. */
export const VIRTUAL_FILES = {
  'src/app.ts': `import type Koa from 'koa';
import type { AuthState } from 'koa-token-guard';
export declare function createApp(options: { issuer: string; audience: string }): Koa<AuthState>;
`,
};
