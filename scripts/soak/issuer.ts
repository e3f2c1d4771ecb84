// The soak's development issuer, in its own process (forked by scripts/soak.ts, IPC for commands):
// discovery and JWKS on a fixed loopback port, keys persisted to SOAK_KEYS so that a restart after a
// kill publishes the same keys (known keys stay known), and tokens minted on request.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { exportJWK, importJWK, type JWK } from 'jose';
import { createTestIssuer, createTestKey, type TestKey } from '../../lib/testing/index.js';

export type TokenKind = 'valid' | 'expired' | 'forged' | 'unknown-kid';
export type IssuerCommand = { id: number; type: 'rotate' | 'stats' | 'slow-introspection' | 'recover' }
  | { id: number; type: 'mint'; kind: TokenKind; count: number; kid?: string } | { id: number; type: 'mint-opaque'; count: number };

/** What the test kit offers once it serves RFC 7662 introspection (the soak adds that phase then). */
interface IntrospectingKit {
  readonly introspection?: { clientId: string; clientSecret?: string } | undefined;
  issueOpaque?(claims?: Record<string, unknown>): string;
}

const file = process.env.SOAK_KEYS!;
const audience = process.env.SOAK_AUDIENCE!;

async function loadKeys(): Promise<TestKey[]> {
  if (!existsSync(file)) return [await createTestKey('ES256')];
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { kid: string; privateJwk: JWK; publicJwk: JWK }[];
  return Promise.all(stored.map(async (k) => ({ alg: 'ES256' as const, kid: k.kid, privateKey: await importJWK(k.privateJwk, 'ES256', { extractable: true }) as CryptoKey, publicJwk: k.publicJwk })));
}

async function saveKeys(keys: readonly TestKey[]): Promise<void> {
  const stored = await Promise.all(keys.map(async (k) => ({ kid: k.kid, privateJwk: await exportJWK(k.privateKey), publicJwk: k.publicJwk })));
  writeFileSync(file, JSON.stringify(stored));
}

const keys = await loadKeys();
await saveKeys(keys);
const kit = await createTestIssuer({
  port: Number(process.env.SOAK_ISSUER_PORT ?? 0), audience, keys: keys.slice(0, 1), expiresIn: 3600,
  claims: { sub: 'soak-user', client_id: 'soak-client', scope: 'read:messages' },
  // Ignored by a kit without introspection; the secret is fixed so that a restart keeps it.
  ...({ introspection: { clientId: 'soak-api', clientSecret: 'soak-secret-0123456789abcdef' } } as object),
});
const introspecting = kit as unknown as IntrospectingKit;
const introspection = typeof introspecting.issueOpaque === 'function' && introspecting.introspection
  ? { clientId: introspecting.introspection.clientId, clientSecret: introspecting.introspection.clientSecret ?? '' } : undefined;
// After a restart: every persisted key published again, the newest signing.
for (const key of keys.slice(1)) await kit.addKey('ES256', { key, current: true });
let minted = 0;

process.on('message', (message: IssuerCommand) => {
  void (async () => {
    switch (message.type) {
      case 'rotate': {
        const key = await kit.rotate('ES256');
        await saveKeys(kit.keys);
        return { kid: key.kid };
      }
      case 'stats': return kit.requests;
      case 'mint-opaque': return Array.from({ length: message.count }, () => introspecting.issueOpaque!({ scope: 'read:messages' }));
      case 'slow-introspection':
        kit.outage({ endpoint: 'introspection', delay: 2000 } as unknown as Parameters<typeof kit.outage>[0]);
        return undefined;
      case 'recover':
        kit.recover();
        return undefined;
      case 'mint': {
        const key = message.kid === undefined ? undefined : kit.keys.find((k) => k.kid === message.kid);
        const tokens: string[] = [];
        for (let i = 0; i < message.count; i++) {
          const jti = `soak-${process.pid}-${minted++}`;
          tokens.push(await kit.sign({ jti }, {
            key, expired: message.kind === 'expired', wrongSignature: message.kind === 'forged',
            ...(message.kind === 'unknown-kid' ? { kid: `unknown-${jti}` } : {}),
          }));
        }
        return tokens;
      }
    }
  })().then((result) => process.send!({ id: message.id, result }));
});
process.send!({ id: 0, result: { issuer: kit.issuer, introspection } });
