// Test certificates: CAs, intermediates and client or serving certificates
// with the extensions a test asks for, made with @peculiar/x509 (installed
// with selfsigned) on Web Crypto ECDSA P-256 keys, which are quick to make.
// Tests only.
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 24 * 60 * 60 * 1000;

export interface Issued {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM PKCS#8 private key. */
  readonly key: string;
  /** DER certificate. */
  readonly der: Buffer;
  readonly x509: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

export interface CertOptions {
  readonly cn?: string;
  /** Subject organizations (O), in order: the groups of an x509 user. */
  readonly organizations?: readonly string[];
  /** Signed by this CA; self-signed when absent. */
  readonly issuer?: Issued;
  readonly ca?: boolean;
  readonly pathLength?: number;
  /** Extended key usage OIDs; none (no extension) when absent. */
  readonly eku?: readonly string[];
  /** Key usage flags; by default keyCertSign|cRLSign for CAs, digitalSignature for others. */
  readonly keyUsage?: number;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** DNS names and IP addresses for serving certificates. */
  readonly dnsNames?: readonly string[];
  readonly ips?: readonly string[];
  /** Extra extensions, for unusual cases (a critical unknown extension...). */
  readonly extensions?: readonly x509.Extension[];
}

export const EKU = {
  clientAuth: x509.ExtendedKeyUsage.clientAuth as string,
  serverAuth: x509.ExtendedKeyUsage.serverAuth as string,
  any: '2.5.29.37.0',
} as const;

function pemKey(pkcs8: ArrayBuffer): string {
  const b64 = Buffer.from(pkcs8)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64.trim()}\n-----END PRIVATE KEY-----\n`;
}

function escapeRdn(v: string): string {
  return v.replace(/([,+"\\<>;=])/g, '\\$1');
}

let serial = 1;

/** Makes a certificate as described. */
export async function issue(options: CertOptions = {}): Promise<Issued> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const ca = options.ca ?? false;
  const subject = [`CN=${escapeRdn(options.cn ?? 'test')}`, ...(options.organizations ?? []).map((o) => `O=${escapeRdn(o)}`)].join(', ');
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(ca, ca ? options.pathLength : undefined, true),
    new x509.KeyUsagesExtension(options.keyUsage ?? (ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature), true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (options.eku) extensions.push(new x509.ExtendedKeyUsageExtension([...options.eku], false));
  if (options.issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(options.issuer.keys.publicKey));
  const names = [...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })), ...(options.ips ?? []).map((value) => ({ type: 'ip' as const, value }))];
  if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  extensions.push(...(options.extensions ?? []));
  const now = Date.now();
  const common = {
    serialNumber: (serial++).toString(16).padStart(4, '0'),
    notBefore: options.notBefore ?? new Date(now - DAY),
    notAfter: options.notAfter ?? new Date(now + 30 * DAY),
    signingAlgorithm: SIGN,
    extensions,
  };
  const cert = options.issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject,
        issuer: options.issuer.x509.subjectName,
        publicKey: keys.publicKey,
        signingKey: options.issuer.keys.privateKey,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: subject, keys });
  const key = pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- X509Certificate.toString('pem') is its own PEM encoder
  return { cert: cert.toString('pem'), key, der: Buffer.from(cert.rawData), x509: cert, keys };
}

/** A self-signed CA. */
export function issueCA(cn: string, options: Omit<CertOptions, 'cn' | 'ca'> = {}): Promise<Issued> {
  return issue({ ...options, cn, ca: true });
}

/** A client certificate (clientAuth) signed by `issuer`. */
export function issueClient(issuer: Issued, cn: string, options: Omit<CertOptions, 'cn' | 'issuer'> = {}): Promise<Issued> {
  return issue({ eku: [EKU.clientAuth], ...options, cn, issuer });
}

/** A serving certificate for 127.0.0.1 and localhost, signed by `issuer`. */
export function issueServing(issuer: Issued): Promise<Issued> {
  return issue({ cn: 'localhost', issuer, eku: [EKU.serverAuth], keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, dnsNames: ['localhost'], ips: ['127.0.0.1'] });
}

export { x509 };
