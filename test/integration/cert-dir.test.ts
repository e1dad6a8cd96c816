// --cert-dir on disk: the pair is written once and read again, half a pair
// or a directory that cannot be written fails start-up naming the flag, and
// an expired pair is replaced.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../adapter/log.js';
import { certDirPair, selfSignedPair } from '../../cli/cert-dir.js';
import { StartupError } from '../../cli/errors.js';

describe('--cert-dir', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-cert-dir-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the first start writes apiserver.crt and a private apiserver.key, and later starts read them', async () => {
    const certDir = join(dir, 'fresh', 'nested');
    const first = await certDirPair(certDir, '0.0.0.0', silentLogger);
    assert.equal(await readFile(join(certDir, 'apiserver.crt'), 'utf8'), first.cert);
    assert.equal(await readFile(join(certDir, 'apiserver.key'), 'utf8'), first.key);
    assert.equal((await stat(join(certDir, 'apiserver.key'))).mode & 0o077, 0);
    const again = await certDirPair(certDir, '0.0.0.0', silentLogger);
    assert.deepEqual(again, first);
  });

  test('the certificate names localhost, 127.0.0.1 and a specific bind address', async () => {
    const { cert } = await selfSignedPair('10.1.2.3');
    const x = new X509Certificate(cert);
    assert.equal(x.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:10.1.2.3');
    assert.match(x.subject, /^CN=localhost@\d+$/);
  });

  test('a certificate without its key fails start-up naming --cert-dir and both files', async () => {
    const certDir = join(dir, 'half');
    await mkdir(certDir);
    await writeFile(join(certDir, 'apiserver.crt'), (await selfSignedPair('0.0.0.0')).cert);
    await assert.rejects(
      certDirPair(certDir, '0.0.0.0', silentLogger),
      (e: unknown) => e instanceof StartupError && e.message.startsWith(`--cert-dir ${certDir}: `) && e.message.includes('apiserver.key'),
    );
  });

  test('a pair that does not match fails start-up naming --cert-dir', async () => {
    const certDir = join(dir, 'mismatch');
    await mkdir(certDir);
    await writeFile(join(certDir, 'apiserver.crt'), (await selfSignedPair('0.0.0.0')).cert);
    await writeFile(join(certDir, 'apiserver.key'), (await selfSignedPair('0.0.0.0')).key);
    await assert.rejects(certDirPair(certDir, '0.0.0.0', silentLogger), (e: unknown) => e instanceof StartupError && /^--cert-dir .*apiserver\.key does not match/.test(e.message));
  });

  test('an expired pair is replaced', async () => {
    const certDir = join(dir, 'expired');
    await mkdir(certDir);
    const { generate } = await import('selfsigned');
    const old = await generate([{ name: 'commonName', value: 'old' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notBeforeDate: new Date(Date.now() - 2 * 86400_000),
      notAfterDate: new Date(Date.now() - 86400_000),
    });
    await writeFile(join(certDir, 'apiserver.crt'), old.cert);
    await writeFile(join(certDir, 'apiserver.key'), old.private);
    const fresh = await certDirPair(certDir, '0.0.0.0', silentLogger);
    assert.notEqual(fresh.cert, old.cert);
    assert.equal(await readFile(join(certDir, 'apiserver.crt'), 'utf8'), fresh.cert);
  });

  test('a directory that cannot be made fails start-up naming --cert-dir', async () => {
    // Under a regular file: refused to root as well.
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    await assert.rejects(
      certDirPair(join(file, 'certs'), '0.0.0.0', silentLogger),
      (e: unknown) => e instanceof StartupError && /^--cert-dir .*: cannot write the self-signed certificate: .*; give a writable directory/.test(e.message),
    );
  });
});
