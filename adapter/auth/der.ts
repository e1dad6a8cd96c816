// A minimal DER reader for X.509 certificates: just the fields client
// certificate verification needs (names, validity, a few extensions).
// node:crypto's X509Certificate verifies signatures but does not expose
// basicConstraints' path length, the key usage bits, which extensions are
// critical or the raw issuer and subject names, and its extended key usage
// property has changed name across Node versions; reading the DER ourselves
// gives the same answer on every Node version.

export class DerError extends Error {
  constructor(message: string) {
    super(`malformed certificate: ${message}`);
    this.name = 'DerError';
  }
}

/** One TLV: its tag byte, its content and the whole encoding. */
interface Tlv {
  readonly tag: number;
  readonly content: Buffer;
  readonly raw: Buffer;
}

const TAG_BOOLEAN = 0x01;
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OCTET_STRING = 0x04;
const TAG_OID = 0x06;
const TAG_UTF8 = 0x0c;
const TAG_PRINTABLE = 0x13;
const TAG_T61 = 0x14;
const TAG_IA5 = 0x16;
const TAG_UTC_TIME = 0x17;
const TAG_GENERALIZED_TIME = 0x18;
const TAG_UNIVERSAL_STRING = 0x1c;
const TAG_BMP = 0x1e;
const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;

function readTlv(buf: Buffer, offset: number): { tlv: Tlv; next: number } {
  if (offset + 2 > buf.length) throw new DerError('truncated');
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in certificates');
  let len = buf[offset + 1] as number;
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('unsupported length');
    if (offset + 2 + n > buf.length) throw new DerError('truncated');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[offset + 2 + i] as number);
    header += n;
  }
  const end = offset + header + len;
  if (end > buf.length) throw new DerError('truncated');
  return { tlv: { tag, content: buf.subarray(offset + header, end), raw: buf.subarray(offset, end) }, next: end };
}

function children(content: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < content.length) {
    const { tlv, next } = readTlv(content, offset);
    out.push(tlv);
    offset = next;
  }
  return out;
}

function expect(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv?.tag !== tag) throw new DerError(`expected ${what}`);
  return tlv;
}

function oid(content: Buffer): string {
  if (content.length === 0) throw new DerError('empty object identifier');
  const first = content[0] as number;
  const parts: number[] = [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80];
  let value = 0;
  for (let i = 1; i < content.length; i++) {
    const b = content[i] as number;
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

function stringValue(tlv: Tlv): string | undefined {
  switch (tlv.tag) {
    case TAG_UTF8:
    case TAG_PRINTABLE:
    case TAG_IA5:
      return tlv.content.toString('utf8');
    case TAG_T61:
      return tlv.content.toString('latin1');
    case TAG_BMP: {
      const swapped = Buffer.from(tlv.content);
      if (swapped.length % 2) throw new DerError('odd BMPString');
      return swapped.swap16().toString('utf16le');
    }
    case TAG_UNIVERSAL_STRING: {
      if (tlv.content.length % 4) throw new DerError('bad UniversalString');
      let s = '';
      for (let i = 0; i < tlv.content.length; i += 4) s += String.fromCodePoint(tlv.content.readUInt32BE(i));
      return s;
    }
    default:
      return undefined;
  }
}

function time(tlv: Tlv): number {
  const s = tlv.content.toString('latin1');
  let m: RegExpExecArray | null;
  if (tlv.tag === TAG_UTC_TIME && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const yy = Number(m[1]);
    // RFC 5280 4.1.2.5.1: YY >= 50 is 19YY, else 20YY.
    return Date.UTC(yy >= 50 ? 1900 + yy : 2000 + yy, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  if (tlv.tag === TAG_GENERALIZED_TIME && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/.exec(s))) {
    const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
    return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
  }
  throw new DerError(`bad time ${JSON.stringify(s)}`);
}

export const OID_COMMON_NAME = '2.5.4.3';
export const OID_ORGANIZATION = '2.5.4.10';
const OID_KEY_USAGE = '2.5.29.15';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_EXT_KEY_USAGE = '2.5.29.37';
export const OID_EKU_ANY = '2.5.29.37.0';
export const OID_EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** The signature algorithms Go's crypto/x509 refuses (MD2, MD5, SHA-1 based). */
export const INSECURE_SIGNATURE_ALGORITHMS: ReadonlySet<string> = new Set([
  '1.2.840.113549.1.1.2', // md2WithRSAEncryption
  '1.2.840.113549.1.1.4', // md5WithRSAEncryption
  '1.2.840.113549.1.1.5', // sha1WithRSAEncryption
  '1.2.840.10040.4.3', // dsaWithSHA1
  '1.2.840.10045.4.1', // ecdsa-with-SHA1
]);

/**
 * The extensions Go's certificate parser handles; a critical extension
 * outside this set makes Go's Verify fail (UnhandledCriticalExtension).
 */
export const HANDLED_EXTENSIONS: ReadonlySet<string> = new Set([
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.30', // nameConstraints
  '2.5.29.31', // cRLDistributionPoints
  '2.5.29.32', // certificatePolicies
  '2.5.29.33', // policyMappings
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.36', // policyConstraints
  '2.5.29.37', // extKeyUsage
  '2.5.29.54', // inhibitAnyPolicy
]);

interface NameAttribute {
  readonly type: string;
  readonly value: string | undefined;
}

export interface CertificateFields {
  /** 1 for v1 certificates, 3 for v3. */
  readonly version: number;
  readonly signatureAlgorithm: string;
  /** The encoded Name, compared byte for byte as Go's CertPool does. */
  readonly rawIssuer: Buffer;
  readonly rawSubject: Buffer;
  /** The subject's attributes in encoding order. */
  readonly subject: readonly NameAttribute[];
  readonly notBefore: number;
  readonly notAfter: number;
  /** Present when the certificate has a basicConstraints extension. */
  readonly basicConstraints?: { readonly ca: boolean; readonly pathLen?: number };
  /** The key usage bits as Go numbers them (bit 0 digitalSignature ... bit 5 keyCertSign); 0 when absent. */
  readonly keyUsage: number;
  /** The extended key usage OIDs; undefined when the extension is absent. */
  readonly extKeyUsage?: readonly string[];
  readonly criticalExtensions: readonly string[];
}

export const KEY_USAGE_CERT_SIGN = 1 << 5;

function parseName(tlv: Tlv): NameAttribute[] {
  const attrs: NameAttribute[] = [];
  for (const rdn of children(expect(tlv, TAG_SEQUENCE, 'Name').content)) {
    for (const atv of children(expect(rdn, TAG_SET, 'RelativeDistinguishedName').content)) {
      const [type, value] = children(expect(atv, TAG_SEQUENCE, 'AttributeTypeAndValue').content);
      attrs.push({ type: oid(expect(type, TAG_OID, 'attribute type').content), value: value ? stringValue(value) : undefined });
    }
  }
  return attrs;
}

function parseInteger(content: Buffer): number {
  if (content.length === 0 || content.length > 6) throw new DerError('integer out of range');
  if ((content[0] as number) & 0x80) return -1;
  let n = 0;
  for (const b of content) n = n * 256 + b;
  return n;
}

/** Reads the fields of a DER-encoded certificate. Throws DerError when it is not one. */
export function parseCertificate(der: Buffer): CertificateFields {
  const { tlv: cert } = readTlv(der, 0);
  const [tbs, sigAlg] = children(expect(cert, TAG_SEQUENCE, 'Certificate').content);
  const fields = children(expect(tbs, TAG_SEQUENCE, 'TBSCertificate').content);
  let i = 0;
  let version = 1;
  if (fields[0]?.tag === 0xa0) {
    const [v] = children(fields[0].content);
    version = parseInteger(expect(v, TAG_INTEGER, 'version').content) + 1;
    i++;
  }
  expect(fields[i++], TAG_INTEGER, 'serialNumber');
  expect(fields[i++], TAG_SEQUENCE, 'signature');
  const issuer = expect(fields[i++], TAG_SEQUENCE, 'issuer');
  const validity = children(expect(fields[i++], TAG_SEQUENCE, 'validity').content);
  const subject = expect(fields[i++], TAG_SEQUENCE, 'subject');
  expect(fields[i++], TAG_SEQUENCE, 'subjectPublicKeyInfo');
  const [nb, na] = validity;
  if (!nb || !na) throw new DerError('validity');
  const [algOid] = children(expect(sigAlg, TAG_SEQUENCE, 'signatureAlgorithm').content);

  let basicConstraints: CertificateFields['basicConstraints'];
  let keyUsage = 0;
  let extKeyUsage: string[] | undefined;
  const critical: string[] = [];
  for (const f of fields.slice(i)) {
    if (f.tag !== 0xa3) continue;
    const [exts] = children(f.content);
    for (const ext of children(expect(exts, TAG_SEQUENCE, 'Extensions').content)) {
      const parts = children(expect(ext, TAG_SEQUENCE, 'Extension').content);
      const id = oid(expect(parts[0], TAG_OID, 'extnID').content);
      let valueTlv = parts[1];
      if (valueTlv?.tag === TAG_BOOLEAN) {
        if (valueTlv.content[0]) critical.push(id);
        valueTlv = parts[2];
      }
      const value = expect(valueTlv, TAG_OCTET_STRING, 'extnValue').content;
      if (id === OID_BASIC_CONSTRAINTS) {
        const items = children(expect(readTlv(value, 0).tlv, TAG_SEQUENCE, 'BasicConstraints').content);
        let ca = false;
        let pathLen: number | undefined;
        for (const item of items) {
          if (item.tag === TAG_BOOLEAN) ca = item.content[0] !== 0;
          else if (item.tag === TAG_INTEGER) pathLen = parseInteger(item.content);
        }
        basicConstraints = pathLen === undefined || pathLen < 0 ? { ca } : { ca, pathLen };
      } else if (id === OID_KEY_USAGE) {
        const bits = expect(readTlv(value, 0).tlv, TAG_BIT_STRING, 'KeyUsage').content;
        // Bit n of the BIT STRING is bit (7 - n % 8) of byte n / 8, after the unused-bits byte.
        for (let b = 0; b < (bits.length - 1) * 8; b++) {
          if (((bits[1 + (b >> 3)] as number) >> (7 - (b & 7))) & 1) keyUsage |= 1 << b;
        }
      } else if (id === OID_EXT_KEY_USAGE) {
        extKeyUsage = children(expect(readTlv(value, 0).tlv, TAG_SEQUENCE, 'ExtKeyUsageSyntax').content).map((u) => oid(expect(u, TAG_OID, 'KeyPurposeId').content));
      }
    }
  }
  return {
    version,
    signatureAlgorithm: oid(expect(algOid, TAG_OID, 'algorithm').content),
    rawIssuer: issuer.raw,
    rawSubject: subject.raw,
    subject: parseName(subject),
    notBefore: time(nb),
    notAfter: time(na),
    ...(basicConstraints ? { basicConstraints } : {}),
    keyUsage,
    ...(extKeyUsage ? { extKeyUsage } : {}),
    criticalExtensions: critical,
  };
}

/** PEM blocks of type CERTIFICATE, decoded. Other blocks are skipped, as Go's AppendCertsFromPEM does. */
export function pemCertificates(pem: string): Buffer[] {
  const out: Buffer[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(pem)) !== null) {
    if (m[1] !== 'CERTIFICATE') continue;
    // Headers (RFC 1421 "Key: value" lines) are not part of the base64 body.
    const body = (m[2] as string)
      .split(/\r?\n/)
      .filter((line) => !line.includes(':'))
      .join('');
    out.push(Buffer.from(body.replace(/\s+/g, ''), 'base64'));
  }
  return out;
}
