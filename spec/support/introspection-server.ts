// An authorization server on a real loopback port for the introspection specs: discovery (naming its
// introspection endpoint), JWKS, and an RFC 7662 endpoint that checks our client authentication,
// records every request, counts concurrent calls, and can answer RFC 9701 signed answers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { signingKey, type SigningKey } from './provider.js';

export interface RecordedRequest {
  method: string;
  headers: http.IncomingHttpHeaders;
  params: URLSearchParams;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export interface ServerOptions {
  clientId?: string;
  clientSecret?: string;
  /** Accept `private_key_jwt` assertions signed by this key instead of a secret. */
  clientPublicJwk?: JWK;
  /** The `aud` those assertions must carry: `'issuer'` (default, RFC 7523bis) or `'endpoint'` (Okta's rule). */
  assertionAudience?: 'issuer' | 'endpoint';
  audience?: string;
}

export interface IntrospectionServer {
  issuer: string;
  endpoint: string;
  audience: string;
  clientId: string;
  clientSecret: string;
  key: SigningKey;
  /** Every introspection request, in order. */
  requests: RecordedRequest[];
  /** Introspection calls currently being answered, and the most at once. */
  inFlight: { now: number; peak: number };
  discoveryCount(): number;
  /** A new opaque token whose answer is active with these members (an undefined member is removed). */
  issue(members?: Record<string, unknown>): string;
  /** A JWT access token signed with the server's key (introspects as active too). */
  signJwt(claims?: Record<string, unknown>): Promise<string>;
  /** Sets the answer for a token. */
  answer(token: string, members: Record<string, unknown>): void;
  revoke(token: string): void;
  /** Delay (ms) before each introspection answer. */
  delay: number;
  /** Replaces every introspection answer (error rows); undefined restores normal answers. */
  override: ((request: RecordedRequest) => Reply | Promise<Reply>) | undefined;
  /** RFC 9701 answers: overrides of the JWT's claims and header, and the key that signs it. */
  jwt: { claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: SigningKey };
  close(): Promise<void>;
}

const now = (): number => Math.floor(Date.now() / 1000);

function withoutUndefined(members: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(members).filter(([, v]) => v !== undefined));
}

export async function introspectionServer(options: ServerOptions = {}): Promise<IntrospectionServer> {
  const key = await signingKey('ES256', 'introspection-as');
  const answers = new Map<string, Record<string, unknown>>();
  let discovery = 0;
  let issuer = '';
  const clientId = options.clientId ?? 'messages-api';
  const clientSecret = options.clientSecret ?? 's3cr3t: with "odd" chars & more';
  const audience = options.audience ?? 'https://api.example.com';

  async function authenticated(request: RecordedRequest): Promise<boolean> {
    const { params, headers } = request;
    if (options.clientPublicJwk !== undefined) {
      if (params.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return false;
      try {
        const { payload } = await jwtVerify(params.get('client_assertion') ?? '', await importJWK(options.clientPublicJwk, options.clientPublicJwk.alg), {
          issuer: clientId, subject: clientId, audience: options.assertionAudience === 'endpoint' ? `${issuer}introspect` : issuer,
          requiredClaims: ['jti', 'exp', 'iat'],
        });
        return payload.exp! - payload.iat! <= 300;
      } catch {
        return false;
      }
    }
    const basic = /^Basic (.+)$/.exec(headers.authorization ?? '');
    if (basic !== null) {
      const [id, secret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
      return id === clientId && secret === clientSecret && !params.has('client_secret');
    }
    return params.get('client_id') === clientId && params.get('client_secret') === clientSecret;
  }

  const server: IntrospectionServer = {
    issuer: '',
    endpoint: '',
    audience,
    clientId,
    clientSecret,
    key,
    requests: [],
    inFlight: { now: 0, peak: 0 },
    discoveryCount: () => discovery,
    issue(members = {}) {
      const token = `opaque_${randomBytes(24).toString('base64url')}`;
      answers.set(token, withoutUndefined({
        active: true, iss: issuer, aud: audience, sub: 'user-1', scope: 'read:messages', client_id: 'client-app',
        token_type: 'Bearer', iat: now(), exp: now() + 300, ...members,
      }));
      return token;
    },
    async signJwt(claims = {}) {
      const jwt = await new SignJWT(withoutUndefined({ iss: issuer, aud: audience, sub: 'user-1', scope: 'read:messages', iat: now(), exp: now() + 300, ...claims }))
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }).sign(key.privateKey);
      answers.set(jwt, { active: true, iss: issuer, aud: audience, sub: 'user-1', scope: 'read:messages', exp: now() + 300, ...claims });
      return jwt;
    },
    answer(token, members) {
      answers.set(token, members);
    },
    revoke(token) {
      answers.delete(token);
    },
    delay: 0,
    override: undefined,
    jwt: {},
    close: async () => {
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };

  async function introspect(request: RecordedRequest): Promise<Reply> {
    if (server.override !== undefined) return server.override(request);
    if (!(await authenticated(request))) return { status: 401, headers: { 'www-authenticate': 'Basic' }, body: '{"error":"invalid_client"}' };
    const answer = answers.get(request.params.get('token') ?? '') ?? { active: false };
    if (request.headers.accept !== 'application/token-introspection+jwt') {
      return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(answer) };
    }
    const signer = server.jwt.key ?? key;
    const jwt = await new SignJWT(withoutUndefined({ iss: issuer, aud: clientId, iat: now(), token_introspection: answer, ...server.jwt.claims }))
      .setProtectedHeader(withoutUndefined({ alg: signer.alg, kid: signer.kid, typ: 'token-introspection+jwt', ...server.jwt.header }) as { alg: string })
      .sign(signer.privateKey);
    return { status: 200, headers: { 'content-type': 'application/token-introspection+jwt' }, body: jwt };
  }

  const httpServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let reply: Reply;
        if (req.url === '/.well-known/openid-configuration') {
          discovery++;
          reply = { status: 200, body: JSON.stringify({ issuer, jwks_uri: `${issuer}jwks`, introspection_endpoint: `${issuer}introspect`, userinfo_endpoint: `${issuer}userinfo` }) };
        } else if (req.url === '/userinfo') {
          const answer = answers.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
          reply = answer?.active === true ? { status: 200, body: JSON.stringify({ sub: answer.sub, name: 'Ada' }) } : { status: 401, body: '' };
        } else if (req.url === '/jwks') {
          reply = { status: 200, body: JSON.stringify({ keys: [key.publicJwk] }) };
        } else if (req.url === '/introspect') {
          const request = { method: req.method!, headers: req.headers, params: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) };
          server.requests.push(request);
          server.inFlight.now++;
          server.inFlight.peak = Math.max(server.inFlight.peak, server.inFlight.now);
          try {
            if (server.delay > 0) await new Promise((resolve) => setTimeout(resolve, server.delay));
            reply = await introspect(request);
          } finally {
            server.inFlight.now--;
          }
        } else {
          reply = { status: 404, body: '' };
        }
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(reply.body);
      })();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/`;
  server.issuer = issuer;
  server.endpoint = `${issuer}introspect`;
  return server;
}
