// The deployment artifacts under deploy/: every object must be one the API
// server accepts (strict schema, no unknown fields), the objects must point at
// each other correctly (a wrong port or name only shows up as an unavailable
// APIService in a real cluster), and the pieces that are copies of something
// else (rules, flags, uid) must not drift from their source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { compileRuleTexts } from '../../rules/load.js';
import { locateWorkload } from '../../webhook/workloads.js';
import { parseServeArgs } from '../../cli/serve.js';
import { kubectlKustomizeSkip, requireKubectl } from '../support/kubectl.js';
import { RESOURCE_METRICS_SERVED_GROUP } from '../../adapter/documents.js';
import {
  DEPLOY,
  FAKE_KUBECTL,
  REPO,
  at,
  buildKustomization,
  fakeKubectlPaths,
  find,
  hasCoreSchema,
  hasValuesPath,
  idOf,
  isObject,
  listFiles,
  one,
  readManifests,
  schemaProblems,
  valuesReferences,
  type FakeCluster,
  type Json,
  type JsonObject,
  type KubeObject,
  type Sourced,
} from '../support/manifests.js';

const KUSTOMIZE = join(DEPLOY, 'kustomize');
const HELM = join(DEPLOY, 'helm', 'hpa-bridge');
const KNATIVE = join(DEPLOY, 'knative', 'webhook-service.yaml');

const base = buildKustomization(join(KUSTOMIZE, 'base'));
const certManager = buildKustomization(join(KUSTOMIZE, 'cert-manager'));
const selfSigned = buildKustomization(join(KUSTOMIZE, 'self-signed'));
const resourceMetricsCertManager = buildKustomization(join(KUSTOMIZE, 'resource-metrics', 'cert-manager'));
const resourceMetricsSelfSigned = buildKustomization(join(KUSTOMIZE, 'resource-metrics', 'self-signed'));
const knative = readManifests(KNATIVE);
/** The builds without metrics.k8s.io, which is opt-in. */
const DEFAULT_BUILDS: readonly (readonly [string, readonly Sourced[]])[] = [
  ['base', base],
  ['cert-manager', certManager],
  ['self-signed', selfSigned],
];
const BUILDS: readonly (readonly [string, readonly Sourced[]])[] = [
  ...DEFAULT_BUILDS,
  ['resource-metrics/cert-manager', resourceMetricsCertManager],
  ['resource-metrics/self-signed', resourceMetricsSelfSigned],
];

const deployment = one(base, 'Deployment');
const service = one(base, 'Service');
const podSpec = at(deployment, 'spec.template.spec') as JsonObject;
const container = (podSpec['containers'] as JsonObject[])[0] as JsonObject;
const containerArgs = container['args'] as string[];
const NAMESPACE = deployment.metadata.namespace as string;

/** The Secret a pod spec mounts for TLS (the only secret volume). */
function tlsSecretOf(spec: JsonObject): string {
  const secrets = (spec['volumes'] as JsonObject[]).filter((v) => isObject(v['secret']));
  assert.equal(secrets.length, 1);
  return at(secrets[0], 'secret.secretName') as string;
}

/** Kinds the admission handler mutates (docs/webhook.md), as webhook rules name them. */
const MUTATED = [
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', operations: ['CREATE', 'UPDATE'] },
  { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', operations: ['CREATE', 'UPDATE'] },
  { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', operations: ['CREATE', 'UPDATE'] },
  { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', operations: ['CREATE', 'UPDATE'] },
  { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', operations: ['CREATE', 'UPDATE'] },
  { group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', operations: ['CREATE', 'UPDATE'] },
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', operations: ['CREATE'] },
] as const;

/** Kinds the admission handler answers with warnings only (docs/explain.md). */
const REVIEWED_FOR_WARNINGS = [{ group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers', operations: ['CREATE', 'UPDATE'] }] as const;

const APISERVICES = [
  { name: 'v1beta2.custom.metrics.k8s.io', groupPriorityMinimum: 100, versionPriority: 200 },
  { name: 'v1beta1.custom.metrics.k8s.io', groupPriorityMinimum: 100, versionPriority: 100 },
  { name: 'v1beta1.external.metrics.k8s.io', groupPriorityMinimum: 100, versionPriority: 100 },
] as const;

/**
 * metrics.k8s.io, opt-in. v1beta1 at metrics-server's 100/100 stays preferred, as
 * hpa-bridge's own discovery lists it (RESOURCE_METRICS_SERVED_GROUP); v1 below it.
 */
const RESOURCE_METRICS_APISERVICES = [
  { name: 'v1beta1.metrics.k8s.io', groupPriorityMinimum: 100, versionPriority: 100 },
  { name: 'v1.metrics.k8s.io', groupPriorityMinimum: 100, versionPriority: 50 },
] as const;

/** The rule file that only the resource-metrics opt-in ships. */
const RESOURCE_RULES_FILE = 'resource-metrics.yaml';

/** Values of a repeatable or single flag in an argument list (`--f v` and `--f=v`). */
function flagValues(args: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === flag) out.push(args[++i] as string);
    else if (a.startsWith(`${flag}=`)) out.push(a.slice(flag.length + 1));
  }
  return out;
}

/** rules/examples/*.yaml, by file name; `resource-metrics.yaml` only when asked for. */
function readExamples(withResourceRules = false): Map<string, string> {
  const dir = join(REPO, 'rules', 'examples');
  return new Map(
    readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f) && (withResourceRules || f !== RESOURCE_RULES_FILE))
      .sort()
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
  );
}

function problemsOf(objects: readonly Sourced[]): string[] {
  return objects.filter(({ object }) => hasCoreSchema(object)).flatMap(({ object, file }) => schemaProblems(object).map((p) => `${file}: ${idOf(object)}: ${p}`));
}

// ---------------------------------------------------------------------------
// Parsing and schemas

test('every YAML file under deploy/ parses, except the Helm templates', () => {
  const files = listFiles(DEPLOY, ['.yaml', '.yml']).filter((f) => !f.startsWith(join(HELM, 'templates')));
  assert.ok(files.length >= 20, `only ${files.length} YAML files found`);
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      assert.deepEqual(
        doc.errors.map((e) => e.message),
        [],
        relative(REPO, file),
      );
    }
  }
});

test('the base kustomization lists every manifest in its directory and nothing else', () => {
  const dir = join(KUSTOMIZE, 'base');
  const k = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  assert.deepEqual([...k.resources].sort(), files.sort());
});

test('every built-in object in the kustomize builds and the Knative file validates against its Kubernetes schema, unknown fields included', () => {
  for (const [name, objects] of BUILDS) assert.deepEqual(problemsOf(objects), [], name);
  assert.deepEqual(problemsOf(knative), [], 'knative');
});

test('the schema check reports unknown fields, wrong types and missing required fields', () => {
  const broken = structuredClone(deployment);
  (broken['spec'] as JsonObject)['replica'] = 2;
  ((at(broken, 'spec.template.spec.containers.0') as JsonObject)['ports'] as JsonObject[]).push({ containerPort: '6443' });
  delete (broken['spec'] as JsonObject)['selector'];
  const problems = schemaProblems(broken).join('\n');
  assert.match(problems, /spec\.replica: unknown field/);
  assert.match(problems, /containerPort must be integer/);
  assert.match(problems, /must have required property '?selector'?/);
});

test('the objects outside the core schemas are exactly the cert-manager issuers and certificates and the Knative Service', () => {
  const kinds = (objects: readonly Sourced[]): string[] => objects.filter(({ object }) => !hasCoreSchema(object)).map(({ object }) => `${object.apiVersion} ${object.kind}`);
  assert.deepEqual(kinds(base), []);
  assert.deepEqual(kinds(selfSigned), []);
  assert.deepEqual(kinds(certManager).sort(), ['cert-manager.io/v1 Certificate', 'cert-manager.io/v1 Certificate', 'cert-manager.io/v1 Issuer', 'cert-manager.io/v1 Issuer']);
  assert.deepEqual(kinds(knative), ['serving.knative.dev/v1 Service']);
});

test('the builds here match `kubectl kustomize` when kubectl is installed', { skip: kubectlKustomizeSkip() }, () => {
  const kubectl = requireKubectl();
  for (const [name, objects] of BUILDS) {
    const run = spawnSync(kubectl, ['kustomize', join(KUSTOMIZE, name)], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const theirs = new Map(
      parseAllDocuments(run.stdout)
        .map((d) => d.toJS() as KubeObject)
        .map((o) => [idOf(o), o]),
    );
    const ours = new Map(objects.map(({ object }) => [idOf(object), object]));
    assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort(), name);
    for (const [id, o] of ours) assert.deepEqual(o, theirs.get(id), `${name}: ${id}`);
  }
});

// ---------------------------------------------------------------------------
// Cross-references in the base

test('each APIService registers its group and version on the Service, on a port the Service exposes, with priorities in range', () => {
  const apiServices = find(base, 'APIService');
  assert.deepEqual(apiServices.map((a) => a.metadata.name).sort(), APISERVICES.map((a) => a.name).sort());
  const ports = (at(service, 'spec.ports') as JsonObject[]).map((p) => p['port']);
  for (const want of APISERVICES) {
    const a = one(base, 'APIService', want.name);
    const spec = a['spec'] as JsonObject;
    // kube-aggregator validation: the name must be version.group.
    assert.equal(want.name, `${spec['version'] as string}.${spec['group'] as string}`);
    assert.deepEqual(spec['service'], { name: service.metadata.name, namespace: service.metadata.namespace, port: 443 }, want.name);
    assert.ok(ports.includes(443));
    assert.equal(spec['groupPriorityMinimum'], want.groupPriorityMinimum, want.name);
    assert.equal(spec['versionPriority'], want.versionPriority, want.name);
    const gpm = spec['groupPriorityMinimum'] as number;
    const vp = spec['versionPriority'] as number;
    assert.ok(gpm >= 1 && gpm <= 20000, `${want.name}: groupPriorityMinimum ${gpm}`);
    assert.ok(vp >= 1 && vp <= 1000, `${want.name}: versionPriority ${vp}`);
    assert.ok(!(spec['insecureSkipTLSVerify'] === true && spec['caBundle']), `${want.name}: insecureSkipTLSVerify with a caBundle`);
    assert.notEqual(spec['insecureSkipTLSVerify'], true, `${want.name}: TLS verification is off`);
  }
});

test('the Service sends port 443 to the container port serve listens on, and the metrics port to --metrics-port', () => {
  const config = parseServeArgs(containerArgs.slice(1), {});
  const containerPorts = new Map((container['ports'] as JsonObject[]).map((p) => [p['name'], p['containerPort']]));
  const servicePorts = new Map((at(service, 'spec.ports') as JsonObject[]).map((p) => [p['port'], p['targetPort']]));
  assert.equal(containerPorts.get(servicePorts.get(443) as string), config.securePort);
  const metricsPort = Number(flagValues(containerArgs, '--metrics-port')[0]);
  assert.equal(containerPorts.get(servicePorts.get(8080) as string), metricsPort);
});

test('the webhook calls /mutate on the Service over its https port, fails open within 5 seconds and skips protected namespaces', () => {
  const mwc = one(base, 'MutatingWebhookConfiguration', 'hpa-bridge-defaults');
  const webhooks = mwc['webhooks'] as JsonObject[];
  assert.equal(webhooks.length, 1);
  const w = webhooks[0] as JsonObject;
  assert.equal(w['name'], 'defaults.hpa-bridge.io');
  assert.deepEqual(at(w, 'clientConfig.service'), { name: service.metadata.name, namespace: service.metadata.namespace, path: '/mutate', port: 443 });
  assert.ok((at(service, 'spec.ports') as JsonObject[]).some((p) => p['port'] === 443 && p['name'] === 'https'));
  assert.deepEqual(w['admissionReviewVersions'], ['v1']);
  assert.equal(w['sideEffects'], 'None');
  assert.equal(w['failurePolicy'], 'Ignore');
  assert.equal(w['timeoutSeconds'], 5);
  assert.equal(w['reinvocationPolicy'], 'IfNeeded');
  assert.equal(w['matchPolicy'], 'Equivalent');
  const expressions = at(w, 'namespaceSelector.matchExpressions') as JsonObject[];
  assert.deepEqual(expressions, [
    { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', NAMESPACE] },
    { key: 'hpa-bridge.io/defaults', operator: 'NotIn', values: ['off'] },
  ]);
});

/** Which (group, version, resource, operation) tuples a webhook's rules match. */
function coverage(webhook: JsonObject): Set<string> {
  const out = new Set<string>();
  for (const r of webhook['rules'] as JsonObject[]) {
    for (const g of r['apiGroups'] as string[])
      for (const v of r['apiVersions'] as string[]) for (const res of r['resources'] as string[]) for (const op of r['operations'] as string[]) out.add(`${g}/${v}/${res}/${op}`);
  }
  return out;
}

test('the webhook rules cover every kind the handler mutates, and only kinds it knows', () => {
  for (const mwc of [one(base, 'MutatingWebhookConfiguration'), one(knative, 'MutatingWebhookConfiguration')]) {
    const w = (mwc['webhooks'] as JsonObject[])[0] as JsonObject;
    const covered = coverage(w);
    const expected = new Set([...MUTATED, ...REVIEWED_FOR_WARNINGS].flatMap((m) => m.operations.map((op) => `${m.group}/${m.version}/${m.resource}/${op}`)));
    assert.deepEqual([...covered].sort(), [...expected].sort(), mwc.metadata.name);
    for (const m of MUTATED) {
      const located = locateWorkload({ group: m.group, version: m.version, kind: m.kind }, {});
      assert.ok(!('unknownKind' in located && located.unknownKind), `the handler does not know ${m.kind}`);
    }
  }
});

test("RBAC subjects are hpa-bridge's ServiceAccount or the HPA controller's, and every roleRef names a role in the build or a built-in one", () => {
  const sa = one(base, 'ServiceAccount');
  const builtIn = new Set(['ClusterRole/system:auth-delegator', 'Role/kube-system/extension-apiserver-authentication-reader']);
  const bindings = [...find(base, 'ClusterRoleBinding'), ...find(base, 'RoleBinding')];
  assert.equal(bindings.length, 4);
  for (const b of bindings) {
    for (const s of b['subjects'] as JsonObject[]) {
      const subject = `${s['kind'] as string}/${s['namespace'] as string}/${s['name'] as string}`;
      assert.ok(
        subject === `ServiceAccount/${sa.metadata.namespace as string}/${sa.metadata.name}` || subject === 'ServiceAccount/kube-system/horizontal-pod-autoscaler',
        `${b.metadata.name}: subject ${subject}`,
      );
    }
    const ref = b['roleRef'] as JsonObject;
    assert.equal(ref['apiGroup'], 'rbac.authorization.k8s.io');
    const key = ref['kind'] === 'Role' ? `Role/${b.metadata.namespace as string}/${ref['name'] as string}` : `ClusterRole/${ref['name'] as string}`;
    const inBuild = find(base, ref['kind'] as string, ref['name'] as string).some((r) => ref['kind'] === 'ClusterRole' || r.metadata.namespace === b.metadata.namespace);
    assert.ok(inBuild || builtIn.has(key), `${b.metadata.name}: roleRef ${key} exists nowhere`);
  }
  const authReader = one(base, 'RoleBinding', 'hpa-bridge-auth-reader');
  assert.equal(authReader.metadata.namespace, 'kube-system');
  const metricsReader = one(base, 'ClusterRole', 'hpa-bridge-metrics-reader');
  assert.deepEqual(metricsReader['rules'], [{ apiGroups: ['custom.metrics.k8s.io', 'external.metrics.k8s.io'], resources: ['*'], verbs: ['get', 'list', 'watch'] }]);
  assert.equal(at(deployment, 'spec.template.spec.serviceAccountName'), sa.metadata.name);
});

test('the resource reader may list and watch every resource of the built-in catalog the example rules use', () => {
  const rules = one(base, 'ClusterRole', 'hpa-bridge-resource-reader')['rules'] as JsonObject[];
  const allowed = new Set<string>();
  for (const r of rules) {
    if (!r['resources']) continue;
    for (const g of r['apiGroups'] as string[])
      for (const res of r['resources'] as string[]) if ((r['verbs'] as string[]).includes('list') && (r['verbs'] as string[]).includes('watch')) allowed.add(`${g}/${res}`);
  }
  for (const want of [
    '/pods',
    '/namespaces',
    '/nodes',
    '/services',
    'apps/deployments',
    'apps/statefulsets',
    'apps/replicasets',
    'apps/daemonsets',
    'batch/jobs',
    'batch/cronjobs',
    'networking.k8s.io/ingresses',
  ]) {
    assert.ok(allowed.has(want), `list/watch on ${want}`);
  }
  for (const r of rules) for (const v of r['verbs'] as string[]) assert.ok(['get', 'list', 'watch'].includes(v), `write verb ${v}`);
});

test("the Deployment's selector matches its pod labels, the Service, the PodDisruptionBudget and the anti-affinity term", () => {
  const selector = at(deployment, 'spec.selector.matchLabels') as Record<string, string>;
  const labels = at(deployment, 'spec.template.metadata.labels') as Record<string, string>;
  for (const [k, v] of Object.entries(selector)) assert.equal(labels[k], v, `pod label ${k}`);
  assert.deepEqual(at(service, 'spec.selector'), selector);
  const pdb = one(base, 'PodDisruptionBudget');
  assert.equal(pdb.metadata.namespace, NAMESPACE);
  assert.deepEqual(at(pdb, 'spec.selector.matchLabels'), selector);
  assert.equal(at(pdb, 'spec.minAvailable'), 1);
  const term = at(podSpec, 'affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.podAffinityTerm') as JsonObject;
  assert.equal(term['topologyKey'], 'kubernetes.io/hostname');
  assert.deepEqual(at(term, 'labelSelector.matchLabels'), selector);
  assert.equal(at(deployment, 'spec.replicas'), 2);
});

test('every namespaced object lives in the hpa-bridge Namespace, except the RoleBinding that must be in kube-system', () => {
  assert.equal(one(base, 'Namespace').metadata.name, NAMESPACE);
  const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'APIService', 'MutatingWebhookConfiguration']);
  for (const { object } of base) {
    if (clusterScoped.has(object.kind)) assert.equal(object.metadata.namespace, undefined, idOf(object));
    else if (object.kind === 'RoleBinding') assert.equal(object.metadata.namespace, 'kube-system');
    else assert.equal(object.metadata.namespace, NAMESPACE, idOf(object));
  }
});

test("the container's arguments parse as a `hpa-bridge serve` command line", () => {
  assert.equal(containerArgs[0], 'serve');
  const config = parseServeArgs(containerArgs.slice(1), {});
  assert.deepEqual(config.rules, ['/etc/hpa-bridge/rules']);
  assert.equal(config.prometheusUrl, 'http://prometheus-k8s.monitoring.svc:9090');
  assert.equal(config.authentication, 'delegated');
  assert.equal(config.objectSource, 'kubernetes');
  assert.equal(config.tlsCertFile, '/etc/hpa-bridge/tls/tls.crt');
  assert.equal(config.tlsKeyFile, '/etc/hpa-bridge/tls/tls.key');
  // SIGTERM drains for --shutdown-grace; the kubelet must wait longer before SIGKILL.
  const grace = (config as unknown as { shutdownGraceMs?: number }).shutdownGraceMs;
  if (grace !== undefined) assert.ok((podSpec['terminationGracePeriodSeconds'] as number) * 1000 > grace);
});

test('the files named in the arguments lie in mounted volumes holding the rules ConfigMap and the TLS Secret', () => {
  const mounts = container['volumeMounts'] as JsonObject[];
  const volumes = new Map((podSpec['volumes'] as JsonObject[]).map((v) => [v['name'] as string, v]));
  const volumeFor = (path: string): { volume: JsonObject; inside: string } => {
    const m = mounts.find((mt) => path === mt['mountPath'] || path.startsWith(`${mt['mountPath'] as string}/`));
    assert.ok(m, `${path} is in no volumeMount`);
    const volume = volumes.get(m['name'] as string);
    assert.ok(volume, `volumeMount ${m['name'] as string} has no volume`);
    return { volume, inside: path.slice((m['mountPath'] as string).length + 1) };
  };
  const rules = volumeFor(flagValues(containerArgs, '--rules')[0] as string);
  assert.equal(rules.inside, '', 'the rules flag names the mounted directory itself');
  const configMapName = at(rules.volume, 'configMap.name') as string;
  const configMap = one(base, 'ConfigMap', configMapName);
  assert.equal(configMap.metadata.namespace, NAMESPACE);
  for (const key of Object.keys(configMap['data'] as JsonObject)) assert.match(key, /\.ya?ml$/, 'the loader reads only *.yaml and *.yml');
  for (const flag of ['--tls-cert-file', '--tls-private-key-file']) {
    const { volume, inside } = volumeFor(flagValues(containerArgs, flag)[0] as string);
    assert.equal(at(volume, 'secret.secretName'), 'hpa-bridge-tls');
    // Keys of a kubernetes.io/tls Secret, as cert-manager and bootstrap-tls.sh write them.
    assert.ok(['tls.crt', 'tls.key'].includes(inside), `${flag} names ${inside}`);
    assert.equal(at(volume, 'secret.items'), undefined, 'items would hide keys');
  }
  const tmp = mounts.find((m) => m['mountPath'] === '/tmp');
  assert.ok(tmp, '/tmp is writable');
  assert.ok(isObject(at(volumes.get(tmp['name'] as string), 'emptyDir')));
});

test('the pod meets the restricted Pod Security Standard, probes serve over HTTPS and resources are as specified', () => {
  assert.equal(at(podSpec, 'securityContext.runAsNonRoot'), true);
  assert.equal(at(podSpec, 'securityContext.runAsUser'), 65532);
  assert.equal(at(podSpec, 'securityContext.seccompProfile.type'), 'RuntimeDefault');
  const sc = container['securityContext'] as JsonObject;
  assert.equal(sc['runAsNonRoot'], true);
  assert.equal(sc['readOnlyRootFilesystem'], true);
  assert.equal(sc['allowPrivilegeEscalation'], false);
  assert.deepEqual(at(sc, 'capabilities.drop'), ['ALL']);
  assert.equal(at(sc, 'seccompProfile.type'), 'RuntimeDefault');
  assert.deepEqual(container['resources'], { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } });
  // The V8 heap cap must leave room under the memory limit for code and buffers.
  const nodeOptions = (container['env'] as JsonObject[]).find((e) => e['name'] === 'NODE_OPTIONS')?.['value'] as string;
  const heapMi = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]);
  assert.ok(heapMi > 0 && heapMi <= 256 * 0.7, `heap cap ${heapMi}Mi against a 256Mi limit`);
  const portNames = new Set((container['ports'] as JsonObject[]).map((p) => p['name']));
  for (const [probe, path] of [
    ['startupProbe', '/livez'],
    ['livenessProbe', '/livez'],
    ['readinessProbe', '/readyz'],
  ] as const) {
    const get = at(container, `${probe}.httpGet`) as JsonObject;
    assert.equal(get['path'], path, probe);
    assert.equal(get['scheme'], 'HTTPS', probe);
    assert.ok(portNames.has(get['port'] as string), `${probe} port ${get['port'] as string}`);
  }
  assert.equal(one(base, 'Namespace').metadata['labels'] && (one(base, 'Namespace').metadata['labels'] as JsonObject)['pod-security.kubernetes.io/enforce'], 'restricted');
});

test('the rules ConfigMap holds exactly rules/examples but the resource rules, and they compile without errors', () => {
  const data = one(base, 'ConfigMap', 'hpa-bridge-rules')['data'] as Record<string, string>;
  const examples = readExamples();
  assert.ok(!examples.has(RESOURCE_RULES_FILE));
  assert.deepEqual(Object.keys(data).sort(), [...examples.keys()], 'copy rules/examples/*.yaml but resource-metrics.yaml into deploy/kustomize/base/rules-configmap.yaml');
  for (const [file, text] of examples) assert.equal(data[file], text, `${file} differs from rules/examples/${file}`);
  const result = compileRuleTexts(Object.entries(data).map(([file, text]) => ({ file, text })));
  assert.deepEqual(result.errors, []);
  assert.ok(result.ruleSet, 'no rule set');
  assert.ok(result.ruleSet.rules.length > 0 && result.ruleSet.externalRules.length > 0, 'custom and external rules');
  assert.equal(result.ruleSet.resourceRules, undefined, 'resource rules are opt-in');
});

// ---------------------------------------------------------------------------
// TLS overlays

const CERT_MANAGER_FIELDS = {
  metadata: ['name', 'namespace', 'labels', 'annotations'],
  issuerSpec: ['acme', 'ca', 'vault', 'selfSigned', 'venafi'],
  certificateSpec: [
    'additionalOutputFormats',
    'commonName',
    'dnsNames',
    'duration',
    'emailAddresses',
    'encodeUsagesInRequest',
    'ipAddresses',
    'isCA',
    'issuerRef',
    'keystores',
    'literalSubject',
    'nameConstraints',
    'otherNames',
    'privateKey',
    'renewBefore',
    'renewBeforePercentage',
    'revisionHistoryLimit',
    'secretName',
    'secretTemplate',
    'signatureAlgorithm',
    'subject',
    'uris',
    'usages',
  ],
  issuerRef: ['name', 'kind', 'group'],
  privateKey: ['algorithm', 'encoding', 'rotationPolicy', 'size'],
  usages: [
    'signing',
    'digital signature',
    'content commitment',
    'key encipherment',
    'key agreement',
    'data encipherment',
    'cert sign',
    'crl sign',
    'encipher only',
    'decipher only',
    'any',
    'server auth',
    'client auth',
    'code signing',
    'email protection',
    's/mime',
    'ipsec end system',
    'ipsec tunnel',
    'ipsec user',
    'timestamping',
    'ocsp signing',
    'microsoft sgc',
    'netscape sgc',
  ],
} as const;

function unknownKeys(value: unknown, allowed: readonly string[]): string[] {
  return isObject(value) ? Object.keys(value).filter((k) => !allowed.includes(k)) : [];
}

/** Go duration, as cert-manager parses duration and renewBefore, in hours for comparison. */
function durationHours(text: string): number {
  const m = /^(\d+)h$/.exec(text);
  assert.ok(m, `${text} should be a whole number of hours`);
  return Number(m[1]);
}

test('the cert-manager issuers and certificates use only cert-manager.io/v1 fields and carry what each needs', () => {
  for (const o of [...find(certManager, 'Issuer'), ...find(certManager, 'Certificate')]) {
    assert.equal(o.apiVersion, 'cert-manager.io/v1');
    assert.deepEqual(Object.keys(o).sort(), ['apiVersion', 'kind', 'metadata', 'spec'], idOf(o));
    assert.deepEqual(unknownKeys(o.metadata, CERT_MANAGER_FIELDS.metadata), [], idOf(o));
    assert.equal(o.metadata.namespace, NAMESPACE, idOf(o));
  }
  for (const issuer of find(certManager, 'Issuer')) {
    const spec = issuer['spec'] as JsonObject;
    assert.deepEqual(unknownKeys(spec, CERT_MANAGER_FIELDS.issuerSpec), [], idOf(issuer));
    assert.equal(Object.keys(spec).length, 1, `${idOf(issuer)} needs exactly one issuer type`);
    if (spec['ca'] !== undefined) assert.equal(typeof at(spec, 'ca.secretName'), 'string');
  }
  for (const cert of find(certManager, 'Certificate')) {
    const spec = cert['spec'] as JsonObject;
    assert.deepEqual(unknownKeys(spec, CERT_MANAGER_FIELDS.certificateSpec), [], idOf(cert));
    assert.deepEqual(unknownKeys(spec['issuerRef'], CERT_MANAGER_FIELDS.issuerRef), [], idOf(cert));
    assert.deepEqual(unknownKeys(spec['privateKey'], CERT_MANAGER_FIELDS.privateKey), [], idOf(cert));
    assert.equal(typeof spec['secretName'], 'string', `${idOf(cert)} needs secretName`);
    assert.equal(typeof at(spec, 'issuerRef.name'), 'string', `${idOf(cert)} needs issuerRef.name`);
    assert.ok(spec['commonName'] || spec['dnsNames'], `${idOf(cert)} needs a commonName or dnsNames`);
    for (const u of (spec['usages'] as string[] | undefined) ?? []) assert.ok((CERT_MANAGER_FIELDS.usages as readonly string[]).includes(u), `usage ${u}`);
    assert.ok(['RSA', 'ECDSA', 'Ed25519'].includes(at(spec, 'privateKey.algorithm') as string));
    if (at(spec, 'privateKey.algorithm') === 'ECDSA') assert.ok([256, 384, 521].includes(at(spec, 'privateKey.size') as number));
    if (spec['renewBefore'] !== undefined) assert.ok(durationHours(spec['renewBefore'] as string) < durationHours(spec['duration'] as string), `${idOf(cert)}: renewBefore >= duration`);
  }
});

test("the cert-manager chain issues the Service's serving certificate into the Secret the Deployment mounts", () => {
  const issuers = new Map(find(certManager, 'Issuer').map((i) => [i.metadata.name, i]));
  const certs = find(certManager, 'Certificate');
  const issuerOf = (c: KubeObject): KubeObject => {
    assert.equal(at(c, 'spec.issuerRef.kind'), 'Issuer');
    assert.equal(at(c, 'spec.issuerRef.group'), 'cert-manager.io');
    const issuer = issuers.get(at(c, 'spec.issuerRef.name') as string);
    assert.ok(issuer, `${c.metadata.name}: no issuer ${at(c, 'spec.issuerRef.name') as string}`);
    return issuer;
  };
  const serving = one(certManager, 'Certificate', 'hpa-bridge-serving');
  assert.equal(at(serving, 'spec.secretName'), tlsSecretOf(at(one(certManager, 'Deployment'), 'spec.template.spec') as JsonObject));
  assert.ok((at(serving, 'spec.dnsNames') as string[]).includes(`${service.metadata.name}.${NAMESPACE}.svc`), 'the aggregator and webhook client verify <service>.<namespace>.svc');
  assert.ok((at(serving, 'spec.usages') as string[]).includes('server auth'));
  const caIssuer = issuerOf(serving);
  const caSecret = at(caIssuer, 'spec.ca.secretName');
  assert.ok(caSecret, 'the serving certificate comes from a CA issuer');
  const caCert = certs.find((c) => at(c, 'spec.secretName') === caSecret);
  assert.ok(caCert, `no Certificate writes ${JSON.stringify(caSecret)}`);
  assert.equal(at(caCert, 'spec.isCA'), true);
  assert.ok(isObject(at(issuerOf(caCert), 'spec.selfSigned')), 'the CA is self-signed');
});

test('the cert-manager overlay asks the CA injector for every caBundle and otherwise leaves the base unchanged', () => {
  const serving = one(certManager, 'Certificate', 'hpa-bridge-serving');
  const source = `${serving.metadata.namespace as string}/${serving.metadata.name}`;
  const injected = certManager.map((s) => s.object).filter((o) => (o.metadata['annotations'] as JsonObject | undefined)?.['cert-manager.io/inject-ca-from'] !== undefined);
  assert.deepEqual(injected.map(idOf).sort(), [...find(base, 'APIService'), ...find(base, 'MutatingWebhookConfiguration')].map(idOf).sort());
  for (const o of injected) assert.equal((o.metadata['annotations'] as JsonObject)['cert-manager.io/inject-ca-from'], source);
  assertOnlyAnnotationsDiffer(certManager, ['cert-manager.io/inject-ca-from']);
});

test('the self-signed overlay only marks where the caBundle comes from', () => {
  assertOnlyAnnotationsDiffer(selfSigned, ['hpa-bridge.io/ca-bundle-source']);
  const marked = find(selfSigned, 'APIService').concat(find(selfSigned, 'MutatingWebhookConfiguration'));
  assert.equal(marked.length, 4);
  for (const o of marked) assert.equal((o.metadata['annotations'] as JsonObject)['hpa-bridge.io/ca-bundle-source'], 'deploy/scripts/bootstrap-tls.sh');
});

function assertOnlyAnnotationsDiffer(overlay: readonly Sourced[], annotations: readonly string[]): void {
  const byId = new Map(overlay.map(({ object }) => [idOf(object), object]));
  for (const { object } of base) {
    const theirs = structuredClone(byId.get(idOf(object)));
    assert.ok(theirs, `${idOf(object)} is missing from the overlay`);
    const a = theirs.metadata['annotations'] as JsonObject | undefined;
    if (a) {
      for (const k of annotations) delete a[k];
      if (Object.keys(a).length === 0) delete theirs.metadata['annotations'];
    }
    assert.deepEqual(theirs, object, idOf(object));
  }
  for (const o of [...find(base, 'APIService'), ...find(base, 'MutatingWebhookConfiguration')]) {
    assert.equal(JSON.stringify(o).includes('caBundle'), false, `${idOf(o)}: the base must not carry a CA`);
  }
}

/** `NAME="${NAME:-default}"` assignments of a shell script. */
function scriptDefaults(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^([A-Z_]+)="\$\{\1:-([^}]*)\}"$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

test('bootstrap-tls.sh defaults to the objects of the kustomize base', () => {
  const defaults = scriptDefaults(readFileSync(join(DEPLOY, 'scripts', 'bootstrap-tls.sh'), 'utf8'));
  assert.equal(defaults.get('NAMESPACE'), NAMESPACE);
  assert.equal(defaults.get('SERVICE'), service.metadata.name);
  assert.equal(defaults.get('DEPLOYMENT'), deployment.metadata.name);
  assert.equal(defaults.get('SECRET'), tlsSecretOf(podSpec));
  assert.equal(defaults.get('WEBHOOK_CONFIGURATION'), one(base, 'MutatingWebhookConfiguration').metadata.name);
  assert.deepEqual(
    defaults.get('APISERVICES')?.split(' ').sort(),
    find(base, 'APIService')
      .map((a) => a.metadata.name)
      .sort(),
  );
});

function commandWorks(cmd: string, args: readonly string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

test('bootstrap-tls.sh issues a certificate for the Service, puts its CA in every caBundle, and changes nothing when run again', (t) => {
  if (!commandWorks('bash', ['--version']) || !commandWorks('openssl', ['version'])) {
    t.skip('bash or openssl is not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'hpa-bridge-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { kubectl, state } = fakeKubectlPaths(dir);
  writeFileSync(kubectl, FAKE_KUBECTL);
  chmodSync(kubectl, 0o755);
  const cluster: FakeCluster = { objects: {}, calls: [] };
  for (const a of find(base, 'APIService')) cluster.objects[`apiservice/${a.metadata.name}`] = structuredClone(a);
  const mwc = one(base, 'MutatingWebhookConfiguration');
  cluster.objects[`mutatingwebhookconfiguration/${mwc.metadata.name}`] = structuredClone(mwc);
  cluster.objects[`deployment/${NAMESPACE}/${deployment.metadata.name}`] = structuredClone(deployment);
  writeFileSync(state, JSON.stringify(cluster));
  const run = (...args: string[]): FakeCluster => {
    const r = spawnSync('bash', [join(DEPLOY, 'scripts', 'bootstrap-tls.sh'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, KUBECTL: kubectl, FAKE_KUBECTL_STATE: state },
    });
    assert.equal(r.status, 0, r.stderr);
    const after = JSON.parse(readFileSync(state, 'utf8')) as FakeCluster;
    writeFileSync(state, JSON.stringify({ ...after, calls: [] }));
    return after;
  };
  const pem = (b64: Json | undefined): string => Buffer.from(b64 as string, 'base64').toString('utf8');
  const bundles = (c: FakeCluster): string[] => [
    ...APISERVICES.map((a) => at(c.objects[`apiservice/${a.name}`], 'spec.caBundle') as string),
    at(c.objects[`mutatingwebhookconfiguration/${mwc.metadata.name}`], 'webhooks.0.clientConfig.caBundle') as string,
  ];
  const writes = (c: FakeCluster): string[] => c.calls.filter((a) => a.includes('apply') || a.includes('rollout')).map((a) => a.join(' '));

  const first = run();
  const secret = first.objects[`secret/${NAMESPACE}/hpa-bridge-tls`];
  assert.ok(secret, 'the Secret was written');
  assert.equal(secret['type'], 'kubernetes.io/tls');
  const data = secret['data'] as Record<string, string>;
  for (const [name, text] of [
    ['tls.crt', pem(data['tls.crt'])],
    ['tls.key', pem(data['tls.key'])],
    ['ca.crt', pem(data['ca.crt'])],
  ] as const)
    writeFileSync(join(dir, name), text);
  const verify = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 'tls.crt')], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  const text = spawnSync('openssl', ['x509', '-in', join(dir, 'tls.crt'), '-noout', '-text'], { encoding: 'utf8' }).stdout;
  assert.match(text, new RegExp(`DNS:${service.metadata.name}\\.${NAMESPACE}\\.svc\\b`));
  assert.match(text, /TLS Web Server Authentication/);
  for (const b of bundles(first)) assert.equal(b, data['ca.crt']);
  assert.ok(
    first.calls.some((a) => a.includes('rollout')),
    'the Deployment was restarted',
  );
  for (const a of APISERVICES) assert.equal(at(first.objects[`apiservice/${a.name}`], 'spec.insecureSkipTLSVerify'), false);

  const second = run();
  assert.deepEqual(writes(second), [], 'a second run writes no Secret and restarts nothing');
  assert.deepEqual(second.objects[`secret/${NAMESPACE}/hpa-bridge-tls`], secret);
  assert.deepEqual(bundles(second), bundles(first));

  // A renewal trusts both CAs until the next run, so pods still serving the
  // old certificate are not rejected mid-rollout.
  const renewed = run('--force');
  const newCa = (renewed.objects[`secret/${NAMESPACE}/hpa-bridge-tls`]?.['data'] as Record<string, string>)['ca.crt'] as string;
  assert.notEqual(newCa, data['ca.crt']);
  for (const b of bundles(renewed)) assert.equal(pem(b), pem(newCa) + pem(data['ca.crt']));
  const settled = run();
  for (const b of bundles(settled)) assert.equal(b, newCa);
});

// ---------------------------------------------------------------------------
// Resource metrics (metrics.k8s.io), opt-in

function groupOfApiService(o: KubeObject): string {
  return at(o, 'spec.group') as string;
}

/** ClusterRole rules that grant anything in metrics.k8s.io. */
function metricsK8sIoGrants(objects: readonly Sourced[]): string[] {
  return find(objects, 'ClusterRole').flatMap((r) =>
    ((r['rules'] as JsonObject[] | undefined) ?? []).filter((rule) => ((rule['apiGroups'] as string[] | undefined) ?? []).includes('metrics.k8s.io')).map(() => r.metadata.name),
  );
}

/** Checks the metrics.k8s.io APIServices of a build or a rendering against RESOURCE_METRICS_APISERVICES and its Service. */
function assertResourceMetricsApiServices(objects: readonly Sourced[], label: string): void {
  const svc = one(objects, 'Service');
  const registered = find(objects, 'APIService').filter((a) => groupOfApiService(a) === 'metrics.k8s.io');
  assert.deepEqual(registered.map((a) => a.metadata.name).sort(), RESOURCE_METRICS_APISERVICES.map((a) => a.name).sort(), label);
  const httpsPort = (at(svc, 'spec.ports') as JsonObject[]).find((p) => p['name'] === 'https')?.['port'];
  for (const want of RESOURCE_METRICS_APISERVICES) {
    const spec = one(objects, 'APIService', want.name)['spec'] as JsonObject;
    assert.equal(want.name, `${spec['version'] as string}.${spec['group'] as string}`, label);
    assert.deepEqual(spec['service'], { name: svc.metadata.name, namespace: svc.metadata.namespace, port: httpsPort }, `${label}: ${want.name}`);
    assert.equal(spec['groupPriorityMinimum'], want.groupPriorityMinimum, `${label}: ${want.name}`);
    assert.equal(spec['versionPriority'], want.versionPriority, `${label}: ${want.name}`);
    assert.notEqual(spec['insecureSkipTLSVerify'], true, `${label}: ${want.name}: TLS verification is off`);
  }
  // The aggregator lists versions by versionPriority; the server's own discovery must agree on the preferred one.
  const byPriority = [...registered].sort((a, b) => (at(b, 'spec.versionPriority') as number) - (at(a, 'spec.versionPriority') as number));
  assert.deepEqual(
    byPriority.map((a) => at(a, 'spec.version')),
    RESOURCE_METRICS_SERVED_GROUP.versions,
    label,
  );
}

test('no default build registers metrics.k8s.io, grants reading it or carries resource rules', () => {
  for (const [name, objects] of DEFAULT_BUILDS) {
    assert.deepEqual(
      find(objects, 'APIService')
        .filter((a) => groupOfApiService(a) === 'metrics.k8s.io')
        .map(idOf),
      [],
      name,
    );
    assert.deepEqual(metricsK8sIoGrants(objects), [], name);
    const data = one(objects, 'ConfigMap', 'hpa-bridge-rules')['data'] as Record<string, string>;
    assert.deepEqual(
      Object.keys(data).filter((k) => (data[k] ?? '').includes('resourceRules')),
      [],
      name,
    );
  }
});

test('the resource-metrics overlays register metrics.k8s.io v1beta1 and v1 on the Service with v1beta1 preferred, each with its CA source', () => {
  const serving = one(resourceMetricsCertManager, 'Certificate', 'hpa-bridge-serving');
  const cases = [
    [resourceMetricsCertManager, 'cert-manager.io/inject-ca-from', `${serving.metadata.namespace as string}/${serving.metadata.name}`],
    [resourceMetricsSelfSigned, 'hpa-bridge.io/ca-bundle-source', 'deploy/scripts/bootstrap-tls.sh'],
  ] as const;
  for (const [objects, annotation, value] of cases) {
    assertResourceMetricsApiServices(objects, annotation);
    for (const a of find(objects, 'APIService')) assert.equal((a.metadata['annotations'] as JsonObject | undefined)?.[annotation], value, `${a.metadata.name} has no ${annotation}`);
    for (const a of find(objects, 'APIService')) assert.equal(JSON.stringify(a).includes('caBundle'), false, `${a.metadata.name}: the manifests must not carry a CA`);
  }
});

test('the resource-metrics overlays add only the APIServices, the reader role, its binding and the resource rules to their TLS overlay', () => {
  for (const [withMetrics, without] of [
    [resourceMetricsCertManager, certManager],
    [resourceMetricsSelfSigned, selfSigned],
  ] as const) {
    const before = new Map(without.map(({ object }) => [idOf(object), object]));
    const added = withMetrics.filter(({ object }) => !before.has(idOf(object))).map(({ object }) => `${object.kind} ${object.metadata.name}`);
    assert.deepEqual(added.sort(), [
      'APIService v1.metrics.k8s.io',
      'APIService v1beta1.metrics.k8s.io',
      'ClusterRole hpa-bridge:aggregated-metrics-reader',
      'ClusterRoleBinding hpa-bridge:aggregated-metrics-reader',
    ]);
    for (const { object } of withMetrics) {
      const old = before.get(idOf(object));
      if (!old) continue;
      if (object.kind === 'ConfigMap') {
        const { [RESOURCE_RULES_FILE]: rules, ...rest } = object['data'] as Record<string, string>;
        assert.ok(rules, `the overlay adds ${RESOURCE_RULES_FILE}`);
        assert.deepEqual(rest, old['data']);
      } else {
        assert.deepEqual(object, old, idOf(object));
      }
    }
  }
});

test('the label hpa-bridge.io/api-group=metrics.k8s.io selects exactly the metrics.k8s.io APIServices, so the rest can be applied first', () => {
  for (const objects of [resourceMetricsCertManager, resourceMetricsSelfSigned]) {
    const labelled = objects.filter(({ object }) => (object.metadata['labels'] as JsonObject | undefined)?.['hpa-bridge.io/api-group'] === 'metrics.k8s.io');
    assert.deepEqual(
      labelled.map(({ object }) => idOf(object)).sort(),
      find(objects, 'APIService')
        .filter((a) => groupOfApiService(a) === 'metrics.k8s.io')
        .map(idOf)
        .sort(),
    );
  }
});

test('with resource metrics on, the rules ConfigMap holds every file of rules/examples, and they compile with resource rules for cpu and memory', () => {
  const data = one(resourceMetricsCertManager, 'ConfigMap', 'hpa-bridge-rules')['data'] as Record<string, string>;
  const examples = readExamples(true);
  assert.ok(examples.has(RESOURCE_RULES_FILE));
  assert.deepEqual(Object.keys(data).sort(), [...examples.keys()], `copy rules/examples/${RESOURCE_RULES_FILE} into deploy/kustomize/components/resource-metrics/rules-configmap.yaml`);
  for (const [file, text] of examples) assert.equal(data[file], text, `${file} differs from rules/examples/${file}`);
  const result = compileRuleTexts(Object.entries(data).map(([file, text]) => ({ file, text })));
  assert.deepEqual(result.errors, []);
  const resourceRules = result.ruleSet?.resourceRules;
  assert.ok(resourceRules, 'no resource rules');
  assert.ok(resourceRules.cpu && resourceRules.memory);
});

test("the aggregated reader lets view, edit and admin read PodMetrics and NodeMetrics, under a name that is not metrics-server's", () => {
  const role = one(resourceMetricsCertManager, 'ClusterRole', 'hpa-bridge:aggregated-metrics-reader');
  assert.notEqual(role.metadata.name, 'system:aggregated-metrics-reader', 'removing metrics-server deletes its role');
  const labels = role.metadata['labels'] as Record<string, string>;
  for (const to of ['view', 'edit', 'admin']) assert.equal(labels[`rbac.authorization.k8s.io/aggregate-to-${to}`], 'true', to);
  assert.deepEqual(role['rules'], [{ apiGroups: ['metrics.k8s.io'], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] }]);
  const binding = one(resourceMetricsCertManager, 'ClusterRoleBinding', 'hpa-bridge:aggregated-metrics-reader');
  assert.deepEqual(binding['roleRef'], { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
  assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: 'horizontal-pod-autoscaler', namespace: 'kube-system' }]);
  assert.deepEqual(metricsK8sIoGrants(resourceMetricsCertManager), [role.metadata.name]);
});

test('hpa-bridge may list and watch the pods and nodes that resource metrics describe', () => {
  const rules = one(resourceMetricsCertManager, 'ClusterRole', 'hpa-bridge-resource-reader')['rules'] as JsonObject[];
  for (const resource of ['pods', 'nodes']) {
    assert.ok(
      rules.some(
        (r) => (r['apiGroups'] as string[] | undefined)?.includes('') && (r['resources'] as string[]).includes(resource) && ['list', 'watch'].every((v) => (r['verbs'] as string[]).includes(v)),
      ),
      resource,
    );
  }
});

test("bootstrap-tls.sh puts the CA into the metrics.k8s.io APIServices that point at hpa-bridge, and leaves metrics-server's alone", (t) => {
  if (!commandWorks('bash', ['--version']) || !commandWorks('openssl', ['version'])) {
    t.skip('bash or openssl is not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'hpa-bridge-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { kubectl, state } = fakeKubectlPaths(dir);
  writeFileSync(kubectl, FAKE_KUBECTL);
  chmodSync(kubectl, 0o755);
  const metricsServers: JsonObject = {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: 'v1beta1.metrics.k8s.io' },
    spec: { group: 'metrics.k8s.io', version: 'v1beta1', insecureSkipTLSVerify: true, groupPriorityMinimum: 100, versionPriority: 100, service: { name: 'metrics-server', namespace: 'kube-system' } },
  };
  const cluster: FakeCluster = { objects: {}, calls: [] };
  for (const a of find(resourceMetricsSelfSigned, 'APIService')) cluster.objects[`apiservice/${a.metadata.name}`] = structuredClone(a);
  cluster.objects['apiservice/v1beta1.metrics.k8s.io'] = structuredClone(metricsServers);
  const mwc = one(resourceMetricsSelfSigned, 'MutatingWebhookConfiguration');
  cluster.objects[`mutatingwebhookconfiguration/${mwc.metadata.name}`] = structuredClone(mwc);
  writeFileSync(state, JSON.stringify(cluster));
  const r = spawnSync('bash', [join(DEPLOY, 'scripts', 'bootstrap-tls.sh'), '--no-restart'], {
    encoding: 'utf8',
    env: { ...process.env, KUBECTL: kubectl, FAKE_KUBECTL_STATE: state },
  });
  assert.equal(r.status, 0, r.stderr);
  const after = JSON.parse(readFileSync(state, 'utf8')) as FakeCluster;
  const ca = (after.objects[`secret/${NAMESPACE}/hpa-bridge-tls`]?.['data'] as Record<string, string>)['ca.crt'];
  assert.ok(ca, 'the Secret was written');
  for (const name of [...APISERVICES.map((a) => a.name), 'v1.metrics.k8s.io']) assert.equal(at(after.objects[`apiservice/${name}`], 'spec.caBundle'), ca, name);
  assert.deepEqual(after.objects['apiservice/v1beta1.metrics.k8s.io'], metricsServers, "metrics-server's APIService is unchanged");
  assert.match(r.stderr, /leaving apiservice\/v1beta1\.metrics\.k8s\.io alone: it points at service kube-system\/metrics-server/);
});

// ---------------------------------------------------------------------------
// Helm chart

const chart = parseYaml(readFileSync(join(HELM, 'Chart.yaml'), 'utf8')) as JsonObject;
const values = parseYaml(readFileSync(join(HELM, 'values.yaml'), 'utf8')) as JsonObject;
const templates = listFiles(join(HELM, 'templates'), ['.yaml', '.tpl', '.txt']).map((f) => ({ file: basename(f), text: readFileSync(f, 'utf8') }));

test('Chart.yaml describes a v2 application chart whose appVersion is the package version', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  assert.equal(chart['apiVersion'], 'v2');
  assert.equal(chart['name'], 'hpa-bridge');
  assert.equal(chart['type'], 'application');
  assert.match(chart['version'] as string, /^\d+\.\d+\.\d+$/);
  assert.equal(chart['appVersion'], pkg.version);
});

/** prometheus-adapter's keys the templates read that values.yaml leaves out (rules: the layouts do not mix; the rest: nothing to default). */
const VALUES_ONLY_IN_SCHEMA = new Set([
  'rules.default',
  'rules.custom',
  'rules.external',
  'rules.resource',
  'rules.existing',
  'tls.ca',
  'tls.certificate',
  'tls.key',
  'certManager.caCertRevisionHistoryLimit',
  'certManager.certRevisionHistoryLimit',
  'service.clusterIP',
]);

test("every .Values path the templates read exists in values.yaml, or is one of prometheus-adapter's that values.yaml leaves out", () => {
  const used = new Set(templates.flatMap((t) => valuesReferences(t.text)));
  assert.ok(used.size >= 10, `only ${used.size} values used`);
  const missing = [...used].filter((p) => !hasValuesPath(values, p) && !VALUES_ONLY_IN_SCHEMA.has(p));
  assert.deepEqual(missing, []);
});

test("values.schema.json describes every top-level key of values.yaml and of prometheus-adapter's values.yaml", () => {
  const schema = JSON.parse(readFileSync(join(HELM, 'values.schema.json'), 'utf8')) as { properties: JsonObject };
  const adapter = parseYaml(readFileSync(join(REPO, 'test', 'fixtures', 'helm', 'prometheus-adapter-5.3.0.values.yaml'), 'utf8')) as JsonObject;
  const described = Object.keys(schema.properties);
  assert.deepEqual(
    [...Object.keys(values), ...Object.keys(adapter)].filter((k) => !described.includes(k)),
    [],
  );
  for (const key of ['serviceMonitor', 'prometheusRule', 'grafanaDashboard']) assert.ok(described.includes(key), key);
});

test('every template action is closed and every block has its end', () => {
  for (const { file, text } of templates) {
    assert.equal((text.match(/\{\{/g) ?? []).length, (text.match(/\}\}/g) ?? []).length, `${file}: unbalanced braces`);
    const actions = [...text.matchAll(/\{\{-?\s*(\/\*[\s\S]*?\*\/|[^}]*?)\s*-?\}\}/g)].map((m) => (m[1] as string).trim());
    let depth = 0;
    for (const a of actions) {
      if (/^(if|range|with|define|block)\b/.test(a)) depth++;
      else if (/^end\b/.test(a)) depth--;
      assert.ok(depth >= 0, `${file}: {{ end }} without a block`);
    }
    assert.equal(depth, 0, `${file}: a block is not closed`);
  }
});

test('the chart has a template for every kind of the kustomize build, and its values match the base', () => {
  const all = templates.map((t) => t.text).join('\n');
  for (const kind of new Set(certManager.map(({ object }) => object.kind))) {
    if (kind === 'Namespace') continue; // helm install --create-namespace
    assert.match(all, new RegExp(`^kind: ${kind}$`, 'm'), `no ${kind} template`);
  }
  assert.deepEqual(values['resources'], container['resources']);
  assert.equal(values['replicas'], at(deployment, 'spec.replicas'));
  assert.equal(`${at(values, 'prometheus.url') as string}:${at(values, 'prometheus.port') as number}${at(values, 'prometheus.path') as string}`, flagValues(containerArgs, '--prometheus-url')[0]);
  assert.deepEqual(values['securityContext'], container['securityContext']);
  assert.deepEqual(values['podSecurityContext'], podSpec['securityContext']);
  assert.ok(['certManager', 'secret'].includes(at(values, 'tls.mode') as string));
  assert.equal(at(values, 'tls.secretName'), 'hpa-bridge-tls');
});

test('values.yaml carries rules/examples: the webhook defaults, the resource rules (off by default) and the other files as rules', () => {
  const examples = readExamples();
  const { 'defaults.yaml': defaults, ...others } = Object.fromEntries(examples);
  assert.deepEqual(values['rules'], others, 'copy rules/examples/*.yaml (but defaults.yaml) into values.yaml rules');
  assert.equal(at(values, 'webhook.defaults'), defaults, 'copy rules/examples/defaults.yaml into values.yaml webhook.defaults');
  assert.equal(at(values, 'resourceMetrics.enabled'), false);
  assert.equal(at(values, 'resourceMetrics.rules'), readExamples(true).get(RESOURCE_RULES_FILE), `copy rules/examples/${RESOURCE_RULES_FILE} into values.yaml resourceMetrics.rules`);
});

// The chart rendered by helm: test/integration/helm-chart.test.ts.

// ---------------------------------------------------------------------------
// Knative

// Fields Knative Serving accepts in a revision's pod spec and container with
// its default feature flags (pkg/apis/serving/fieldmask.go), plus its own.
const KNATIVE_POD_FIELDS = [
  'serviceAccountName',
  'containers',
  'volumes',
  'imagePullSecrets',
  'enableServiceLinks',
  'automountServiceAccountToken',
  'containerConcurrency',
  'timeoutSeconds',
  'responseStartTimeoutSeconds',
  'idleTimeoutSeconds',
];
const KNATIVE_CONTAINER_FIELDS = [
  'name',
  'args',
  'command',
  'env',
  'workingDir',
  'envFrom',
  'image',
  'imagePullPolicy',
  'livenessProbe',
  'ports',
  'readinessProbe',
  'resources',
  'securityContext',
  'startupProbe',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'volumeMounts',
];
// The queue-proxy's ports.
const KNATIVE_RESERVED_PORTS = [8012, 8013, 8022, 9090, 9091];
/** Flags the Knative Service needs that `serve` does not have yet. */
const PLANNED_SERVE_FLAGS: string[] = [];

const ksvc = one(knative, 'Service');
const kSpec = at(ksvc, 'spec.template.spec') as JsonObject;
const kContainer = (kSpec['containers'] as JsonObject[])[0] as JsonObject;
const kArgs = kContainer['args'] as string[];

test('the Knative Service uses only fields Knative accepts, one plain-HTTP port, and stays warm', () => {
  assert.equal(ksvc.apiVersion, 'serving.knative.dev/v1');
  assert.deepEqual(unknownKeys(ksvc['spec'], ['template', 'traffic']), []);
  assert.deepEqual(unknownKeys(kSpec, KNATIVE_POD_FIELDS), []);
  assert.notEqual(kSpec['automountServiceAccountToken'], true, 'Knative accepts only false');
  assert.equal((kSpec['containers'] as JsonObject[]).length, 1);
  assert.deepEqual(unknownKeys(kContainer, KNATIVE_CONTAINER_FIELDS), []);
  const ports = kContainer['ports'] as JsonObject[];
  assert.equal(ports.length, 1);
  const port = ports[0] as JsonObject;
  assert.ok(['http1', 'h2c', undefined].includes(port['name'] as string | undefined));
  assert.ok(!KNATIVE_RESERVED_PORTS.includes(port['containerPort'] as number));
  assert.equal(flagValues(kArgs, '--http-port')[0], String(port['containerPort'] as number));
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    const p = at(kContainer, `${probe}.httpGet.port`);
    assert.ok(p === undefined || p === port['containerPort'] || p === port['name'], `${probe} port must be the container port`);
  }
  const annotations = at(ksvc, 'spec.template.metadata.annotations') as JsonObject;
  assert.ok(Number(annotations['autoscaling.knative.dev/min-scale']) >= 1, 'min-scale >= 1: a cold start would not fit the webhook timeout');
  // The container and volumes themselves, against the core Pod schema. Knative
  // fills in a probe's port with the container port; the core schema needs it.
  const { containerConcurrency: _c, timeoutSeconds: _t, ...corePodSpec } = structuredClone(kSpec);
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    const get = at(corePodSpec, `containers.0.${probe}.httpGet`);
    if (isObject(get) && get['port'] === undefined) get['port'] = port['containerPort'] as number;
  }
  const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'knative-revision' }, spec: corePodSpec };
  assert.deepEqual(schemaProblems(pod), []);
  const configMap = at(kSpec, 'volumes.0.configMap.name');
  assert.ok(
    find(base, 'ConfigMap', configMap as string).some((c) => c.metadata.namespace === ksvc.metadata.namespace),
    'the rules ConfigMap exists in the same namespace',
  );
});

test("the Knative webhook configuration calls an https URL with no query, and leaves Knative's own namespaces alone", () => {
  const mwc = one(knative, 'MutatingWebhookConfiguration');
  assert.notEqual(mwc.metadata.name, one(base, 'MutatingWebhookConfiguration').metadata.name, 'both can be installed without overwriting each other');
  const w = (mwc['webhooks'] as JsonObject[])[0] as JsonObject;
  assert.equal(at(w, 'clientConfig.service'), undefined);
  const url = new URL(at(w, 'clientConfig.url') as string);
  assert.equal(url.protocol, 'https:');
  assert.equal(url.search, '');
  assert.equal(url.hash, '');
  assert.equal(url.username + url.password, '');
  assert.equal(url.pathname, '/mutate');
  for (const key of ['failurePolicy', 'timeoutSeconds', 'sideEffects', 'reinvocationPolicy', 'matchPolicy', 'admissionReviewVersions', 'rules']) {
    assert.deepEqual(w[key], ((one(base, 'MutatingWebhookConfiguration')['webhooks'] as JsonObject[])[0] as JsonObject)[key], key);
  }
  const excluded = (at(w, 'namespaceSelector.matchExpressions.0.values') as string[]) ?? [];
  for (const ns of ['kube-system', 'knative-serving', ksvc.metadata.namespace as string]) assert.ok(excluded.includes(ns), `${ns} is not excluded`);
});

test("the Knative Service's arguments parse as a serve command line, apart from the planned flags", () => {
  assert.equal(kArgs[0], 'serve');
  const known = kArgs.slice(1).filter((a, i, all) => !PLANNED_SERVE_FLAGS.some((f) => a === f || a.startsWith(`${f}=`) || all[i - 1] === f));
  const config = parseServeArgs(known, {});
  assert.equal(config.authentication, 'none');
  assert.equal(config.objectSource, 'prometheus');
});

test('serve accepts every flag the Knative Service passes, including the plain-HTTP port', () => {
  const config = parseServeArgs(kArgs.slice(1), {});
  assert.equal(String(config.httpPort), flagValues(kArgs, '--http-port')[0]);
});

// ---------------------------------------------------------------------------
// Image

interface Instruction {
  readonly op: string;
  readonly args: string;
}

function dockerfileStages(text: string): Instruction[][] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Instruction[][] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const instruction = { op: (op as string).toUpperCase(), args: rest.join(' ') };
    if (instruction.op === 'FROM') stages.push([]);
    stages[stages.length - 1]?.push(instruction);
  }
  return stages;
}

test('the Dockerfile builds in one stage and runs production dependencies and dist/ as uid 65532 in another', () => {
  const stages = dockerfileStages(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'));
  assert.equal(stages.length, 2);
  const [build, runtime] = stages as [Instruction[], Instruction[]];
  const runs = (s: Instruction[]): string[] => s.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.match(build[0]?.args ?? '', /^node:24-slim AS build$/);
  assert.ok(runs(build).some((r) => /\bnpm ci\b/.test(r)));
  assert.ok(runs(build).some((r) => /\bnpm run build\b/.test(r)));
  assert.match(runtime[0]?.args ?? '', /^(node:24-slim|gcr\.io\/distroless\/nodejs24\S*)$/);
  assert.ok(
    runs(runtime).some((r) => /\bnpm ci\b/.test(r) && r.includes('--omit=dev') && r.includes('--ignore-scripts')),
    'production install without the prepare script',
  );
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { files: string[] };
  const copies = runtime.filter((i) => i.op === 'COPY').map((i) => i.args);
  for (const dist of pkg.files.filter((f) => f.startsWith('dist/'))) {
    assert.ok(
      copies.some((c) => c.startsWith('--from=build') && c.includes(`/src/${dist}`)),
      `${dist} is not copied from the build stage`,
    );
  }
  for (const c of copies.filter((c) => !c.startsWith('--from'))) {
    for (const src of c.split(/\s+/).slice(0, -1)) assert.ok(existsSync(join(REPO, src)), `COPY source ${src} does not exist`);
  }
  const user = runtime.find((i) => i.op === 'USER')?.args;
  assert.equal(user, `${at(podSpec, 'securityContext.runAsUser') as number}:${at(podSpec, 'securityContext.runAsGroup') as number}`);
  const entrypoint = JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')?.args ?? 'null') as string[];
  assert.deepEqual(entrypoint, ['node', '/app/bin/hpa-bridge.js']);
  assert.equal(runtime.find((i) => i.op === 'WORKDIR')?.args, '/app');
  const cmd = JSON.parse(runtime.find((i) => i.op === 'CMD')?.args ?? 'null') as string[];
  assert.equal(cmd[0], 'serve');
  parseServeArgs(cmd.slice(1), {});
});

test("the Dockerfile's ignore file keeps dependencies, build output and git history out of the context", () => {
  const ignored = readFileSync(join(DEPLOY, 'Dockerfile.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  for (const entry of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(entry), entry);
});

// ---------------------------------------------------------------------------
// README

test('every deploy/ path the README mentions exists', () => {
  const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
  const paths = new Set([...readme.matchAll(/\bdeploy\/[\w./-]*[\w/]/g)].map((m) => m[0]));
  assert.ok(paths.size >= 5);
  for (const p of paths) assert.ok(existsSync(join(REPO, p)), `${p} does not exist`);
  assert.ok(readme.includes('hpa-bridge.io/defaults=off'), 'the namespace opt-out is documented');
});
