/**
 * `koa-token-guard/mcp`: an MCP server (`@modelcontextprotocol/server` 2.x, an optional peer dependency)
 * served by Koa behind `authenticate()`, with per-tool guards whose refusals are this library's challenges.
 */
export { serveMcp, type McpMiddleware } from './serve.js';
export { toolGuard } from './tool-guard.js';
export type { McpPrimitiveDescription, McpRouteLike } from '../guards/describe-routes.js';
export { MCP_DEFAULTS, type McpCorsOptions, type ServeMcpOptions } from './options.js';
export { mcpAuthInfo, type McpAuthInfo } from '../koa/mcp.js';
