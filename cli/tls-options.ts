// --tls-cipher-suites and --tls-min-version as k8s.io/apiserver reads them
// (component-base/cli/flag/ciphersuites_flag.go): IANA names as Go's
// crypto/tls spells them, and VersionTLS1x. Node takes OpenSSL's cipher
// names and "TLSv1.x". TLS 1.3 suites are not configurable in Go, so their
// names are accepted and the TLS 1.3 suites stay on; Node keeps its TLS 1.3
// defaults when the cipher list names none, which gives the same.
import { UsageError } from './args.js';

/** Go's tls.CipherSuites() and tls.InsecureCipherSuites(), with the names OpenSSL gives the same suites. */
const TLS12_SUITES: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  // The names Go 1.13 used, which Kubernetes keeps accepting.
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  // Insecure in Go's terms (no forward secrecy, or CBC-SHA256 without
  // Lucky13 countermeasures), yet accepted there, and in the lists of
  // prometheus-adapter's own manifests.
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
};

const TLS13_SUITES = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);

/** Go accepts these; they are broken (RC4, and 3DES with its 64-bit blocks), and Node's OpenSSL no longer has them. */
const REFUSED_SUITES = new Set([
  'TLS_RSA_WITH_RC4_128_SHA',
  'TLS_ECDHE_ECDSA_WITH_RC4_128_SHA',
  'TLS_ECDHE_RSA_WITH_RC4_128_SHA',
  'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA',
]);

export const TLS_VERSIONS: Readonly<Record<string, 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'>> = {
  VersionTLS10: 'TLSv1',
  VersionTLS11: 'TLSv1.1',
  VersionTLS12: 'TLSv1.2',
  VersionTLS13: 'TLSv1.3',
};

/** What the HTTPS listener is given, for the first context and every reload. */
export interface ServingTlsOptions {
  readonly minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL's cipher list; undefined keeps Node's defaults. */
  readonly ciphers?: string;
}

/**
 * The listener's options for the two flags. A usage error names the first
 * cipher suite with no OpenSSL twin, or an unknown version.
 */
export function servingTlsOptions(cipherSuites: readonly string[], minVersion: string | undefined): ServingTlsOptions {
  const version = nodeTlsVersion(minVersion);
  if (cipherSuites.length === 0) return { minVersion: version };
  const ciphers: string[] = [];
  for (const name of cipherSuites) {
    if (REFUSED_SUITES.has(name)) throw new UsageError(`--tls-cipher-suites: ${name} is insecure and not offered here; leave it out`);
    if (TLS13_SUITES.has(name)) continue;
    const openssl = TLS12_SUITES[name];
    if (openssl === undefined) {
      throw new UsageError(`--tls-cipher-suites: unknown cipher suite ${JSON.stringify(name)}; use Go's names, such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`);
    }
    if (!ciphers.includes(openssl)) ciphers.push(openssl);
  }
  // A list of TLS 1.3 suites alone leaves Go no suite for TLS 1.2 and below.
  if (ciphers.length === 0) return { minVersion: 'TLSv1.3' };
  return { minVersion: version, ciphers: ciphers.join(':') };
}

function nodeTlsVersion(name: string | undefined): ServingTlsOptions['minVersion'] {
  if (name === undefined || name === '') return 'TLSv1.2';
  const version = TLS_VERSIONS[name];
  if (!version) throw new UsageError(`--tls-min-version must be one of ${Object.keys(TLS_VERSIONS).join(', ')}, not ${JSON.stringify(name)}`);
  return version;
}

/** Every name --tls-cipher-suites accepts, for --help and tests. */
export const CIPHER_SUITE_NAMES: readonly string[] = [...TLS13_SUITES, ...Object.keys(TLS12_SUITES)];
