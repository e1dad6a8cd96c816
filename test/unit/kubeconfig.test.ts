// Reading kubeconfig files as kubectl does, without @kubernetes/client-node.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultKubeconfigPaths, inClusterEndpoint, KubeconfigError, loadKubeconfig, mergeKubeconfigs, resolveKubeconfig } from '../../adapter/kube/kubeconfig.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function config(body: { clusters?: unknown[]; users?: unknown[]; contexts?: unknown[]; current?: string }): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: body.clusters ?? [],
    users: body.users ?? [],
    contexts: body.contexts ?? [],
    ...(body.current !== undefined ? { 'current-context': body.current } : {}),
  });
}

const one = config({
  clusters: [{ name: 'c', cluster: { server: 'https://api.example:6443', 'certificate-authority-data': b64('CA PEM') } }],
  users: [{ name: 'u', user: { token: 'abc' } }],
  contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
  current: 'ctx',
});

const resolveText = (files: Record<string, string>, context?: string, disk: Record<string, string> = {}) =>
  resolveKubeconfig(
    mergeKubeconfigs(Object.keys(files), (f) => files[f]),
    context,
    (f) => {
      const text = disk[f];
      if (text === undefined) throw new Error('ENOENT');
      return text;
    },
  );

describe('kubeconfig', () => {
  test('the current context gives the server, the CA and the bearer token', () => {
    assert.deepEqual(resolveText({ '/k/config': one }), {
      kind: 'endpoint',
      context: 'ctx',
      endpoint: { server: 'https://api.example:6443', insecureSkipTLSVerify: false, ca: 'CA PEM', token: 'abc' },
    });
  });

  test('a named context wins over current-context', () => {
    const text = config({
      clusters: [
        { name: 'a', cluster: { server: 'https://a' } },
        { name: 'b', cluster: { server: 'https://b', 'insecure-skip-tls-verify': true } },
      ],
      contexts: [
        { name: 'left', context: { cluster: 'a' } },
        { name: 'right', context: { cluster: 'b' } },
      ],
      current: 'left',
    });
    const r = resolveText({ '/k': text }, 'right');
    assert.equal(r.kind === 'endpoint' && r.endpoint.server, 'https://b');
    assert.equal(r.kind === 'endpoint' && r.endpoint.insecureSkipTLSVerify, true);
  });

  test('with several files the first to define a name and the first current-context win', () => {
    const first = config({ clusters: [{ name: 'c', cluster: { server: 'https://first' } }], contexts: [{ name: 'x', context: { cluster: 'c' } }] });
    const second = config({ clusters: [{ name: 'c', cluster: { server: 'https://second' } }], current: 'x' });
    const r = resolveText({ '/1': first, '/2': second });
    assert.equal(r.kind === 'endpoint' && r.endpoint.server, 'https://first');
  });

  test('relative file paths are read from beside the kubeconfig', () => {
    const text = config({
      clusters: [{ name: 'c', cluster: { server: 'https://s', 'certificate-authority': 'ca.crt' } }],
      users: [{ name: 'u', user: { 'client-certificate': '/abs/tls.crt', 'client-key': 'keys/tls.key', tokenFile: 'token' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      current: 'x',
    });
    const r = resolveText({ '/home/me/.kube/config': text }, undefined, {
      '/home/me/.kube/ca.crt': 'CA',
      '/abs/tls.crt': 'CERT',
      '/home/me/.kube/keys/tls.key': 'KEY',
    });
    assert.deepEqual(r.kind === 'endpoint' && r.endpoint, {
      server: 'https://s',
      insecureSkipTLSVerify: false,
      ca: 'CA',
      tokenFile: '/home/me/.kube/token',
      clientCert: 'CERT',
      clientKey: 'KEY',
    });
  });

  for (const [field, user] of [
    ['exec', { exec: { command: 'aws', args: ['eks', 'get-token'], apiVersion: 'client.authentication.k8s.io/v1' } }],
    ['auth-provider', { 'auth-provider': { name: 'oidc' } }],
    ['as', { token: 't', as: 'someone' }],
  ] as const) {
    test(`a user with ${field} is left to the client library`, () => {
      const text = config({ clusters: [{ name: 'c', cluster: { server: 'https://s' } }], users: [{ name: 'u', user }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }], current: 'x' });
      assert.deepEqual(resolveText({ '/k': text }), { kind: 'plugin', server: 'https://s', context: 'x', why: field });
    });
  }

  const errors: [string, string, string | undefined, RegExp][] = [
    ['a missing context', one, 'nope', /context "nope" is not in the kubeconfig/],
    ['no current context', config({ clusters: [{ name: 'c', cluster: { server: 'https://s' } }] }), undefined, /no current-context/],
    ['a context naming a missing cluster', config({ contexts: [{ name: 'x', context: { cluster: 'gone' } }], current: 'x' }), undefined, /names cluster "gone"/],
    ['a cluster without a server', config({ clusters: [{ name: 'c', cluster: {} }], contexts: [{ name: 'x', context: { cluster: 'c' } }], current: 'x' }), undefined, /cluster "c" has no server/],
    ['a list that is not a list', '{"clusters": {"c": 1}}', undefined, /clusters must be a list/],
    [
      'a certificate without its key',
      config({
        clusters: [{ name: 'c', cluster: { server: 'https://s' } }],
        users: [{ name: 'u', user: { 'client-certificate-data': b64('C') } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        current: 'x',
      }),
      undefined,
      /both a client certificate and a client key/,
    ],
  ];
  for (const [what, text, context, message] of errors) {
    test(`${what} is a clear error`, () => {
      assert.throws(
        () => resolveText({ '/k': text }, context),
        (e: unknown) => e instanceof KubeconfigError && message.test(e.message),
      );
    });
  }

  test('$KUBECONFIG is a path list, and ~/.kube/config the fallback', () => {
    assert.deepEqual(defaultKubeconfigPaths({ KUBECONFIG: '/a:/b' }, '/home/me'), ['/a', '/b']);
    assert.deepEqual(defaultKubeconfigPaths({}, '/home/me'), ['/home/me/.kube/config']);
  });

  test('files are read from disk, and an absent file in a list is skipped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-kubeconfig-'));
    try {
      await writeFile(join(dir, 'config'), one);
      const r = loadKubeconfig([join(dir, 'absent'), join(dir, 'config')], undefined);
      assert.equal(r.kind === 'endpoint' && r.endpoint.token, 'abc');
      assert.throws(() => loadKubeconfig([join(dir, 'absent')], undefined), /cannot read kubeconfig/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('in a pod the service account token file, CA and service address are used', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-sa-'));
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'token'), 'sa-token');
      await writeFile(join(dir, 'ca.crt'), 'CLUSTER CA');
      assert.deepEqual(inClusterEndpoint({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir), {
        server: 'https://[fd00::1]:443',
        insecureSkipTLSVerify: false,
        tokenFile: join(dir, 'token'),
        ca: 'CLUSTER CA',
      });
      assert.throws(() => inClusterEndpoint({}, dir), /KUBERNETES_SERVICE_HOST/);
      assert.throws(() => inClusterEndpoint({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '1' }, join(dir, 'missing')), /service account token/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
