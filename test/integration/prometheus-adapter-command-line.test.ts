// prometheus-adapter's own command lines, run as the image runs them: its
// manifests' arguments given to bin/hpa-bridge.js (the image's entry point),
// then to the image's /adapter link, and its Helm chart's default arguments,
// /adapter first. Only paths and ports change: the config file becomes a
// real-world rule file, the Prometheus URL a real Prometheus, the cert
// directory and secure port temporary ones. The environment (not the
// arguments) points the process at the Kubernetes API test double and keeps
// the plain /metrics port off the shared 8080.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BIN, cleanEnv, startCli, type ServingCli } from '../support/cli.js';
import { eventually } from '../support/eventually.js';
import { startExporter, type Exporter } from '../support/exporter.js';
import { fixturePath, readFixture } from '../support/fixtures.js';
import { httpsCall, type Reply } from '../support/https-call.js';
import { issueCA, issueClient, type Issued } from '../support/certs.js';
import { KubeApiDouble } from '../support/kube-api-double.js';
import { writeKubeconfig } from '../support/kubeconfig.js';
import { startPrometheus, type PrometheusInstance } from '../support/prometheus.js';

const HPA = { 'X-Remote-User': 'system:serviceaccount:kube-system:horizontal-pod-autoscaler', 'X-Remote-Group': 'system:serviceaccounts' };

/** The fixture's argument list with paths and ports replaced, each flag by the function of its name. */
async function adapterArgs(fixture: string, replace: Readonly<Record<string, (value: string) => string>>): Promise<string[]> {
  const args = parse(await readFixture(fixture)) as string[];
  return args.map((arg) => {
    const m = /^--([^=]+)=(.*)$/s.exec(arg);
    const by = m ? replace[m[1] as string] : undefined;
    return m && by ? `--${m[1]}=${by(m[2] as string)}` : arg;
  });
}

describe("prometheus-adapter's command lines", () => {
  let exporter: Exporter;
  let prom: PrometheusInstance;
  let double: KubeApiDouble;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let frontProxy: Issued;

  before(async () => {
    exporter = await startExporter();
    exporter.set('kube_pod_labels', { namespace: 'default', pod: 'web-1', label_app: 'web' }, 1);
    exporter.set('http_requests_in_flight', { namespace: 'default', pod: 'web-1' }, 7);
    exporter.set('probe_success', { instance: 'https://example.org' }, 1);
    prom = await startPrometheus({ scrapeTargets: [exporter.address], scrapeIntervalSeconds: 1 });
    await prom.waitForSeries('http_requests_in_flight');
    const frontProxyCA = await issueCA('front-proxy-ca');
    frontProxy = await issueClient(frontProxyCA, 'front-proxy-client');
    double = await KubeApiDouble.start();
    double.setAuthenticationConfigMap({
      'requestheader-client-ca-file': frontProxyCA.cert,
      'requestheader-allowed-names': '["front-proxy-client"]',
      'requestheader-username-headers': '["X-Remote-User"]',
      'requestheader-group-headers': '["X-Remote-Group"]',
      'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
    });
    double.setAccessDecision((spec) => spec.user === HPA['X-Remote-User']);
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-adapter-args-'));
    env = cleanEnv(dir, { KUBECONFIG: await writeKubeconfig(dir, double.url), HPA_BRIDGE_METRICS_PORT: '0', HPA_BRIDGE_BIND_ADDRESS: '127.0.0.1' });
  });

  after(async () => {
    await double?.close();
    await prom?.stop();
    await exporter?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A call as kube-apiserver makes it for the HPA controller: through the front proxy, trusting `ca`. */
  const asHpa = (server: ServingCli, path: string, ca: string): Promise<Reply> => httpsCall(`${server.url}${path}`, ca, { client: frontProxy, headers: HPA });

  describe('the manifests (deploy/manifests/deployment.yaml)', () => {
    let args: string[];
    const certDir = (): string => join(dir, 'serving-cert');

    before(async () => {
      args = await adapterArgs('prometheus-adapter/deployment-args.yaml', {
        'cert-dir': () => certDir(),
        config: () => fixturePath('rules/real-world/rules-01-k8s-prom-hpa.yaml'),
        'prometheus-url': () => `${prom.url}/`,
        'secure-port': () => '0',
      });
    });

    test('serve through the image entry point, with a certificate written to --cert-dir, the listed cipher suites and real-world rules', async () => {
      const server = await startCli(args, env);
      try {
        const ca = await readFile(join(certDir(), 'apiserver.crt'), 'utf8');
        await readFile(join(certDir(), 'apiserver.key'), 'utf8');
        await eventually(async () => {
          const r = await asHpa(server, '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/web-1/http_requests_in_flight', ca);
          assert.equal(r.status, 200, JSON.stringify(r.body));
          const items = r.body.items as { describedObject: { name: string }; metricName: string; value: string }[];
          assert.deepEqual(
            items.map((i) => [i.describedObject.name, i.metricName, i.value]),
            [['web-1', 'http_requests_in_flight', '7']],
          );
        }, 15_000);
        const port = Number(new URL(server.url).port);
        assert.equal(await tls12With(port, 'ECDHE-RSA-AES128-GCM-SHA256'), 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
        assert.equal(await tls12With(port, 'AES128-GCM-SHA256'), 'TLS_RSA_WITH_AES_128_GCM_SHA256');
        // Not in the manifests' list: refused.
        assert.equal(await tls12With(port, 'ECDHE-RSA-AES256-SHA384'), 'refused');
        assert.doesNotMatch(server.log(), /"level":"(error|fatal)"/);
      } finally {
        assert.equal(await server.stop(), 0);
      }
    });

    test("serve again through the image's /adapter, with the certificate kept in --cert-dir", async () => {
      const before = await readFile(join(certDir(), 'apiserver.crt'), 'utf8');
      const link = join(dir, 'adapter');
      await symlink(BIN, link);
      const server = await startCli(args, env, 20_000, link);
      try {
        assert.equal(await readFile(join(certDir(), 'apiserver.crt'), 'utf8'), before);
        // The served certificate is the kept one: it verifies against the file.
        await eventually(async () => {
          const r = await asHpa(server, '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/web-1/http_requests_in_flight', before);
          assert.equal(r.status, 200, JSON.stringify(r.body));
        }, 15_000);
        assert.match(server.log(), /serving with the self-signed certificate kept in --cert-dir/);
      } finally {
        assert.equal(await server.stop(), 0);
      }
    });
  });

  describe("the Helm chart's defaults (charts/prometheus-adapter)", () => {
    test('serve through the image entry point with /adapter first, logging at debug for --v=4, and real-world rules', async () => {
      const args = await adapterArgs('prometheus-adapter/helm-chart-args.yaml', {
        'cert-dir': () => join(dir, 'chart-cert'),
        config: () => fixturePath('rules/real-world/rules-07-bjw-s-home-ops.yaml'),
        'prometheus-url': () => prom.url,
        'secure-port': () => '0',
      });
      assert.equal(args[0], '/adapter');
      const server = await startCli(args, env);
      try {
        const ca = await readFile(join(dir, 'chart-cert', 'apiserver.crt'), 'utf8');
        await eventually(async () => {
          const r = await asHpa(server, '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/probe_success', ca);
          assert.equal(r.status, 200, JSON.stringify(r.body));
          const items = r.body.items as { metricName: string; value: string }[];
          assert.deepEqual(
            items.map((i) => [i.metricName, i.value]),
            [['probe_success', '1']],
          );
        }, 15_000);
        // A denied caller is logged at debug only.
        const denied = await httpsCall(`${server.url}/apis/external.metrics.k8s.io/v1beta1`, ca, { client: frontProxy, headers: { 'X-Remote-User': 'mallory' } });
        assert.equal(denied.status, 403);
        await eventually(() => assert.match(server.log(), /"level":"debug".*"msg":"forbidden"/));
      } finally {
        assert.equal(await server.stop(), 0);
      }
    });
  });

  test('flags without effect here, as older releases took them, each log one warning that says why', async () => {
    const server = await startCli(
      [
        '/adapter',
        '--logtostderr=true',
        '--disable-http2',
        '--profiling=false',
        `--cert-dir=${join(dir, 'older-cert')}`,
        `--config=${fixturePath('rules/real-world/rules-01-k8s-prom-hpa.yaml')}`,
        `--prometheus-url=${prom.url}`,
        '--secure-port=0',
      ],
      env,
    );
    try {
      await eventually(() => {
        const warnings = server
          .log()
          .split('\n')
          .filter((l) => l.includes('"level":"warn"') && l.includes('has no effect here'))
          .map((l) => (JSON.parse(l) as { msg: string }).msg);
        assert.deepEqual(warnings, [
          '--logtostderr has no effect here: logs are JSON lines on stderr; --log-level or --v sets how much',
          '--disable-http2 has no effect here: the HTTPS port speaks HTTP/1.1 only',
          '--profiling has no effect here: there are no profiling or debug endpoints',
        ]);
      });
      // SIGTERM a moment after "serving" can land before serve handles it; one request waits that moment out.
      const ca = await readFile(join(dir, 'older-cert', 'apiserver.crt'), 'utf8');
      assert.equal((await httpsCall(`${server.url}/livez`, ca)).status, 200);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});

/** The IANA name of the suite a TLS 1.2 handshake offering only `cipher` settles on, or "refused". */
function tls12With(port: number, cipher: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', ciphers: cipher, rejectUnauthorized: false }, () => {
      resolve(socket.getCipher().standardName);
      socket.end();
    });
    socket.on('error', () => resolve('refused'));
  });
}
