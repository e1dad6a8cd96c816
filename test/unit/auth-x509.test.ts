import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';
import { parseCertificate, pemCertificates } from '../../adapter/auth/der.js';
import { certificateFromDer, commonName, organizations, parseCertificateBundle, verifyClientCertificate, type Certificate } from '../../adapter/auth/x509.js';
import { EKU, issue, issueCA, issueClient, x509, type Issued } from '../support/certs.js';

const cert = (i: Issued): Certificate => certificateFromDer(i.der);
const DAY = 24 * 60 * 60 * 1000;

describe('client certificate verification', () => {
  let root: Issued;
  let other: Issued;
  before(async () => {
    root = await issueCA('test-root');
    other = await issueCA('other-root');
  });

  it('reads the subject common name and organizations in order', async () => {
    const c = await issueClient(root, 'alice', { organizations: ['team-a', 'system:masters', 'team-b'] });
    const parsed = cert(c);
    assert.equal(commonName(parsed), 'alice');
    assert.deepEqual(organizations(parsed), ['team-a', 'system:masters', 'team-b']);
    assert.deepEqual(parsed.fields.extKeyUsage, [EKU.clientAuth]);
    assert.equal(parsed.fields.basicConstraints?.ca, false);
  });

  it('reads validity, basic constraints and key usage', async () => {
    const notBefore = new Date(Date.UTC(2020, 0, 2, 3, 4, 5));
    const notAfter = new Date(Date.UTC(2060, 0, 2, 3, 4, 5));
    const ca = await issueCA('limited', { pathLength: 0, notBefore, notAfter });
    const f = parseCertificate(ca.der);
    assert.equal(f.notBefore, notBefore.getTime());
    assert.equal(f.notAfter, notAfter.getTime());
    assert.deepEqual(f.basicConstraints, { ca: true, pathLen: 0 });
    assert.ok(f.keyUsage & (1 << 5), 'keyCertSign');
    assert.deepEqual([...f.criticalExtensions].sort(), ['2.5.29.15', '2.5.29.19']);
  });

  it('accepts a certificate signed by a root of the bundle', async () => {
    const c = await issueClient(root, 'alice');
    const chain = verifyClientCertificate(cert(c), { roots: [cert(root)] });
    assert.deepEqual(
      chain.map((x) => commonName(x)),
      ['alice', 'test-root'],
    );
  });

  it('accepts a chain through an intermediate the client sent', async () => {
    const mid = await issue({ cn: 'intermediate', ca: true, issuer: root });
    const c = await issueClient(mid, 'bob');
    const chain = verifyClientCertificate(cert(c), { roots: [cert(root)], intermediates: [cert(mid)] });
    assert.deepEqual(
      chain.map((x) => commonName(x)),
      ['bob', 'intermediate', 'test-root'],
    );
    assert.throws(() => verifyClientCertificate(cert(c), { roots: [cert(root)] }), /unknown authority/);
  });

  it('finds the root among several in the bundle', async () => {
    const c = await issueClient(root, 'alice');
    const bundle = parseCertificateBundle(other.cert + root.cert);
    assert.equal(verifyClientCertificate(cert(c), { roots: bundle }).length, 2);
  });

  it('rejects a certificate from an untrusted CA', async () => {
    const c = await issueClient(other, 'mallory');
    assert.throws(() => verifyClientCertificate(cert(c), { roots: [cert(root)] }), /certificate signed by unknown authority/);
  });

  it('rejects a certificate whose issuer name matches but whose signature does not', async () => {
    const impostor = await issueCA('test-root');
    const c = await issueClient(impostor, 'mallory');
    assert.throws(() => verifyClientCertificate(cert(c), { roots: [cert(root)] }), /not validly signed/);
  });

  it('rejects expired and not yet valid certificates', async () => {
    const now = Date.now();
    const expired = await issueClient(root, 'old', { notBefore: new Date(now - 10 * DAY), notAfter: new Date(now - DAY) });
    const future = await issueClient(root, 'new', { notBefore: new Date(now + DAY), notAfter: new Date(now + 10 * DAY) });
    assert.throws(() => verifyClientCertificate(cert(expired), { roots: [cert(root)] }), /expired/);
    assert.throws(() => verifyClientCertificate(cert(future), { roots: [cert(root)] }), /not valid before/);
    // The same certificate is fine at a time inside the validity of the whole chain.
    const longRoot = await issueCA('long-root', { notBefore: new Date(now - 20 * DAY) });
    const was = await issueClient(longRoot, 'old', { notBefore: new Date(now - 10 * DAY), notAfter: new Date(now - DAY) });
    assert.equal(verifyClientCertificate(cert(was), { roots: [cert(longRoot)], now: now - 5 * DAY }).length, 2);
  });

  it('rejects a chain whose root has expired', async () => {
    const now = Date.now();
    const oldRoot = await issueCA('old-root', { notBefore: new Date(now - 10 * DAY), notAfter: new Date(now - DAY) });
    const c = await issueClient(oldRoot, 'alice');
    assert.throws(() => verifyClientCertificate(cert(c), { roots: [cert(oldRoot)] }), /expired/);
  });

  it('requires the clientAuth extended key usage when the certificate lists usages', async () => {
    const serverOnly = await issueClient(root, 'server', { eku: [EKU.serverAuth] });
    assert.throws(() => verifyClientCertificate(cert(serverOnly), { roots: [cert(root)] }), /incompatible key usage/);
    const both = await issueClient(root, 'both', { eku: [EKU.serverAuth, EKU.clientAuth] });
    assert.equal(verifyClientCertificate(cert(both), { roots: [cert(root)] }).length, 2);
  });

  it('accepts a certificate without extended key usages or with anyExtendedKeyUsage, as Go does', async () => {
    const none = await issue({ cn: 'plain', issuer: root });
    const any = await issueClient(root, 'any', { eku: [EKU.any] });
    assert.equal(verifyClientCertificate(cert(none), { roots: [cert(root)] }).length, 2);
    assert.equal(verifyClientCertificate(cert(any), { roots: [cert(root)] }).length, 2);
  });

  it('rejects a chain whose intermediate restricts usages to serverAuth', async () => {
    const mid = await issue({ cn: 'servers-only', ca: true, issuer: root, eku: [EKU.serverAuth] });
    const c = await issueClient(mid, 'alice');
    assert.throws(() => verifyClientCertificate(cert(c), { roots: [cert(root)], intermediates: [cert(mid)] }), /incompatible key usage/);
  });

  it('rejects an intermediate that is not a CA', async () => {
    const notCA = await issue({ cn: 'leafy', issuer: root });
    const c = await issueClient(notCA, 'alice');
    assert.throws(() => verifyClientCertificate(cert(c), { roots: [cert(root)], intermediates: [cert(notCA)] }), /unknown authority|not authorized|not validly signed/);
  });

  it('rejects an issuer without the keyCertSign key usage', async () => {
    const noSign = await issueCA('no-sign', { keyUsage: x509.KeyUsageFlags.digitalSignature });
    const c = await issueClient(noSign, 'alice');
    assert.throws(() => verifyClientCertificate(cert(c), { roots: [cert(noSign)] }), /not validly signed/);
  });

  it('enforces path length constraints', async () => {
    const limited = await issueCA('limited-root', { pathLength: 0 });
    const mid = await issue({ cn: 'mid', ca: true, issuer: limited });
    const c = await issueClient(mid, 'alice');
    assert.throws(() => verifyClientCertificate(cert(c), { roots: [cert(limited)], intermediates: [cert(mid)] }), /too many intermediates/);
  });

  it('rejects a leaf with a critical extension Go does not handle', async () => {
    const ext = new x509.Extension('1.2.3.4.5.6', true, new Uint8Array([0x05, 0x00]));
    const c = await issueClient(root, 'alice', { extensions: [ext] });
    assert.throws(() => verifyClientCertificate(cert(c), { roots: [cert(root)] }), /unhandled critical extension 1\.2\.3\.4\.5\.6/);
  });

  it('trusts a leaf that is itself in the bundle', async () => {
    const selfSigned = await issue({ cn: 'self', eku: [EKU.clientAuth] });
    assert.equal(verifyClientCertificate(cert(selfSigned), { roots: [cert(selfSigned)] }).length, 1);
  });

  it('refuses a bundle without certificates', () => {
    assert.throws(() => parseCertificateBundle('not a pem'), /no certificate found/);
    assert.deepEqual(pemCertificates('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), []);
  });
});
