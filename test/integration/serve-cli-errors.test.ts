// The real `hpa-bridge serve` process refusing bad start-up input: one line
// on stderr that names the flag or file and says what to do, exit 2 for a
// bad command line and 1 for anything else, and never a stack trace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from 'selfsigned';
import { cleanEnv, oneLineProblems, runCli, type CliRun } from '../support/cli.js';

const EXAMPLES = fileURLToPath(new URL('../../../rules/examples', import.meta.url));

function run(args: readonly string[], home: string): Promise<CliRun> {
  return runCli(args, cleanEnv(home));
}

function assertOneLine(r: CliRun, code: number, ...mentions: (string | RegExp)[]): void {
  const problems = oneLineProblems(r, code, mentions);
  assert.deepEqual(problems, [], `stderr:\n${r.stderr}`);
}

describe('serve start-up errors', () => {
  let dir: string;
  const base = ['serve', '--rules', EXAMPLES, '--prometheus-url', 'http://127.0.0.1:9', '--secure-port', '0', '--bind-address', '127.0.0.1', '--metrics-port', '-1', '--log-level', 'error'];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-cli-errors-'));
    const a = await generate([{ name: 'commonName', value: 'a' }], { keySize: 2048, algorithm: 'sha256' });
    const b = await generate([{ name: 'commonName', value: 'b' }], { keySize: 2048, algorithm: 'sha256' });
    await writeFile(join(dir, 'a.crt'), a.cert);
    await writeFile(join(dir, 'a.key'), a.private);
    await writeFile(join(dir, 'b.key'), b.private);
    await writeFile(join(dir, 'not-pem.crt'), 'this is not a certificate\n');
    await writeFile(
      join(dir, 'plain-http.kubeconfig'),
      `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "http://127.0.0.1:9"}
users:
- name: u
  user: {}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
`,
    );
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('delegated authentication without any kubeconfig names --kubeconfig and the ways out', async () => {
    const r = await run(base, dir);
    assertOneLine(r, 1, '--kubeconfig', '--authentication none', /\.kube\/config/);
  });

  test('a serving certificate that is not PEM names --tls-cert-file and the file', async () => {
    const r = await run([...base, '--authentication', 'none', '--tls-cert-file', join(dir, 'not-pem.crt'), '--tls-private-key-file', join(dir, 'a.key')], dir);
    assertOneLine(r, 1, '--tls-cert-file', join(dir, 'not-pem.crt'), /PEM/);
  });

  test('a key that does not match its certificate names both flags and files', async () => {
    const r = await run([...base, '--authentication', 'none', '--tls-cert-file', join(dir, 'a.crt'), '--tls-private-key-file', join(dir, 'b.key')], dir);
    assertOneLine(r, 1, '--tls-private-key-file', join(dir, 'b.key'), '--tls-cert-file', join(dir, 'a.crt'));
  });

  test('a blank entry in --requestheader-allowed-names is a usage error naming the flag', async () => {
    const r = await run([...base, '--requestheader-allowed-names=a,,b'], dir);
    assertOneLine(r, 2, '--requestheader-allowed-names', '"a,,b"');
  });

  test('a kubeconfig with a plain-HTTP server names the file and insecure-skip-tls-verify', async () => {
    const r = await run([...base, '--kubeconfig', join(dir, 'plain-http.kubeconfig')], dir);
    assertOneLine(r, 1, '--kubeconfig', join(dir, 'plain-http.kubeconfig'), 'insecure-skip-tls-verify');
  });

  test('a --rules path that does not exist is an error at once', async () => {
    const r = await run([...base, '--authentication', 'none', '--rules', join(dir, 'no-such-rules')], dir);
    assertOneLine(r, 1, '--rules', join(dir, 'no-such-rules'));
  });

  test('an unknown flag is a usage error on one line', async () => {
    const r = await run([...base, '--no-such-flag'], dir);
    assertOneLine(r, 2, '--no-such-flag', 'hpa-bridge serve --help');
  });

  test("a misspelt flag in prometheus-adapter's command line names the closest flag and serve's help", async () => {
    const r = await run(['/adapter', '--cert-dir=/tmp/cert', '--metrics-relist-intervall=1m'], dir);
    assertOneLine(r, 2, 'unknown flag --metrics-relist-intervall; did you mean --metrics-relist-interval?', "(see 'hpa-bridge serve --help')");
  });

  test('a duration in Prometheus syntax that Go does not read is a usage error naming the flag', async () => {
    const r = await run(['--config=/x', '--prometheus-url=http://127.0.0.1:9', '--metrics-relist-interval=1d'], dir);
    assertOneLine(r, 2, '--metrics-relist-interval needs a duration', 'unknown unit "d"');
  });
});
