// `OTEL=1 npm start`: the example prints OpenTelemetry spans through the SDK's console exporter, our
// `koa-token-guard authenticate` under the HTTP server span, metrics when it stops, and never a token.
import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { devClients } from './dev-issuer.js';

const server = fileURLToPath(new URL('server.ts', import.meta.url));
const READY = 'OTEL is set';

/** The console exporter's output, one printed object per span or metric. */
const blocks = (out: string): string[] => out.split(/\n(?=\{\n)/).filter((b) => b.startsWith('{\n'));
const field = (block: string, re: RegExp): string | undefined => re.exec(block)?.[1];

describe('OTEL=1 npm start (examples/server.ts, examples/telemetry.ts)', function () {
  this.timeout(30_000);
  let child: ChildProcessWithoutNullStreams;
  let out = '';
  const until = async (done: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  };
  before(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', server], { env: { ...process.env, OTEL: '1', PORT: '0', ISSUER_PORT: '0' } });
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await until(() => out.includes(READY) || child.exitCode !== null);
  });
  after(() => void child.kill('SIGKILL'));

  it('prints koa-token-guard authenticate spans under the HTTP server spans (accepted, refused), metrics on SIGTERM, and no token or secret', async () => {
    expect(out).to.include(READY);
    const base = /koa-token-guard example on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    const tokenEndpoint = /(http:\/\/127\.0\.0\.1:\d+\/token)/.exec(out)![1]!;
    const { clientId, clientSecret } = devClients.reader;
    const grant = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    const { access_token: token } = await grant.json() as { access_token: string };
    const printed = out.length; // the banner prints client secrets for the reader to paste: scan only what follows
    expect((await fetch(`${base}/messages`, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(200);
    expect((await fetch(`${base}/messages`)).status).to.equal(401);
    const ours = () => blocks(out.slice(printed)).filter((b) => b.includes("name: 'koa-token-guard authenticate'"));
    const httpServer = () => blocks(out.slice(printed)).filter((b) => b.includes("name: '@opentelemetry/instrumentation-http'") && /\bkind: 1,/.test(b) && b.includes("'url.path': '/messages'"));
    // A server span ends (and prints) after the answer is sent, so after ours.
    await until(() => ours().length >= 2 && httpServer().length >= 2);

    const httpServerSpans = new Map(httpServer().map((b) => [field(b, /\n {2}id: '([0-9a-f]+)'/), b]));
    expect(ours().map((b) => field(b, /'koa_token_guard\.outcome': '(\w+)'/))).to.deep.equal(['accepted', 'refused']);
    expect(field(ours()[1]!, /'error\.type': '(\w+)'/)).to.equal('credentials_missing');
    for (const span of ours()) {
      const parent = httpServerSpans.get(field(span, /parentSpanContext: \{[^}]*spanId: '([0-9a-f]+)'/));
      expect(parent, 'the HTTP server span is the parent').to.not.equal(undefined);
      expect(field(parent!, /'url\.path': '([^']+)'/)).to.equal('/messages');
    }

    child.kill('SIGTERM');
    await once(child, 'exit');
    expect(out.slice(printed)).to.include("name: 'koa_token_guard.authentications'");
    for (const secret of [token, clientSecret, ...token.split('.')]) expect(out.slice(printed)).not.to.include(secret);
  });
});
