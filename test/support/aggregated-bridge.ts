// `hpa-bridge serve` as it runs in a cluster, for kubectl: the real command
// with delegated authentication against a KubeApiDouble, registered as the
// metrics.k8s.io APIServices (v1beta1 and v1) of an AggregatorDouble that
// kubectl talks to through a kubeconfig of its own. Certificates: one CA
// for serving (hpa-bridge and the aggregator), the front-proxy CA given to
// hpa-bridge with --requestheader-client-ca-file, and a client CA for users
// of the aggregator.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AggregatorDouble, type AggregatorUser } from './aggregator-double.js';
import { issueCA, issueClient, issueServing, type Issued } from './certs.js';
import { cleanEnv, startCli, type ServingCli } from './cli.js';
import type { KubeApiDouble } from './kube-api-double.js';
import { writeKubeconfig } from './kubeconfig.js';

export const FRONT_PROXY_CN = 'front-proxy-client';
export const METRICS_GROUP = 'metrics.k8s.io';

export interface AggregatedBridgeOptions {
  /** Rule files or directories for --rules. */
  readonly rules: readonly string[];
  readonly prometheusUrl: string;
  /** The core API server: hpa-bridge's kubeconfig points at it, and the aggregator serves it. */
  readonly core: KubeApiDouble;
  /** Where certificates, kubeconfigs and kubectl's caches go. */
  readonly dir: string;
  /** Bearer tokens of the aggregator's users. */
  readonly tokens: Readonly<Record<string, AggregatorUser>>;
  /** --object-source; default kubernetes, as in a cluster. */
  readonly objectSource?: 'kubernetes' | 'prometheus';
  readonly extraArgs?: readonly string[];
}

export interface AggregatedBridge {
  readonly aggregator: AggregatorDouble;
  readonly bridge: ServingCli;
  /** A kubeconfig for the aggregator with this bearer token. */
  kubeconfigWithToken(token: string): Promise<string>;
  /** A kubeconfig for the aggregator with a client certificate for `user` in `groups`. */
  kubeconfigWithCertificate(user: string, groups: readonly string[]): Promise<string>;
  /** hpa-bridge's log so far. */
  log(): string;
  close(): Promise<void>;
}

export async function startAggregatedBridge(options: AggregatedBridgeOptions): Promise<AggregatedBridge> {
  const dir = await mkdtemp(join(options.dir, 'bridge-'));
  const servingCA = await issueCA('serving-ca');
  const frontProxyCA = await issueCA('front-proxy-ca');
  const clientCA = await issueCA('kubernetes-client-ca');
  const serving = await issueServing(servingCA);
  const files = {
    cert: join(dir, 'tls.crt'),
    key: join(dir, 'tls.key'),
    frontProxyCA: join(dir, 'front-proxy-ca.crt'),
    kubeconfig: join(dir, 'core-kubeconfig'),
  };
  await writeFile(files.cert, serving.cert);
  await writeFile(files.key, serving.key);
  await writeFile(files.frontProxyCA, frontProxyCA.cert);
  await writeKubeconfig(dir, options.core.url, { name: 'core-kubeconfig' });
  const bridge = await startCli(
    [
      'serve',
      ...options.rules.flatMap((r) => ['--rules', r]),
      '--prometheus-url',
      options.prometheusUrl,
      '--secure-port',
      '0',
      '--bind-address',
      '127.0.0.1',
      '--tls-cert-file',
      files.cert,
      '--tls-private-key-file',
      files.key,
      '--authentication',
      'delegated',
      '--kubeconfig',
      files.kubeconfig,
      '--requestheader-client-ca-file',
      files.frontProxyCA,
      '--requestheader-allowed-names',
      FRONT_PROXY_CN,
      '--object-source',
      options.objectSource ?? 'kubernetes',
      '--metrics-port',
      '-1',
      '--log-level',
      'info',
      ...(options.extraArgs ?? []),
    ],
    cleanEnv(dir),
  );
  let aggregator: AggregatorDouble;
  try {
    aggregator = await AggregatorDouble.start({
      local: { url: options.core.url },
      serving: await issueServing(servingCA),
      proxyClient: await issueClient(frontProxyCA, FRONT_PROXY_CN),
      clientCA: clientCA.cert,
      tokens: options.tokens,
    });
  } catch (err) {
    await bridge.stop();
    throw err;
  }
  // As deploy/ registers them: v1beta1 for today's clients, v1 preferred.
  aggregator.registerAPIService({ group: METRICS_GROUP, version: 'v1beta1', url: bridge.url, caBundle: servingCA.cert, groupPriorityMinimum: 100, versionPriority: 100 });
  aggregator.registerAPIService({ group: METRICS_GROUP, version: 'v1', url: bridge.url, caBundle: servingCA.cert, groupPriorityMinimum: 100, versionPriority: 200 });
  let n = 0;
  const aggregatorCA: Issued = servingCA;
  return {
    aggregator,
    bridge,
    kubeconfigWithToken: (token) => writeKubeconfig(dir, aggregator.url, { token, ca: aggregatorCA.cert, name: `kubeconfig-${++n}` }),
    kubeconfigWithCertificate: async (user, groups) =>
      writeKubeconfig(dir, aggregator.url, { client: await issueClient(clientCA, user, { organizations: groups }), ca: aggregatorCA.cert, name: `kubeconfig-${++n}` }),
    log: () => bridge.log(),
    async close() {
      await aggregator.close();
      await bridge.stop();
    },
  };
}
