// The connections `serve` makes to the Kubernetes API, from kubeconfig
// files: --lister-kubeconfig for the object source, --authentication-
// kubeconfig or --authorization-kubeconfig for delegated authentication,
// --kubeconfig for whichever has none of its own, and one connection where
// both come from the same file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StartupError } from '../../cli/errors.js';
import { serveConnections } from '../../cli/kubernetes-source.js';
import { parseServeArgs } from '../../cli/serve-config.js';

describe("serve's connections to the Kubernetes API", () => {
  let dir: string;
  const file = (name: string): string => join(dir, `${name}.kubeconfig`);
  const base = ['--rules=r.yaml', '--prometheus-url=http://127.0.0.1:9', '--object-source=kubernetes'];
  // $KUBECONFIG names a file that is not there, so kubectl's defaults find nothing.
  const connect = (...args: string[]) => serveConnections(parseServeArgs([...base, ...args], {}), { KUBECONFIG: join(dir, 'none') });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-connections-'));
    for (const name of ['general', 'lister', 'auth']) {
      await writeFile(
        file(name),
        `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://${name}.example:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
`,
      );
    }
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the lister and authentication kubeconfigs each reach their own server', () => {
    const c = connect(`--lister-kubeconfig=${file('lister')}`, `--authentication-kubeconfig=${file('auth')}`);
    assert.equal(c.lister?.server, 'https://lister.example:6443');
    assert.equal(c.authentication?.server, 'https://auth.example:6443');
  });

  test('--authorization-kubeconfig alone serves delegated authentication', () => {
    const c = connect(`--authorization-kubeconfig=${file('auth')}`, '--object-source=prometheus');
    assert.equal(c.authentication?.server, 'https://auth.example:6443');
    assert.equal(c.lister, undefined);
  });

  test('--kubeconfig serves whichever purpose has no kubeconfig of its own', () => {
    const c = connect(`--kubeconfig=${file('general')}`, `--lister-kubeconfig=${file('lister')}`);
    assert.equal(c.lister?.server, 'https://lister.example:6443');
    assert.equal(c.authentication?.server, 'https://general.example:6443');
  });

  test('both purposes from one file share one connection', () => {
    const c = connect(`--lister-kubeconfig=${file('auth')}`, `--authentication-kubeconfig=${file('auth')}`);
    assert.ok(c.lister);
    assert.equal(c.lister, c.authentication);
  });

  test('a missing lister kubeconfig fails start-up naming --lister-kubeconfig', () => {
    assert.throws(
      () => connect(`--kubeconfig=${file('general')}`, `--lister-kubeconfig=${join(dir, 'absent')}`),
      (e: unknown) => e instanceof StartupError && e.message.startsWith(`--lister-kubeconfig ${join(dir, 'absent')}: `),
    );
  });

  test('no kubeconfig at all names the per-purpose flags among the ways out', () => {
    assert.throws(
      () => connect(),
      (e: unknown) => e instanceof StartupError && e.message.includes('--authentication-kubeconfig FILE'),
    );
    assert.throws(
      () => connect('--authentication=none'),
      (e: unknown) => e instanceof StartupError && e.message.includes('--lister-kubeconfig FILE'),
    );
  });
});
