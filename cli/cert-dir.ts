// --cert-dir: where the self-signed serving certificate lives when no
// --tls-cert-file is given, as k8s.io/apiserver's
// SecureServingOptions.MaybeDefaultWithSelfSignedCerts keeps it: the pair
// apiserver.crt and apiserver.key, generated on the first start and read
// again on every later one, so a restarted container keeps the certificate
// an APIService may have pinned. One file without the other is an error
// there and here. Unlike there, an expired pair is replaced.
import { X509Certificate } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../adapter/log.js';
import { StartupError } from './errors.js';
import { readServingPair } from './startup-files.js';

/** MaybeDefaultWithSelfSignedCerts' PairName. */
export const CERT_DIR_FILES = { cert: 'apiserver.crt', key: 'apiserver.key' } as const;

async function exists(dir: string, path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw new StartupError(`--cert-dir ${dir}: cannot read ${path}: ${(e as Error).message}`);
  }
}

/**
 * Both files written whole before either takes its name, so a start that
 * dies half way leaves neither a torn file nor, but for the instant between
 * the two renames, half a pair.
 */
async function writePair(files: readonly { path: string; text: string; mode: number }[]): Promise<void> {
  const temporary = (path: string): string => `${path}.${process.pid}.tmp`;
  for (const f of files) await writeFile(temporary(f.path), f.text, { mode: f.mode });
  for (const f of files) await rename(temporary(f.path), f.path);
}

/**
 * A self-signed certificate for localhost and 127.0.0.1, and for the bind
 * address when it is a specific IP, as GenerateSelfSignedCertKey names it
 * (host@unix-time), valid for a year. Also the one served from memory
 * when neither --tls-cert-file nor --cert-dir is given.
 */
export async function selfSignedPair(bindAddress: string, now = new Date()): Promise<{ cert: string; key: string }> {
  const { generate } = await import('selfsigned');
  const ips = ['127.0.0.1', ...(isIP(bindAddress) && bindAddress !== '0.0.0.0' && bindAddress !== '::' && bindAddress !== '127.0.0.1' ? [bindAddress] : [])];
  const pems = await generate([{ name: 'commonName', value: `localhost@${Math.floor(now.getTime() / 1000)}` }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, ...ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** The pair in `dir`: read when it is there and still valid, generated and written otherwise. */
export async function certDirPair(dir: string, bindAddress: string, log: Logger): Promise<{ cert: string; key: string }> {
  const certFile = join(dir, CERT_DIR_FILES.cert);
  const keyFile = join(dir, CERT_DIR_FILES.key);
  const [hasCert, hasKey] = [await exists(dir, certFile), await exists(dir, keyFile)];
  if (hasCert !== hasKey) {
    const [present, missing] = hasCert ? [certFile, keyFile] : [keyFile, certFile];
    throw new StartupError(`--cert-dir ${dir}: ${present} is there without ${missing}; they go together, so remove it to have a new pair generated`);
  }
  if (hasCert) {
    const pair = await readServingPair({ certFile, keyFile, certFlag: 'cert-dir', keyFlag: 'cert-dir' });
    if (new Date(new X509Certificate(pair.cert).validTo).getTime() > Date.now()) {
      log.info('serving with the self-signed certificate kept in --cert-dir', { certFile });
      return pair;
    }
    log.warn('the self-signed certificate in --cert-dir has expired; generating a new one', { certFile });
  }
  const pair = await selfSignedPair(bindAddress);
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await writePair([
      { path: keyFile, text: pair.key, mode: 0o600 },
      { path: certFile, text: pair.cert, mode: 0o644 },
    ]);
  } catch (e) {
    throw new StartupError(`--cert-dir ${dir}: cannot write the self-signed certificate: ${(e as Error).message}; give a writable directory (an emptyDir volume in a pod)`);
  }
  log.info('generated a self-signed serving certificate in --cert-dir', { certFile, keyFile });
  return pair;
}
