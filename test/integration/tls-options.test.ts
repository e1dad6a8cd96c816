// --tls-cipher-suites and --tls-min-version on a real TLS listener: each Go
// cipher suite name, given alone, makes a TLS 1.2 handshake settle on the
// suite of that IANA name, as OpenSSL reports it.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type ConnectionOptions, type TlsOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { CIPHER_SUITE_NAMES, servingTlsOptions } from '../../cli/tls-options.js';

interface Pair {
  readonly cert: string;
  readonly key: string;
}

/** What a client offering `client` settles on with a server given `server`: the suite's IANA name and the version, or "refused". */
async function handshake(pair: Pair, server: TlsOptions, client: ConnectionOptions): Promise<string> {
  const listener = createServer({ ...pair, ...server }, (s) => s.end());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  try {
    return await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: (listener.address() as AddressInfo).port, rejectUnauthorized: false, ...client }, () => {
        resolve(`${socket.getCipher().standardName} ${socket.getProtocol() ?? ''}`);
        socket.end();
      });
      socket.on('error', () => resolve('refused'));
    });
  } finally {
    listener.close();
  }
}

describe('TLS options from Go names', () => {
  let rsa: Pair;
  let ecdsa: Pair;

  before(async () => {
    const r = await generate([{ name: 'commonName', value: 'rsa' }], { keySize: 2048, algorithm: 'sha256' });
    const e = await generate([{ name: 'commonName', value: 'ecdsa' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
    rsa = { cert: r.cert, key: r.private };
    ecdsa = { cert: e.cert, key: e.private };
  });

  for (const name of CIPHER_SUITE_NAMES.filter((n) => n.includes('_WITH_'))) {
    test(`${name} alone is what a TLS 1.2 handshake settles on`, async () => {
      const options = servingTlsOptions([name], undefined);
      const pair = name.includes('_ECDSA_') ? ecdsa : rsa;
      // The two Go 1.13 spellings name the _SHA256 suites.
      const iana = name.endsWith('_CHACHA20_POLY1305') ? `${name}_SHA256` : name;
      assert.equal(await handshake(pair, options, { maxVersion: 'TLSv1.2', ...(options.ciphers ? { ciphers: `${options.ciphers}:ECDHE-RSA-AES256-GCM-SHA384` } : {}) }), `${iana} TLSv1.2`);
    });
  }

  test('a list keeps TLS 1.3 on with its own suites, as Go does', async () => {
    const options = servingTlsOptions(['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'], undefined);
    assert.match(await handshake(rsa, options, {}), /^TLS_AES_\d+_GCM_SHA\d+ TLSv1\.3$/);
  });

  test('a suite left out of the list is refused', async () => {
    const options = servingTlsOptions(['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'], undefined);
    assert.equal(await handshake(rsa, options, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' }), 'refused');
  });

  test('a list of TLS 1.3 suites alone leaves no suite for TLS 1.2', async () => {
    const options = servingTlsOptions(['TLS_AES_128_GCM_SHA256'], undefined);
    assert.equal(await handshake(rsa, options, { maxVersion: 'TLSv1.2' }), 'refused');
    assert.match(await handshake(rsa, options, {}), /TLSv1\.3$/);
  });

  test('VersionTLS13 refuses a TLS 1.2 client, VersionTLS12 serves it', async () => {
    assert.equal(await handshake(rsa, servingTlsOptions([], 'VersionTLS13'), { maxVersion: 'TLSv1.2' }), 'refused');
    assert.match(await handshake(rsa, servingTlsOptions([], 'VersionTLS12'), { maxVersion: 'TLSv1.2' }), /TLSv1\.2$/);
  });
});
