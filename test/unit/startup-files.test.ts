// Serving certificate, key and rule paths checked at start-up, with messages
// that name the flag and file.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generate } from 'selfsigned';
import { checkRulePaths, checkServingPair } from '../../cli/startup-files.js';
import { StartupError } from '../../cli/errors.js';

const FILES = { certFile: '/etc/tls/tls.crt', keyFile: '/etc/tls/tls.key' };
let a: { cert: string; key: string };
let b: { cert: string; key: string };

before(async () => {
  const pa = await generate([{ name: 'commonName', value: 'a' }], { keySize: 2048, algorithm: 'sha256' });
  const pb = await generate([{ name: 'commonName', value: 'b' }], { keySize: 2048, algorithm: 'sha256' });
  a = { cert: pa.cert, key: pa.private };
  b = { cert: pb.cert, key: pb.private };
});

const failsWith = (fn: () => unknown, message: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof StartupError && message.test(e.message));
};

describe('the serving certificate and key', () => {
  test('a matching pair passes', () => {
    checkServingPair(a.cert, a.key, FILES);
  });

  test('a certificate file without PEM names --tls-cert-file and the file', () => {
    failsWith(() => checkServingPair('nothing here', a.key, FILES), /^--tls-cert-file \/etc\/tls\/tls\.crt: holds no PEM certificate/);
  });

  test('a key file without PEM names --tls-private-key-file and the file', () => {
    failsWith(() => checkServingPair(a.cert, 'nothing here', FILES), /^--tls-private-key-file \/etc\/tls\/tls\.key: holds no usable PEM private key/);
  });

  test('a key of another certificate names both files', () => {
    failsWith(() => checkServingPair(a.cert, b.key, FILES), /^--tls-private-key-file \/etc\/tls\/tls\.key does not match the certificate in --tls-cert-file \/etc\/tls\/tls\.crt/);
  });
});

describe('rule paths', () => {
  test('a missing path names --rules and the path', async () => {
    await assert.rejects(
      checkRulePaths(['/no/such/rules']),
      (e: unknown) => e instanceof StartupError && e.message === '--rules /no/such/rules: no such file or directory; give a rule file or a directory of them',
    );
  });
});
