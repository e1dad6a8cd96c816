// Client certificate chain verification, following Go's crypto/x509
// Certificate.Verify as k8s.io/apiserver calls it for client certificates
// (pkg/authentication/request/x509: VerifyOptions{Roots: <CA bundle>,
// Intermediates: <the rest of the peer chain>, KeyUsages: [ClientAuth]}):
//
// - a chain is built from the leaf through the peer's intermediates to a
//   root of the bundle; parents are found by exact issuer/subject name bytes,
//   as Go's CertPool does, and each signature is checked;
// - every certificate of the chain must be within its validity period;
// - a parent must be a CA (basicConstraints cA; Go allows v1 roots without
//   the extension), must allow certificate signing when it has a key usage
//   extension, and must respect its path length constraint;
// - signatures made with MD5 or SHA-1 are refused;
// - the leaf must not carry a critical extension Go does not handle;
// - every certificate of the chain that has an extended key usage extension
//   must list clientAuth or anyExtendedKeyUsage (Go's checkChainForKeyUsage).
//
// Name constraints are not evaluated: Go applies them to subject alternative
// names, which client certificates used for authentication rarely carry.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import {
  HANDLED_EXTENSIONS,
  INSECURE_SIGNATURE_ALGORITHMS,
  KEY_USAGE_CERT_SIGN,
  OID_COMMON_NAME,
  OID_EKU_ANY,
  OID_EKU_CLIENT_AUTH,
  OID_ORGANIZATION,
  parseCertificate,
  pemCertificates,
  type CertificateFields,
} from './der.js';

/** A parsed certificate: its DER, its fields and node:crypto's view for signature checks. */
export interface Certificate {
  readonly der: Buffer;
  readonly fields: CertificateFields;
  readonly x509: X509Certificate;
}

export function certificateFromDer(der: Buffer): Certificate {
  return { der, fields: parseCertificate(der), x509: new X509Certificate(der) };
}

/**
 * The certificates of a PEM bundle. Throws when the text holds no
 * certificate or one that cannot be parsed: a CA bundle that silently
 * trusts nothing is worse than an error.
 */
export function parseCertificateBundle(pem: string): Certificate[] {
  const ders = pemCertificates(pem);
  if (ders.length === 0) throw new Error('no certificate found in the PEM data');
  return ders.map(certificateFromDer);
}

export class CertificateVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateVerificationError';
  }
}

interface VerifyOptions {
  readonly roots: readonly Certificate[];
  readonly intermediates?: readonly Certificate[];
  /** Milliseconds since the epoch; default now. */
  readonly now?: number;
}

/** Go's maxChainSignatureChecks: bounds the work a hostile chain can cause. */
const MAX_SIGNATURE_CHECKS = 100;
const MAX_DEPTH = 10;

function describe(c: Certificate): string {
  const cn = c.fields.subject.filter((a) => a.type === OID_COMMON_NAME).at(-1)?.value;
  return `"${cn ?? '(no common name)'}" (serial ${c.x509.serialNumber})`;
}

function withinValidity(c: Certificate, now: number): string | undefined {
  if (now < c.fields.notBefore) return `certificate ${describe(c)} is not valid before ${new Date(c.fields.notBefore).toISOString()}`;
  if (now > c.fields.notAfter) return `certificate ${describe(c)} expired at ${new Date(c.fields.notAfter).toISOString()}`;
  return undefined;
}

/** Go's checkChainForKeyUsage for the single usage clientAuth. */
function allowsClientAuth(chain: readonly Certificate[]): boolean {
  return chain.every((c) => {
    const eku = c.fields.extKeyUsage;
    return eku === undefined || eku.length === 0 || eku.includes(OID_EKU_ANY) || eku.includes(OID_EKU_CLIENT_AUTH);
  });
}

/** Go's Certificate.CheckSignatureFrom: the parent may sign certificates, and signed this one. */
function signedBy(child: Certificate, parent: Certificate): boolean {
  const p = parent.fields;
  if ((p.version === 3 && !p.basicConstraints) || (p.basicConstraints && !p.basicConstraints.ca)) return false;
  if (p.keyUsage !== 0 && (p.keyUsage & KEY_USAGE_CERT_SIGN) === 0) return false;
  if (INSECURE_SIGNATURE_ALGORITHMS.has(child.fields.signatureAlgorithm)) return false;
  try {
    return child.x509.verify(parent.x509.publicKey);
  } catch {
    return false;
  }
}

/**
 * Verifies `leaf` for client authentication; returns the chain (leaf first,
 * root last). Throws CertificateVerificationError with the reason otherwise.
 */
export function verifyClientCertificate(leaf: Certificate, options: VerifyOptions): Certificate[] {
  const now = options.now ?? Date.now();
  const unhandled = leaf.fields.criticalExtensions.find((id) => !HANDLED_EXTENSIONS.has(id));
  if (unhandled) throw new CertificateVerificationError(`x509: unhandled critical extension ${unhandled}`);
  const leafTime = withinValidity(leaf, now);
  if (leafTime) throw new CertificateVerificationError(`x509: ${leafTime}`);

  const roots = options.roots;
  const intermediates = options.intermediates ?? [];
  let checks = 0;
  let lastProblem = 'certificate signed by unknown authority';

  // A leaf that is itself one of the roots is trusted as it is (Go: Roots.contains).
  if (roots.some((r) => r.der.equals(leaf.der))) {
    if (allowsClientAuth([leaf])) return [leaf];
    throw new CertificateVerificationError('x509: certificate specifies an incompatible key usage');
  }

  const search = (chain: Certificate[]): Certificate[] | undefined => {
    const current = chain[chain.length - 1] as Certificate;
    if (chain.length > MAX_DEPTH) return undefined;
    const candidates: { cert: Certificate; root: boolean }[] = [...roots.map((cert) => ({ cert, root: true })), ...intermediates.map((cert) => ({ cert, root: false }))];
    for (const { cert, root } of candidates) {
      if (!cert.fields.rawSubject.equals(current.fields.rawIssuer)) continue;
      if (chain.some((c) => c.der.equals(cert.der))) continue;
      if (++checks > MAX_SIGNATURE_CHECKS) throw new CertificateVerificationError('x509: signature check attempts limit reached while verifying certificate chain');
      if (!signedBy(current, cert)) {
        lastProblem = `certificate ${describe(current)} is not validly signed by ${describe(cert)}`;
        continue;
      }
      const time = withinValidity(cert, now);
      if (time) {
        lastProblem = time;
        continue;
      }
      // Go: an intermediate must be a CA; a path length counts the intermediates below it.
      const bc = cert.fields.basicConstraints;
      if (!root && !bc?.ca) {
        lastProblem = `certificate ${describe(cert)} is not authorized to sign other certificates`;
        continue;
      }
      if (bc?.pathLen !== undefined && chain.length - 1 > bc.pathLen) {
        lastProblem = `too many intermediates for path length constraint of ${describe(cert)}`;
        continue;
      }
      const next = [...chain, cert];
      if (root) {
        if (allowsClientAuth(next)) return next;
        lastProblem = 'certificate specifies an incompatible key usage';
        continue;
      }
      const found = search(next);
      if (found) return found;
    }
    return undefined;
  };
  const chain = search([leaf]);
  if (!chain) throw new CertificateVerificationError(`x509: ${lastProblem}`);
  return chain;
}

/** The subject's last common name, as Go's pkix.Name.CommonName. */
export function commonName(c: Certificate): string {
  return c.fields.subject.filter((a) => a.type === OID_COMMON_NAME).at(-1)?.value ?? '';
}

/** The subject's organizations in order, as Go's pkix.Name.Organization. */
export function organizations(c: Certificate): string[] {
  return c.fields.subject.filter((a) => a.type === OID_ORGANIZATION && a.value !== undefined).map((a) => a.value as string);
}

interface DetailedPeerCertificate {
  readonly raw?: Buffer;
  readonly issuerCertificate?: DetailedPeerCertificate;
}

/**
 * The client's certificate and the other certificates of its chain, from a
 * TLS socket; undefined when the connection is not TLS or the client sent no
 * certificate. The rest of the chain is only a pool of candidate
 * intermediates: trust comes from the CA bundle alone.
 */
export function peerCertificates(socket: unknown): { leaf: Buffer; others: Buffer[] } | undefined {
  const tls = socket as Partial<TLSSocket> | undefined;
  if (!tls || typeof tls.getPeerCertificate !== 'function') return undefined;
  const first = tls.getPeerCertificate(true) as DetailedPeerCertificate | null;
  if (!first || !Buffer.isBuffer(first.raw) || first.raw.length === 0) return undefined;
  const others: Buffer[] = [];
  const seen = new Set<string>([first.raw.toString('base64')]);
  let next = first.issuerCertificate;
  // Node links the chain through issuerCertificate; a self-signed certificate points at itself.
  while (next && Buffer.isBuffer(next.raw) && others.length < 16) {
    const key = next.raw.toString('base64');
    if (seen.has(key)) break;
    seen.add(key);
    others.push(next.raw);
    next = next.issuerCertificate;
  }
  return { leaf: first.raw, others };
}
