// The MCP SDK's own v2 client against the MCP server `npm start` serves on /mcp, printing each HTTP exchange:
//   npx tsx examples/mcp/call.ts [url] [issuer]
// url defaults to http://127.0.0.1:3000/mcp; issuer is the authorization server the client's credentials belong
// to (the banner prints both). Discovery from the 401, a client-credentials token for this resource, tools listed
// and called, then a tool needing messages:admin: our 403, the client's automatic step-up, and the retried call.
import { Client, ClientCredentialsProvider, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

/** The development issuer's MCP client (examples/dev-issuer.ts): it may have messages:admin when it asks. */
const AGENT = { clientId: 'mcp-agent', clientSecret: 'mcp-agent-secret' };

/** One HTTP exchange the client made, and what it says. */
export interface Exchange {
  readonly status: number;
  readonly method: string;
  /** The path on the MCP server, or the whole URL elsewhere (the authorization server). */
  readonly target: string;
  /** The MCP method (and tool) of an MCP request, or what the answer carried worth seeing. */
  readonly notes: readonly string[];
}

const list = (value: unknown): string => (Array.isArray(value) ? value.join(' ') : String(value));

/** What an answer from the metadata or token endpoints says, in a line or two; never the token itself. */
async function describe(url: URL, reply: Response): Promise<string[]> {
  if (!reply.ok || !(reply.headers.get('content-type') ?? '').includes('json')) return [];
  const body = (await reply.clone().json()) as Record<string, unknown>;
  if (url.pathname.startsWith('/.well-known/oauth-protected-resource')) {
    return [`RFC 9728 metadata: resource ${String(body.resource)}, authorization_servers ${list(body.authorization_servers)}, scopes_supported ${list(body.scopes_supported)}`];
  }
  if (url.pathname.startsWith('/.well-known/')) return [`RFC 8414 metadata: issuer ${String(body.issuer)}, token_endpoint ${String(body.token_endpoint)}`];
  if (typeof body.access_token === 'string') return [`${String(body.token_type)} token, scope "${String(body.scope)}"`];
  return [];
}

/** What a request sent worth seeing: the MCP method and tool, or the token request's grant, scope and resource. */
function sent(init: RequestInit | undefined): string[] {
  const headers = new Headers(init?.headers);
  const method = headers.get('mcp-method');
  if (method !== null) return [`${method}${headers.has('mcp-name') ? ` ${headers.get('mcp-name')}` : ''}`];
  if (init?.body instanceof URLSearchParams) {
    const form = init.body;
    return [`${form.get('grant_type')}, scope "${form.get('scope')}", resource ${form.get('resource')}`];
  }
  return [];
}

/** Runs the client against `url`; `onExchange` sees each exchange as it happens. Returns them all, and the tools' answers. */
export async function callMcp(url: URL, issuer: string | undefined, onExchange: (exchange: Exchange) => void = () => {}): Promise<{ exchanges: Exchange[]; results: string[] }> {
  const exchanges: Exchange[] = [];
  const recording: typeof fetch = async (input, init) => {
    const target = new URL(input instanceof Request ? input.url : String(input));
    const reply = await fetch(input, init);
    const challenge = reply.headers.get('www-authenticate');
    const exchange: Exchange = {
      status: reply.status,
      method: init?.method ?? 'GET',
      target: target.origin === url.origin ? target.pathname : target.href,
      notes: [...sent(init), ...(challenge === null ? [] : [`WWW-Authenticate: ${challenge}`]), ...(await describe(target, reply))],
    };
    exchanges.push(exchange);
    onExchange(exchange);
    return reply;
  };
  // Without an issuer the credentials go to whichever authorization server the resource names: fine on loopback only.
  const authProvider = issuer === undefined ? new ClientCredentialsProvider(AGENT) : new ClientCredentialsProvider({ ...AGENT, expectedIssuer: issuer });
  const transport = new StreamableHTTPClientTransport(url, { authProvider, fetch: recording });
  const client = new Client({ name: 'koa-token-guard-example', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  const results: string[] = [];
  const text = (result: Awaited<ReturnType<Client['callTool']>>): string => (result.content as Array<{ text?: string }>).map((c) => c.text).join(' ');
  await client.connect(transport);
  try {
    results.push(`tools: ${(await client.listTools()).tools.map((t) => t.name).join(', ')}`);
    results.push(`post_message: ${text(await client.callTool({ name: 'post_message', arguments: { text: 'hello from the MCP client' } }))}`);
    results.push(`list_messages: ${text(await client.callTool({ name: 'list_messages', arguments: {} }))}`);
    // Needs messages:admin, which the first token did not ask for: our 403, then the SDK's step-up.
    results.push(`purge_messages: ${text(await client.callTool({ name: 'purge_messages', arguments: {} }))}`);
  } finally {
    await client.close();
  }
  return { exchanges, results };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url = 'http://127.0.0.1:3000/mcp', issuer] = process.argv.slice(2);
  console.log(`MCP client (SDK v2, protocol 2026-07-28) on ${url}, one line per HTTP exchange:\n`);
  const { results } = await callMcp(new URL(url), issuer, ({ status, method, target, notes }) => {
    console.log(`${status}  ${method} ${target}${notes.map((note) => `\n       ${note}`).join('')}`);
  });
  console.log(`\nWhat the tools answered:\n${results.map((r) => `  ${r}`).join('\n')}`);
}
