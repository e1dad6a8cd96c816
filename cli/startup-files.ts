// Files named on the command line, checked when `serve` starts so that a
// mistake is reported at once, as one line naming the flag and the file,
// instead of surfacing later as a 503 or as an OpenSSL error code.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { StartupError } from './errors.js';

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return (e as Error).message;
}

/** Every --rules path must exist; an empty or invalid rule set is reported by the loader, with file:line:col. */
export async function checkRulePaths(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    try {
      await stat(path);
    } catch (e) {
      throw new StartupError(`--rules ${path}: ${reason(e)}; give a rule file or a directory of them`);
    }
  }
}

/** The contents of a file a flag names; a StartupError naming both when it cannot be read. */
export function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new StartupError(`--${flag} ${path}: ${reason(e)}`);
  }
}

interface ServingPairFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** The flags that named them, for messages (default tls-cert-file and tls-private-key-file). */
  readonly certFlag?: string;
  readonly keyFlag?: string;
}

/**
 * Checks that a PEM certificate (chain) and private key can serve TLS
 * together. Throws StartupError naming the flag and file at fault; the
 * messages say what the file should hold, since OpenSSL's own ("PEM
 * routines::no start line") name neither.
 */
export function checkServingPair(cert: string, key: string, files: ServingPairFiles): void {
  const certFlag = `--${files.certFlag ?? 'tls-cert-file'} ${files.certFile}`;
  const keyFlag = `--${files.keyFlag ?? 'tls-private-key-file'} ${files.keyFile}`;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new StartupError(`${certFlag}: holds no PEM certificate; give a file with a "-----BEGIN CERTIFICATE-----" block`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw new StartupError(`${keyFlag}: holds no usable PEM private key (${(e as Error).message}); give the unencrypted key in PEM`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new StartupError(`${keyFlag} does not match the certificate in ${certFlag}; give the key the certificate was issued for`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new StartupError(`${certFlag} with ${keyFlag}: ${(e as Error).message}`);
  }
}

/** Reads and checks the serving certificate and key. */
export async function readServingPair(files: ServingPairFiles): Promise<{ cert: string; key: string }> {
  const read = async (flag: string, path: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      throw new StartupError(`--${flag} ${path}: ${reason(e)}`);
    }
  };
  const cert = await read(files.certFlag ?? 'tls-cert-file', files.certFile);
  const key = await read(files.keyFlag ?? 'tls-private-key-file', files.keyFile);
  checkServingPair(cert, key, files);
  return { cert, key };
}
