import type { McpServerFactory } from '@modelcontextprotocol/server';
import { ConfigurationError } from '../errors.js';
import type { McpPrimitiveDescription } from '../guards/describe-routes.js';
import { toolGuardRequirements } from './tool-guard.js';

interface Registered {
  readonly enabled?: boolean;
  readonly name?: string;
  readonly scopeChallenge?: unknown;
  readonly resourceTemplate?: { readonly uriTemplate?: unknown };
}
type Registry = Readonly<Record<string, Registered>>;

// McpServer keeps what was registered in these (public at runtime, private in its types): the SDK offers
// no listing with the scopeChallenge handlers, and a factory may register per request, so they are read
// from a server the factory makes.
interface McpServerRegistries {
  readonly _registeredTools: Registry;
  readonly _registeredResources: Registry;
  readonly _registeredResourceTemplates: Registry;
  readonly _registeredPrompts: Registry;
}
const REGISTRIES = ['_registeredTools', '_registeredResources', '_registeredResourceTemplates', '_registeredPrompts'] as const;

function described(kind: McpPrimitiveDescription['kind'], name: string, registered: Registered, uri?: string): McpPrimitiveDescription {
  const requirements = toolGuardRequirements(registered.scopeChallenge);
  const access = requirements !== undefined ? 'guarded' : registered.scopeChallenge === undefined ? 'unguarded' : 'unknown';
  return Object.freeze({ kind, name, ...(uri === undefined ? {} : { uri }), access, requirements: requirements ?? Object.freeze([]) });
}

function primitivesOf(server: unknown): McpPrimitiveDescription[] {
  const registries = server as Partial<McpServerRegistries> | null;
  if (typeof registries !== 'object' || registries === null) return [];
  if (!REGISTRIES.every((r) => typeof registries[r] === 'object' && registries[r] !== null)) {
    // A low-level Server has no tools of its own to read; an McpServer without them is an SDK this code does not know.
    if (typeof (server as { registerTool?: unknown }).registerTool !== 'function') return [];
    throw new ConfigurationError("describeRoutes() cannot read the tools of this @modelcontextprotocol/server version's McpServer; use a 2.x version koa-token-guard/mcp supports.");
  }
  const { _registeredTools: tools, _registeredResources: resources, _registeredResourceTemplates: templates, _registeredPrompts: prompts } = registries as McpServerRegistries;
  const enabled = (registry: Registry): [string, Registered][] => Object.entries(registry).filter(([, r]) => r.enabled !== false);
  return [
    ...enabled(tools).map(([name, r]) => described('tool', name, r)),
    ...enabled(resources).map(([uri, r]) => described('resource', r.name ?? uri, r, uri)),
    ...enabled(templates).map(([name, r]) => described('resourceTemplate', name, r, String(r.resourceTemplate?.uriTemplate))),
    ...enabled(prompts).map(([name, r]) => described('prompt', name, r)),
  ];
}

function serverFor(factory: McpServerFactory, era: 'modern' | 'legacy'): unknown {
  let server: unknown;
  try {
    server = factory({ era });
  } catch (error) {
    const failure = new ConfigurationError(`describeRoutes() reads the MCP route's tools from a server its factory makes, called with { era: '${era}' } and without authInfo, and the factory threw: let it build its tools without authInfo (the SDK's stdio entry calls it so too).`);
    throw Object.defineProperty(failure, 'cause', { value: error, configurable: true, writable: true });
  }
  if (typeof (server as { then?: unknown } | null)?.then === 'function') {
    (server as Promise<unknown>).then(undefined, () => undefined); // its outcome is not awaited
    throw new ConfigurationError("describeRoutes() reads the MCP route's tools from a server its factory makes, and serveMcp()'s factory returned a Promise, which it cannot wait for: return the McpServer synchronously (prepare what it needs once, outside the factory).");
  }
  return server;
}

/**
 * What an MCP route serves, per tool, resource and prompt, with their `toolGuard()`s: read from a server
 * the factory makes for each era the route serves (2026-07-28, and 2025 unless `legacy: 'reject'`),
 * without `authInfo`. A primitive registered in both eras is listed once, as the 2026-07-28 era has it.
 */
export function describeFactory(factory: McpServerFactory, legacy: 'stateless' | 'reject'): readonly McpPrimitiveDescription[] {
  const seen = new Map<string, McpPrimitiveDescription>();
  for (const era of legacy === 'reject' ? ['modern'] as const : ['modern', 'legacy'] as const) {
    for (const primitive of primitivesOf(serverFor(factory, era))) {
      const key = `${primitive.kind}\u0000${primitive.uri ?? primitive.name}`;
      if (!seen.has(key)) seen.set(key, primitive);
    }
  }
  return Object.freeze([...seen.values()]);
}
