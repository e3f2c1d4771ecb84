// Client certificates made in the spec, self-signed like the ones RFC 8705 section 3 allows: an ECDSA P-256
// key from WebCrypto and an X.509 certificate from @peculiar/x509 (which needs a Reflect polyfill first).
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export interface ClientCertificate {
  /** The certificate as PEM. */
  pem: string;
  /** Its DER encoding. */
  der: Buffer;
  /** The private key as PKCS#8 PEM, for a TLS client. */
  keyPem: string;
  /** Node's view of the certificate. */
  x509: X509Certificate;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
let serial = 0;

function pem(label: string, der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g)!;
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A new self-signed client certificate with its own key. */
export async function clientCertificate(name = 'client'): Promise<ClientCertificate> {
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (++serial).toString(16).padStart(2, '0'),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: ALGORITHM,
    keys,
  });
  const der = Buffer.from(certificate.rawData);
  return {
    pem: pem('CERTIFICATE', certificate.rawData),
    der,
    keyPem: pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey)),
    x509: new X509Certificate(der),
  };
}
