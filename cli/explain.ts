// `hpa-bridge explain`: why an HPA scales or does not. Reads the HPA, its
// scale target and its pods from files or a cluster, asks the provider for
// each metric as the controller would, and hands everything to explain/.
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { silentLogger, type Logger } from '../adapter/log.js';
import { PrometheusObjectSource } from '../adapter/objects/prometheus.js';
import type { ObjectLister } from '../adapter/objects/types.js';
import type { MetricsSource } from '../adapter/prometheus.js';
import { explainHpa, metricSpecsOf, type Explanation, type WebhookView } from '../explain/explain.js';
import { hpaFromManifest, ManifestError, objectsOf, podFromManifest, podFromTemplate, workloadFromManifest, type PodObject, type WorkloadObject } from '../explain/manifests.js';
import { EXIT_CODES, renderJson, renderText } from '../explain/render.js';
import { metricRequestFor } from '../explain/request.js';
import type { ControllerState, HorizontalPodAutoscaler } from '../hpa/index.js';
import { matchesLabels, parseLabelSelector } from '../k8s/label-selector.js';
import { StaticResourceCatalog, type ResourceCatalog } from '../rules/resources.js';
import type { RuleSet } from '../rules/load.js';
import { parseArgs, UsageError, type Output } from './args.js';
import { StartupError } from './errors.js';
import { loadRules, metricsBackend, PodListSource } from './explain-sources.js';
import { prometheusClientFor } from './prometheus-connection.js';
import { foldAliases, prometheusConnection, prometheusUrlOf, SERVE_FLAGS } from './serve-config.js';

const EXPLAIN_USAGE = `Usage: hpa-bridge explain -f HPA.yaml --workload DEPLOY.yaml [--pods PODS.yaml] --rules PATH --prometheus-url URL
       hpa-bridge explain [--kubeconfig FILE] -n NAMESPACE NAME --rules PATH --prometheus-url URL

Says why an HPA scales or does not: for each metric the request the
controller sends, the rule and PromQL that answer it, the value per object,
the pods left out and why, the replica count it recommends; then the
tolerance, stabilization window and policies that shape the decision, and
one sentence.

  -f FILE              the HPA (autoscaling/v2), e.g. from kubectl get hpa NAME -o yaml
  --workload FILE      its scale target (Deployment, StatefulSet, ReplicaSet)
  --pods FILE          its pods (a PodList or several Pod documents); without it, pods are
                       listed from kube-state-metrics and taken as running and ready
  --kubeconfig FILE    read the HPA, its target, its pods and the namespace from a cluster
                       (default: $KUBECONFIG, then ~/.kube/config)
  -n, --namespace NS   the HPA's namespace (default: the file's, else default)
  --rules PATH         rule file or directory, as serve (repeatable)
  --prometheus-url URL Prometheus, as serve; the --prometheus-* connection flags of serve apply
  --format text|json   json gives the same for tools

Exit status: 0 the HPA scales, or holds on target; 1 it does not scale although
the metrics say it should, or cannot compute a replica count; 2 usage error;
3 the explanation could not be made (a file, the cluster or Prometheus could
not be read).
`;

const PROMETHEUS_FLAGS = SERVE_FLAGS.filter((f) => f.group === 'prometheus');

const FLAGS = {
  f: 'string',
  filename: 'string',
  workload: 'string',
  pods: 'string',
  kubeconfig: 'string',
  n: 'string',
  namespace: 'string',
  rules: 'list',
  'prometheus-url': 'string',
  format: 'string',
  help: 'boolean',
  ...Object.fromEntries(PROMETHEUS_FLAGS.map((f) => [f.name, f.kind])),
} as const;

/** The objects of a YAML or JSON file; a StartupError naming the flag and file when it cannot be read. */
async function readObjects(flag: string, path: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new StartupError(`${flag} ${path}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  const docs = parseAllDocuments(text);
  const out: Record<string, unknown>[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const error = doc.errors[0];
    if (error) throw new StartupError(`${flag} ${path}: not YAML: ${error.message.split('\n')[0] ?? ''}`);
    out.push(...objectsOf(doc.toJS()));
  }
  if (out.length === 0) throw new StartupError(`${flag} ${path}: no object in the file`);
  return out;
}

function fromManifest<T>(flag: string, path: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ManifestError) throw new StartupError(`${flag} ${path}: ${e.message}`);
    throw e;
  }
}

/**
 * What explain can know of the controller's history: after a scale at
 * status.lastScaleTime to the current count, that count was the
 * recommendation then, which the scale-down window remembers.
 */
export function historyFromStatus(hpa: HorizontalPodAutoscaler): ControllerState {
  const at = hpa.status?.lastScaleTime;
  const replicas = hpa.status?.currentReplicas;
  return at === undefined || replicas === undefined ? {} : { recommendations: [{ recommendation: replicas, timestamp: at }] };
}

export interface ExplainSources {
  readonly hpa: HorizontalPodAutoscaler;
  readonly workload: WorkloadObject;
  /** Undefined: list the pods from kube-state-metrics series and build them from the template. */
  readonly pods?: readonly PodObject[];
  readonly namespaceOptedOut?: boolean;
  readonly rules: RuleSet;
  readonly prometheus: MetricsSource;
  readonly now: number;
  readonly timeoutMs: number;
  readonly log?: Logger;
  readonly history?: ControllerState;
}

/** Gathers the metric answers through the provider and explains the HPA. */
export async function explainFrom(s: ExplainSources): Promise<Explanation> {
  const catalog: ResourceCatalog = new StaticResourceCatalog();
  const log = s.log ?? silentLogger;
  const namespace = s.hpa.namespace ?? 'default';
  let selector;
  try {
    selector = parseLabelSelector(s.workload.selector);
  } catch (e) {
    throw new StartupError(`the selector of ${s.workload.kind}/${s.workload.name} cannot be read: ${(e as Error).message}`);
  }
  let pods = s.pods;
  let objects: ObjectLister;
  if (pods === undefined) {
    const listed = new PrometheusObjectSource({ metrics: s.prometheus, catalog: () => catalog, timeoutMs: s.timeoutMs });
    const refs = await listed.list({ group: '', resource: 'pods' }, namespace, selector).catch(() => []);
    pods = refs.map((r) => podFromTemplate(s.workload, r.name, r.labels, s.now));
    objects = listed;
  } else {
    objects = new PodListSource(
      pods.map((p) => ({ name: p.info.name, namespace, labels: p.labels })),
      catalog,
    );
  }
  const hpa: HorizontalPodAutoscaler = { ...s.hpa, namespace };
  const backend = await metricsBackend({ rules: s.rules, prometheus: s.prometheus, objects, catalog, log, timeoutMs: s.timeoutMs });
  const fetched = [];
  for (const spec of metricSpecsOf(hpa)) fetched.push(await backend.fetch(metricRequestFor(spec, namespace, selector, catalog)));
  const webhook: WebhookView = {
    policy: s.rules.defaults,
    workloadKind: s.workload.kind,
    workloadLabels: s.workload.templateLabels,
    ...(s.namespaceOptedOut ? { namespaceOptedOut: true } : {}),
  };
  // The pods the target's selector picks, as the controller lists them.
  const selected = pods.filter((p) => matchesLabels(selector, p.labels));
  return explainHpa({
    hpa,
    scale: { specReplicas: s.workload.specReplicas, ...(s.workload.statusReplicas === undefined ? {} : { statusReplicas: s.workload.statusReplicas }), selector: s.workload.selector },
    targetKind: s.workload.kind,
    targetName: s.workload.name,
    pods: selected.map((p) => p.info),
    metrics: fetched,
    now: s.now,
    history: s.history ?? historyFromStatus(hpa),
    webhook,
  });
}

interface ClusterObjects {
  readonly hpa: HorizontalPodAutoscaler;
  readonly workload: WorkloadObject;
  readonly pods: PodObject[];
  readonly namespaceOptedOut: boolean;
}

/** Reads the HPA, its target, its pods and its namespace through the Kubernetes client serve uses. */
async function readCluster(kubeconfig: string | undefined, namespace: string, name: string, timeoutMs: number): Promise<ClusterObjects> {
  const { kubeConnectionFor } = await import('./kubernetes-source.js');
  const { KubeClient } = await import('../adapter/kube/client.js');
  const client = new KubeClient(kubeConnectionFor(kubeconfig ? { flag: 'kubeconfig', path: kubeconfig } : undefined));
  const get = async (path: string, query: Record<string, string> = {}): Promise<Record<string, unknown>> => {
    let res;
    try {
      res = await client.request(path, { idleMs: timeoutMs, query });
    } catch (e) {
      throw new StartupError(`--kubeconfig: reading ${path} failed: ${(e as Error).message}`);
    }
    if (res.status !== 200) throw new StartupError(`--kubeconfig: reading ${path} failed: HTTP ${res.status} ${(res.body as { message?: string } | undefined)?.message ?? ''}`);
    return res.body as Record<string, unknown>;
  };
  const hpa = hpaFromManifest(await get(`/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers/${name}`));
  const ref = hpa.spec.scaleTargetRef;
  const catalog = new StaticResourceCatalog();
  const group = ref?.apiVersion?.includes('/') ? ref.apiVersion.split('/')[0] : '';
  const known = catalog.find(group, ref?.kind ?? '')[0];
  if (!ref || !known) throw new StartupError(`the HPA's scaleTargetRef ${ref?.kind ?? ''}/${ref?.name ?? ''} is not a kind explain can read`);
  const base = known.group ? `/apis/${known.group}/${known.version}` : `/api/${known.version}`;
  const workload = workloadFromManifest(await get(`${base}/namespaces/${namespace}/${known.resource}/${ref.name}`));
  const podList = await get(`/api/v1/namespaces/${namespace}/pods`, { labelSelector: workload.selector });
  const ns = await get(`/api/v1/namespaces/${namespace}`);
  const meta = (ns.metadata ?? {}) as { labels?: Record<string, string>; annotations?: Record<string, string> };
  return {
    hpa,
    workload,
    pods: objectsOf(podList).map((p) => podFromManifest(p)),
    namespaceOptedOut: meta.labels?.['hpa-bridge.io/defaults'] === 'off' || meta.annotations?.['hpa-bridge.io/defaults'] === 'off',
  };
}

export async function runExplain(argv: readonly string[], out: Output): Promise<number> {
  const { flags, positional } = parseArgs(argv, FLAGS);
  if (flags.help) {
    out.stdout(EXPLAIN_USAGE);
    return 0;
  }
  const format = (flags.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, not ${JSON.stringify(format)}`);
  const rulePaths = (flags.rules as string[] | undefined) ?? [];
  if (rulePaths.length === 0) throw new UsageError('explain needs --rules PATH');
  const prometheusUrl = prometheusUrlOf(flags['prometheus-url'], 'explain');
  const file = (flags.f ?? flags.filename) as string | undefined;
  const namespaceFlag = (flags.n ?? flags.namespace) as string | undefined;
  const timeoutMs = 10_000;
  if (file === undefined && positional.length !== 1) throw new UsageError('explain needs -f HPA.yaml, or -n NAMESPACE and the HPA name');
  if (file !== undefined && positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])} with -f`);
  if (file !== undefined && flags.workload === undefined) throw new UsageError('-f needs --workload FILE with the scale target');
  const connection = prometheusConnection(foldAliases(Object.fromEntries(PROMETHEUS_FLAGS.map((f) => [f.name, flags[f.name]]))));

  try {
    const catalog = new StaticResourceCatalog();
    const rules = await loadRules(rulePaths, catalog);
    const prometheus = prometheusClientFor({ prometheusUrl, requestTimeoutMs: timeoutMs, prometheus: connection });
    let sources: Omit<ExplainSources, 'rules' | 'prometheus' | 'now' | 'timeoutMs'>;
    if (file !== undefined) {
      const hpaObject = (await readObjects('-f', file))[0] ?? {};
      const hpa = fromManifest('-f', file, () => hpaFromManifest(hpaObject));
      const workloadPath = flags.workload as string;
      const workloadObject = (await readObjects('--workload', workloadPath))[0] ?? {};
      const workload = fromManifest('--workload', workloadPath, () => workloadFromManifest(workloadObject));
      const podsPath = flags.pods as string | undefined;
      const pods = podsPath === undefined ? undefined : (await readObjects('--pods', podsPath)).map((p) => fromManifest('--pods', podsPath, () => podFromManifest(p)));
      const namespace = namespaceFlag ?? hpa.namespace ?? 'default';
      sources = { hpa: { ...hpa, namespace }, workload, ...(pods === undefined ? {} : { pods }) };
    } else {
      const cluster = await readCluster(flags.kubeconfig as string | undefined, namespaceFlag ?? 'default', positional[0] ?? '', timeoutMs);
      sources = cluster;
    }
    const explanation = await explainFrom({ ...sources, rules, prometheus, now: Date.now(), timeoutMs });
    out.stdout(format === 'json' ? renderJson(explanation) : renderText(explanation));
    return EXIT_CODES[explanation.verdict];
  } catch (e) {
    if (e instanceof StartupError || e instanceof ManifestError) {
      out.stderr(`hpa-bridge explain: ${e.message.split('\n')[0] ?? ''}\n`);
      return EXIT_CODES['cannot-evaluate'];
    }
    throw e;
  }
}
