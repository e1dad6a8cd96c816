// --prometheus-auth-config and --prometheus-auth-incluster: the credentials
// and CA of a kubeconfig, or of a service account, reach an HTTPS backend
// that stands in for Prometheus behind an authenticating proxy. It checks
// the client certificate against its CA, records the Authorization header
// and answers one sample. The kubeconfig's server is never dialled.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { StartupError } from '../../cli/errors.js';
import { prometheusClientFor } from '../../cli/prometheus-connection.js';
import { parseServeArgs } from '../../cli/serve-config.js';
import { issueCA, issueClient, issueServing, type Issued } from '../support/certs.js';

interface Seen {
  readonly authorization: string | undefined;
  readonly clientCN: string | undefined;
}

describe('Prometheus credentials from a kubeconfig or the service account', () => {
  let server: Server;
  let url: string;
  let dir: string;
  let ca: Issued;
  let otherCA: Issued;
  let client: Issued;
  const seen: Seen[] = [];

  before(async () => {
    ca = await issueCA('prometheus-ca');
    otherCA = await issueCA('some-other-ca');
    const serving = await issueServing(ca);
    client = await issueClient(ca, 'hpa-bridge');
    server = createServer({ cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
      seen.push({ authorization: req.headers.authorization, clientCN: peer ? String(peer.subject.CN) : undefined });
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1700000000, '1'] }] } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-prom-auth-'));
    await writeFile(join(dir, 'ca.pem'), ca.cert);
    await writeFile(join(dir, 'client.crt'), client.cert);
    await writeFile(join(dir, 'client.key'), client.key);
    await writeFile(join(dir, 'token'), 'from-a-file\n');
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  async function kubeconfig(name: string, user: string, cluster = `certificate-authority-data: ${Buffer.from(ca.cert).toString('base64')}`): Promise<string> {
    const path = join(dir, name);
    await writeFile(
      path,
      `apiVersion: v1
kind: Config
clusters:
- name: prometheus
  cluster:
    server: https://unused.invalid
    ${cluster}
users:
- name: adapter
  user:
    ${user.split('\n').join('\n    ')}
contexts:
- name: prometheus
  context: {cluster: prometheus, user: adapter}
current-context: prometheus
`,
    );
    return path;
  }

  /** One query through the client serve builds from these flags; what the backend saw. */
  async function queryWith(flags: readonly string[], env: NodeJS.ProcessEnv = {}, serviceAccountDir?: string): Promise<Seen> {
    const config = parseServeArgs(['--rules=r.yaml', `--prometheus-url=${url}`, ...flags], {});
    const client = prometheusClientFor(config, env, serviceAccountDir);
    const samples = await client.query('up', { deadline: Date.now() + 5000 });
    assert.equal(samples[0]?.value, 1);
    return seen.at(-1) as Seen;
  }

  test("a kubeconfig's CA, client certificate and token reach Prometheus, and its server is not used", async () => {
    const path = await kubeconfig('full', `client-certificate: ${join(dir, 'client.crt')}\nclient-key: ${join(dir, 'client.key')}\ntoken: from-the-kubeconfig`);
    assert.deepEqual(await queryWith([`--prometheus-auth-config=${path}`]), { authorization: 'Bearer from-the-kubeconfig', clientCN: 'hpa-bridge' });
  });

  test("a kubeconfig's token file is read", async () => {
    const path = await kubeconfig('token-file', `tokenFile: ${join(dir, 'token')}`);
    assert.equal((await queryWith([`--prometheus-auth-config=${path}`])).authorization, 'Bearer from-a-file');
  });

  test("a kubeconfig's user name and password are sent as basic auth", async () => {
    const path = await kubeconfig('basic', 'username: adapter\npassword: s3cret');
    assert.equal((await queryWith([`--prometheus-auth-config=${path}`])).authorization, `Basic ${Buffer.from('adapter:s3cret').toString('base64')}`);
  });

  test('the flags win over the kubeconfig: token file, CA and client certificate', async () => {
    const path = await kubeconfig('overridden', 'token: from-the-kubeconfig', `certificate-authority-data: ${Buffer.from(otherCA.cert).toString('base64')}`);
    const seenNow = await queryWith([
      `--prometheus-auth-config=${path}`,
      `--prometheus-token-file=${join(dir, 'token')}`,
      `--prometheus-ca-file=${join(dir, 'ca.pem')}`,
      `--prometheus-client-tls-cert-file=${join(dir, 'client.crt')}`,
      `--prometheus-client-tls-key-file=${join(dir, 'client.key')}`,
    ]);
    assert.deepEqual(seenNow, { authorization: 'Bearer from-a-file', clientCN: 'hpa-bridge' });
  });

  test("the in-cluster service account's token and CA reach Prometheus", async () => {
    const account = join(dir, 'serviceaccount');
    await mkdir(account, { recursive: true });
    await writeFile(join(account, 'token'), 'service-account-token');
    await writeFile(join(account, 'ca.crt'), ca.cert);
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    assert.equal((await queryWith(['--prometheus-auth-incluster'], env, account)).authorization, 'Bearer service-account-token');
  });

  const refused: [string, string, string | undefined, RegExp][] = [
    ['an exec credential plugin', 'exec: {apiVersion: client.authentication.k8s.io/v1, command: get-token}', undefined, /exec is not supported for Prometheus/],
    ['insecure-skip-tls-verify', 'token: t', 'insecure-skip-tls-verify: true', /insecure-skip-tls-verify is not supported for Prometheus/],
  ];
  for (const [name, user, cluster, message] of refused) {
    test(`a kubeconfig with ${name} fails start-up naming the flag and file`, async () => {
      const path = await kubeconfig(name.replace(/\W+/g, '-'), user, cluster);
      const config = parseServeArgs(['--rules=r.yaml', `--prometheus-url=${url}`, `--prometheus-auth-config=${path}`], {});
      assert.throws(
        () => prometheusClientFor(config),
        (e: unknown) => e instanceof StartupError && e.message.startsWith(`--prometheus-auth-config ${path}: `) && message.test(e.message),
      );
    });
  }

  test('--prometheus-auth-incluster outside a pod fails start-up naming the flag', () => {
    const config = parseServeArgs(['--rules=r.yaml', `--prometheus-url=${url}`, '--prometheus-auth-incluster'], {});
    assert.throws(
      () => prometheusClientFor(config, {}),
      (e: unknown) => e instanceof StartupError && /^--prometheus-auth-incluster: .*KUBERNETES_SERVICE_HOST/.test(e.message),
    );
  });
});
