// How `serve --authentication delegated` starts when the Kubernetes API is
// missing or unreachable, as k8s.io/apiserver's delegating options start
// (pkg/server/options/authentication.go, authorization.go): without a
// kubeconfig but with CA flags it serves what certificates and
// system:masters allow; an unreachable API server fails start-up unless
// --authentication-tolerate-lookup-failure; --authentication-skip-lookup
// never reads the ConfigMap; --authorization-always-allow-paths replaces the
// paths served without a SubjectAccessReview.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv, oneLineProblems, runCli, startCli, type ServingCli } from '../support/cli.js';
import { issueCA, issueClient, issueServing, type Issued } from '../support/certs.js';
import { httpsCall, type Call, type Reply } from '../support/https-call.js';
import { KubeApiDouble } from '../support/kube-api-double.js';
import { writeKubeconfig } from '../support/kubeconfig.js';

const EXAMPLES = fileURLToPath(new URL('../../../rules/examples', import.meta.url));
const DISCOVERY = '/apis/custom.metrics.k8s.io/v1beta2';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let dir: string;
let servingCA: Issued;
let frontProxyCA: Issued;
let frontProxy: Issued;
let clientCA: Issued;
let masterClient: Issued;

function serveArgs(...extra: string[]): string[] {
  return [
    'serve',
    '--rules',
    EXAMPLES,
    '--prometheus-url',
    'http://127.0.0.1:9',
    '--secure-port',
    '0',
    '--bind-address',
    '127.0.0.1',
    '--metrics-port',
    '-1',
    '--log-level',
    'info',
    '--tls-cert-file',
    join(dir, 'tls.crt'),
    '--tls-private-key-file',
    join(dir, 'tls.key'),
    ...extra,
  ];
}

const caFlags = (): string[] => [
  '--requestheader-client-ca-file',
  join(dir, 'front-proxy-ca.crt'),
  '--requestheader-allowed-names',
  'front-proxy-client',
  '--client-ca-file',
  join(dir, 'client-ca.crt'),
];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-auth-startup-'));
  servingCA = await issueCA('serving-ca');
  const serving = await issueServing(servingCA);
  frontProxyCA = await issueCA('front-proxy-ca');
  frontProxy = await issueClient(frontProxyCA, 'front-proxy-client');
  clientCA = await issueCA('client-ca');
  masterClient = await issueClient(clientCA, 'admin', { organizations: ['system:masters'] });
  await writeFile(join(dir, 'tls.crt'), serving.cert);
  await writeFile(join(dir, 'tls.key'), serving.key);
  await writeFile(join(dir, 'front-proxy-ca.crt'), frontProxyCA.cert);
  await writeFile(join(dir, 'client-ca.crt'), clientCA.cert);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('delegated authentication without a kubeconfig, with CA flags', () => {
  let cli: ServingCli;
  const call = (path: string, options: Call = {}): Promise<Reply> => httpsCall(`${cli.url}${path}`, servingCA.cert, options);

  before(async () => {
    cli = await startCli(serveArgs(...caFlags()), cleanEnv(dir));
  });

  after(async () => {
    await cli?.stop();
  });

  test('it starts and logs that TokenReview and SubjectAccessReview are unavailable', () => {
    assert.match(cli.log(), /TokenReview is unavailable/);
    assert.match(cli.log(), /SubjectAccessReview is unavailable/);
  });

  test('system:masters through the front proxy is served', async () => {
    const r = await call(DISCOVERY, { client: frontProxy, headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.kind, 'APIResourceList');
  });

  test('a client certificate in system:masters is served', async () => {
    const r = await call(DISCOVERY, { client: masterClient });
    assert.equal(r.status, 200);
  });

  test('any other user is forbidden in Kubernetes wording', async () => {
    const r = await call(DISCOVERY, { client: frontProxy, headers: { 'X-Remote-User': 'bob' } });
    assert.equal(r.status, 403);
    assert.equal(r.body.message, `forbidden: User "bob" cannot get path "${DISCOVERY}"`);
  });

  test('a bearer token cannot be checked and is refused', async () => {
    const r = await call(DISCOVERY, { headers: { Authorization: 'Bearer some-token' } });
    assert.equal(r.status, 401);
  });

  test('the always-allowed health paths need no credentials', async () => {
    assert.equal((await call('/livez')).status, 200);
  });
});

describe('delegated authentication with an unreachable API server', () => {
  let kubeconfig: string;

  before(async () => {
    kubeconfig = await writeKubeconfig(await mkdtemp(join(dir, 'unreachable-')), `https://127.0.0.1:${await closedPort()}`);
  });

  test('start-up fails on one line that names --authentication-tolerate-lookup-failure', async () => {
    const r = await runCli(serveArgs('--kubeconfig', kubeconfig, '--log-level', 'error'), cleanEnv(dir));
    assert.deepEqual(oneLineProblems(r, 1, ['extension-apiserver-authentication', '--authentication-tolerate-lookup-failure']), [], r.stderr);
  });

  test('with --authentication-tolerate-lookup-failure it warns and starts', async () => {
    const cli = await startCli(serveArgs('--kubeconfig', kubeconfig, '--authentication-tolerate-lookup-failure'), cleanEnv(dir));
    try {
      assert.match(cli.log(), /"level":"warn".*authentication configuration lookup failed/);
    } finally {
      await cli.stop();
    }
  });

  test('with the front-proxy CA given by flag the lookup failure does not stop start-up', async () => {
    const cli = await startCli(serveArgs('--kubeconfig', kubeconfig, '--requestheader-client-ca-file', join(dir, 'front-proxy-ca.crt')), cleanEnv(dir));
    await cli.stop();
  });
});

describe('--authentication-skip-lookup and --authorization-always-allow-paths', () => {
  let double: KubeApiDouble;
  let kubeconfig: string;

  before(async () => {
    double = await KubeApiDouble.start();
    double.setAccessDecision((spec) => spec.user === 'hpa');
    kubeconfig = await writeKubeconfig(await mkdtemp(join(dir, 'double-')), double.url);
  });

  after(async () => {
    await double?.close();
  });

  test('--authentication-skip-lookup never reads the ConfigMap and serves from the flags', async () => {
    const cli = await startCli(serveArgs('--kubeconfig', kubeconfig, '--authentication-skip-lookup', '--requestheader-client-ca-file', join(dir, 'front-proxy-ca.crt')), cleanEnv(dir));
    try {
      const r = await httpsCall(`${cli.url}${DISCOVERY}`, servingCA.cert, { client: frontProxy, headers: { 'X-Remote-User': 'hpa' } });
      assert.equal(r.status, 200);
      assert.deepEqual(
        double.requests.filter((q) => q.path.includes('/configmaps')),
        [],
      );
    } finally {
      await cli.stop();
    }
  });

  test('a path added to --authorization-always-allow-paths is served without credentials', async () => {
    const cli = await startCli(serveArgs(...caFlags(), '--kubeconfig', kubeconfig, '--authorization-always-allow-paths', '/healthz,/readyz,/livez,/metrics'), cleanEnv(dir));
    try {
      const r = await httpsCall(`${cli.url}/metrics`, servingCA.cert);
      assert.equal(r.status, 200);
      assert.match(String(r.body.text), /^# HELP hpa_bridge_requests_total /m);
    } finally {
      await cli.stop();
    }
  });

  test('a health path left out of --authorization-always-allow-paths needs credentials', async () => {
    const cli = await startCli(serveArgs(...caFlags(), '--kubeconfig', kubeconfig, '--authorization-always-allow-paths', '/healthz'), cleanEnv(dir));
    try {
      assert.equal((await httpsCall(`${cli.url}/livez`, servingCA.cert)).status, 401);
      assert.equal((await httpsCall(`${cli.url}/healthz`, servingCA.cert)).status !== 401, true);
    } finally {
      await cli.stop();
    }
  });

  test('a busy port after authentication has started still ends the process with one line', async () => {
    const first = await startCli(serveArgs('--kubeconfig', kubeconfig), cleanEnv(dir));
    try {
      const port = new URL(first.url).port;
      const args = serveArgs('--kubeconfig', kubeconfig, '--log-level', 'error').map((a, i, all) => (all[i - 1] === '--secure-port' ? port : a));
      const r = await runCli(args, cleanEnv(dir), 10_000);
      assert.deepEqual(oneLineProblems(r, 1, [`cannot listen on 127.0.0.1:${port}`]), [], r.stderr);
    } finally {
      await first.stop();
    }
  });

  test('a * anywhere but at the end of an always-allowed path is a usage error', async () => {
    const r = await runCli(serveArgs('--kubeconfig', kubeconfig, '--authorization-always-allow-paths', '/a*b'), cleanEnv(dir));
    assert.deepEqual(oneLineProblems(r, 2, ['--authorization-always-allow-paths', 'only trailing * allowed in "/a*b"']), [], r.stderr);
  });
});
