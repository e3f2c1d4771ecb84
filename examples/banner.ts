// What `npm start` prints: shell lines that get tokens the way a client does (the client-credentials grant at the
// development issuer's token endpoint), then one curl per behaviour with the answer it should get. Kept as data so
// examples/banner.spec.ts runs exactly these lines.
import { devClients, type DevClient, type DevIssuer } from './dev-issuer.js';

/** One printed command (or several with one expectation) and the answer each should get. */
export interface ExampleStep {
  /** The comment printed above the commands. */
  readonly say: string;
  readonly status: number;
  /** The WWW-Authenticate the answer carries, when the comment names one. */
  readonly challenge?: string;
  readonly commands: readonly string[];
}

export interface ExampleScript {
  /** Shell lines that fetch the tokens into variables. */
  readonly setup: readonly string[];
  readonly steps: readonly ExampleStep[];
}

/** The DPoP walk-through printed last: curl cannot sign DPoP proofs (RFC 9449), so a script makes them (examples/dpop/call.ts, with its spec). */
export const DPOP_CALL = 'npx tsx examples/dpop/call.ts';

/** The MCP walk-through printed after it: the MCP SDK's own client against /mcp, with the issuer its credentials belong to. */
export const mcpCall = (base: string, dev: Pick<DevIssuer, 'issuer'>): string => `npx tsx examples/mcp/call.ts ${base}/mcp ${dev.issuer}`;

const scopeError = (scope: string): string =>
  `Bearer realm="api", error="insufficient_scope", error_description="requires scope ${scope}", scope="${scope}"`;
const tokenError = (description: string): string => `Bearer realm="api", error="invalid_token", error_description="${description}"`;

/** The lines for an API on `base` and its development issuer; `forged` is a token signed by a key nobody publishes. */
export function exampleScript(base: string, dev: DevIssuer, forged: string): ExampleScript {
  const get = (variable: string, { clientId, clientSecret }: DevClient): string => `${variable}=$(token -u ${clientId}:${clientSecret})`;
  const auth = (variable: string): string => `-H "Authorization: Bearer $${variable}"`;
  const { clientId, clientSecret, endpoint } = dev.introspection;
  return {
    setup: [
      `token() { curl -s -d grant_type=client_credentials "$@" ${dev.tokenEndpoint} | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token'; }`,
      get('READ', devClients.reader),
      get('WRITE', devClients.writer),
      get('NONE', devClients.profileOnly),
      get('ADMIN', devClients.admin),
      get('OWNER', devClients.owner),
      get('STRANGER', devClients.stranger),
      get('EXPIRED', { clientId: 'expired', clientSecret: 'expired-secret' }),
      get('OPAQUE', devClients.legacy),
      `FORGED=${forged}`,
    ],
    steps: [
      { say: '200: public route', status: 200, commands: [`curl -i ${base}/health`] },
      { say: '401, WWW-Authenticate: Bearer realm="api"  (no token)', status: 401, challenge: 'Bearer realm="api"', commands: [`curl -i ${base}/messages`] },
      { say: '200: JWT with read:messages (client "reader")', status: 200, commands: [`curl -i ${auth('READ')} ${base}/messages`] },
      { say: '201: JWT with write:messages (client "writer")', status: 201, commands: [`curl -i -X POST ${auth('WRITE')} ${base}/messages`] },
      {
        say: '403, error="insufficient_scope", scope="read:messages"  (a token without the read scope)',
        status: 403,
        challenge: scopeError('read:messages'),
        commands: [`curl -i ${auth('NONE')} ${base}/messages`],
      },
      {
        say: '401, error="invalid_token", error_description="token expired"  (client "expired" gets tokens born an hour old)',
        status: 401,
        challenge: tokenError('token expired'),
        commands: [`curl -i ${auth('EXPIRED')} ${base}/messages`],
      },
      {
        say: '401, error="invalid_token", error_description="invalid signature"  (signed by a key the issuer never published)',
        status: 401,
        challenge: tokenError('invalid signature'),
        commands: [`curl -i ${auth('FORGED')} ${base}/messages`],
      },
      {
        say: '200: an opaque token (client "legacy" gets reference tokens): the API introspects it at the issuer (RFC 7662)',
        status: 200,
        commands: [`curl -i ${auth('OPAQUE')} ${base}/messages`],
      },
      { say: '201: the same opaque token writes too (its answer is cached: no second introspection call)', status: 201, commands: [`curl -i -X POST ${auth('OPAQUE')} ${base}/messages`] },
      {
        say: '200: what the API\'s introspection call gets, with the API\'s own client credentials',
        status: 200,
        commands: [`curl -i -u ${clientId}:${clientSecret} -d "token=$OPAQUE" ${endpoint}`],
      },
      { say: '200: your own user record, found by resolveUser in the example\'s user store', status: 200, commands: [`curl -i ${auth('READ')} ${base}/me`] },
      {
        say: '401, error="invalid_token", error_description="unknown user"  (valid token, no such user)',
        status: 401,
        challenge: tokenError('unknown user'),
        commands: [`curl -i ${auth('STRANGER')} ${base}/me`],
      },
      {
        say: '204: the admin route takes the admin scope, or the role claim "owner" (anyOf)',
        status: 204,
        commands: [`curl -i -X DELETE ${auth('ADMIN')} ${base}/messages/1`, `curl -i -X DELETE ${auth('OWNER')} ${base}/messages/2`],
      },
      {
        say: '403, error="insufficient_scope", scope="admin"  (the write token is neither admin nor owner)',
        status: 403,
        challenge: scopeError('admin'),
        commands: [`curl -i -X DELETE ${auth('WRITE')} ${base}/messages/3`],
      },
      { say: '200: the nested /admin router guards all its routes with the admin scope', status: 200, commands: [`curl -i ${auth('ADMIN')} ${base}/admin/stats`] },
      {
        say: '403, scope="admin": the owner role opens DELETE /messages/:id only, not the /admin router',
        status: 403,
        challenge: scopeError('admin'),
        commands: [`curl -i ${auth('OWNER')} ${base}/admin/stats`],
      },
    ],
  };
}

/** The text `npm start` prints. */
export function banner(base: string, dev: DevIssuer, script: ExampleScript): string {
  return `koa-token-guard example on ${base}  (development issuer ${dev.issuer})

First get tokens as a client does: the client-credentials grant (RFC 6749 §4.4) at the issuer's token endpoint.
Paste these into a bash or zsh shell; \`node -pe\` picks access_token out of the JSON answer:

${script.setup.join('\n')}

Then try these (each says the answer it should get):

${script.steps.map((step) => `# ${step.say}\n${step.commands.join('\n')}`).join('\n\n')}

# DPoP (RFC 9449): curl cannot sign proofs, so this script does (a bound token: 401 use_dpop_nonce, 200 with the nonce, 401 on replay)
${DPOP_CALL}

# MCP on ${base}/mcp (examples/mcp): the MCP SDK's own client finds the issuer from the 401 (RFC 9728), gets a token, calls tools, and steps up on our 403
${mcpCall(base, dev)}

Ctrl-C to stop.`;
}
