// Monitoring artifacts: the alerts and the dashboard in deploy/monitoring, the
// kustomize component that installs them with a ServiceMonitor, the Helm
// chart's copies, and the runbook in docs/monitoring.md. ServiceMonitor and
// PrometheusRule are the Prometheus Operator's CRDs, which kubernetes-models
// has no schema for: their fields are checked against the operator's API
// (monitoring.coreos.com/v1) by hand below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { kubectlKustomizeSkip, requireKubectl } from '../support/kubectl.js';
import { DEPLOY, REPO, at, hasCoreSchema, idOf, isObject, parseManifests, schemaProblems, type Json, type JsonObject, type KubeObject, type Sourced } from '../support/manifests.js';
import { helmSkip, renderChart } from '../support/helm.js';

const MONITORING = join(DEPLOY, 'monitoring');
const COMPONENT = join(DEPLOY, 'kustomize', 'components', 'monitoring');
const HELM = join(DEPLOY, 'helm', 'hpa-bridge');
const RULE_FILE = join(MONITORING, 'prometheusrule.yaml');
const DASHBOARD_FILE = join(MONITORING, 'grafana-dashboard.json');

const prometheusRule = parseYaml(readFileSync(RULE_FILE, 'utf8')) as KubeObject;
const dashboardText = readFileSync(DASHBOARD_FILE, 'utf8');
const dashboard = JSON.parse(dashboardText) as JsonObject;
const runbook = readFileSync(join(REPO, 'docs', 'monitoring.md'), 'utf8');

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function alertsOf(rule: KubeObject): AlertRule[] {
  const groups = at(rule, 'spec.groups') as unknown as { rules: AlertRule[] }[];
  return groups.flatMap((g) => g.rules);
}

// ---------------------------------------------------------------------------
// The Prometheus Operator's kinds, by hand (monitoring.coreos.com/v1 API
// reference: ServiceMonitorSpec, Endpoint, PrometheusRuleSpec, RuleGroup, Rule).

const DURATION = /^(0|(\d+(ms|s|m|h|d|w|y))+)$/;
const SERVICE_MONITOR_SPEC = new Set(['jobLabel', 'targetLabels', 'podTargetLabels', 'endpoints', 'selector', 'namespaceSelector', 'sampleLimit', 'targetLimit', 'labelLimit']);
const ENDPOINT = new Set([
  'port',
  'targetPort',
  'path',
  'scheme',
  'params',
  'interval',
  'scrapeTimeout',
  'tlsConfig',
  'bearerTokenFile',
  'authorization',
  'honorLabels',
  'honorTimestamps',
  'relabelings',
  'metricRelabelings',
]);
const RULE_GROUP = new Set(['name', 'interval', 'rules', 'limit', 'partial_response_strategy']);
const RULE = new Set(['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);

function unknownKeys(value: Json | undefined, allowed: ReadonlySet<string>, path: string): string[] {
  if (!isObject(value)) return [`${path}: must be an object`];
  return Object.keys(value)
    .filter((k) => !allowed.has(k))
    .map((k) => `${path}.${k}: unknown field`);
}

function stringMapProblems(value: Json | undefined, path: string): string[] {
  if (value === undefined) return [];
  if (!isObject(value)) return [`${path}: must be a map`];
  return Object.entries(value)
    .filter(([, v]) => typeof v !== 'string')
    .map(([k]) => `${path}.${k}: must be a string`);
}

function metadataProblems(o: KubeObject): string[] {
  const problems = stringMapProblems(o.metadata.labels as Json, 'metadata.labels');
  if (typeof o.metadata.name !== 'string' || o.metadata.name === '') problems.push('metadata.name: required');
  if (typeof o.metadata.namespace !== 'string' || o.metadata.namespace === '') problems.push('metadata.namespace: required (both kinds are namespaced)');
  return problems;
}

function serviceMonitorProblems(o: KubeObject): string[] {
  const problems = [...metadataProblems(o), ...unknownKeys(o['spec'], SERVICE_MONITOR_SPEC, 'spec')];
  if (!isObject(at(o, 'spec.selector'))) problems.push('spec.selector: required');
  const endpoints = at(o, 'spec.endpoints');
  if (!Array.isArray(endpoints) || endpoints.length === 0) return [...problems, 'spec.endpoints: required'];
  endpoints.forEach((e, i) => {
    const path = `spec.endpoints[${i}]`;
    problems.push(...unknownKeys(e, ENDPOINT, path));
    for (const k of ['interval', 'scrapeTimeout']) {
      const d = at(e, k);
      if (d !== undefined && (typeof d !== 'string' || !DURATION.test(d))) problems.push(`${path}.${k}: not a duration: ${JSON.stringify(d)}`);
    }
    const scheme = at(e, 'scheme');
    if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') problems.push(`${path}.scheme: http or https`);
  });
  return problems;
}

function prometheusRuleProblems(o: KubeObject): string[] {
  const problems = [...metadataProblems(o), ...unknownKeys(o['spec'], new Set(['groups']), 'spec')];
  const groups = at(o, 'spec.groups');
  if (!Array.isArray(groups)) return [...problems, 'spec.groups: required'];
  groups.forEach((g, i) => {
    problems.push(...unknownKeys(g, RULE_GROUP, `spec.groups[${i}]`));
    const rules = at(g, 'rules');
    if (!Array.isArray(rules)) return;
    rules.forEach((r, j) => {
      const path = `spec.groups[${i}].rules[${j}]`;
      problems.push(...unknownKeys(r, RULE, path), ...stringMapProblems(at(r, 'labels'), `${path}.labels`), ...stringMapProblems(at(r, 'annotations'), `${path}.annotations`));
      if (typeof at(r, 'expr') !== 'string') problems.push(`${path}.expr: must be a string`);
      const d = at(r, 'for');
      if (d !== undefined && (typeof d !== 'string' || !DURATION.test(d))) problems.push(`${path}.for: not a duration: ${JSON.stringify(d)}`);
    });
  });
  return problems;
}

test('the shape checks report unknown fields, missing endpoints and bad durations', () => {
  const monitor = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: 'x', namespace: 'y' },
    spec: { selector: {}, endpoints: [{ port: 'metrics', intervall: '30s', scrapeTimeout: '10 s' }] },
  };
  assert.deepEqual(serviceMonitorProblems(monitor as unknown as KubeObject), ['spec.endpoints[0].intervall: unknown field', 'spec.endpoints[0].scrapeTimeout: not a duration: "10 s"']);
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'x' },
    spec: { groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'up', for: 5, labels: { severity: 1 } }] }] },
  };
  assert.deepEqual(prometheusRuleProblems(rule as unknown as KubeObject), [
    'metadata.namespace: required (both kinds are namespaced)',
    'spec.groups[0].rules[0].labels.severity: must be a string',
    'spec.groups[0].rules[0].for: not a duration: 5',
  ]);
});

// ---------------------------------------------------------------------------
// The alerts and the runbook

test('the PrometheusRule in deploy/monitoring has the shape the Prometheus Operator accepts', () => {
  assert.equal(prometheusRule.apiVersion, 'monitoring.coreos.com/v1');
  assert.equal(prometheusRule.kind, 'PrometheusRule');
  assert.deepEqual(prometheusRuleProblems(prometheusRule), []);
});

test('the alerts cover discovery, queries, rule reloads, the webhook, the APIServices and the targets', () => {
  const names = alertsOf(prometheusRule).map((a) => a.alert);
  assert.deepEqual(names, [
    'HpaBridgeDown',
    'HpaBridgeAbsent',
    'HpaBridgeAPIServiceUnavailable',
    'HpaBridgeDiscoveryFailing',
    'HpaBridgePrometheusQueryErrors',
    'HpaBridgeRulesNotUpToDate',
    'HpaBridgeAPIErrors',
    'HpaBridgeWebhookErrors',
    'HpaBridgeWebhookSlow',
  ]);
});

test('every alert has a severity, a summary, a description and a for duration', () => {
  for (const a of alertsOf(prometheusRule)) {
    assert.ok(['warning', 'critical'].includes(a.labels?.['severity'] ?? ''), `${a.alert}: severity`);
    assert.ok((a.annotations?.['summary'] ?? '').length > 10, `${a.alert}: summary`);
    assert.ok((a.annotations?.['description'] ?? '').length > 20, `${a.alert}: description`);
    assert.match(a.for ?? '', DURATION, `${a.alert}: for`);
  }
});

test('the APIService alert watches exactly the APIServices the base registers', () => {
  const expr = alertsOf(prometheusRule).find((a) => a.alert === 'HpaBridgeAPIServiceUnavailable')?.expr ?? '';
  const alternatives = /name=~"([^"]+)"/.exec(expr)?.[1]?.split('|') ?? [];
  const apiServices = parseManifests(readFileSync(join(DEPLOY, 'kustomize', 'base', 'apiservices.yaml'), 'utf8'), 'apiservices.yaml').map((o) => o.metadata.name);
  // PromQL strings unescape \\ to \, leaving RE2's \. for a literal dot.
  assert.deepEqual(alternatives.map((a) => a.replaceAll('\\\\.', '.')).sort(), [...apiServices].sort());
});

/** The runbook sections of docs/monitoring.md: `### Name` to the next heading of level 2 or 3. */
function runbookSections(): Map<string, string> {
  const sections = new Map<string, string>();
  const parts = runbook.split(/^(?=#{2,3} )/m);
  for (const part of parts) {
    const m = /^### (HpaBridge\w+)\n/.exec(part);
    if (m) sections.set(m[1] as string, part);
  }
  return sections;
}

test('docs/monitoring.md has a runbook section for every alert, saying what it means, what to check and what to do', () => {
  const sections = runbookSections();
  const names = alertsOf(prometheusRule).map((a) => a.alert);
  assert.deepEqual([...sections.keys()], names, 'one `### Name` section per alert, in the order of the rule file');
  for (const [name, text] of sections) {
    for (const part of ['**Means.**', '**Check.**', '**Do.**']) assert.ok(text.includes(part), `${name}: no ${part}`);
  }
});

// ---------------------------------------------------------------------------
// The dashboard

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string }[];
}

const panels = dashboard['panels'] as unknown as Panel[];
const dashboardQueries = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

test('the dashboard has unique panel ids, panels that fit a 24-column grid, and a query behind every graph', () => {
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length);
  for (const p of panels) {
    assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: gridPos`);
    if (p.type !== 'row') assert.ok((p.targets ?? []).length > 0, `${p.title}: no query`);
  }
  assert.equal(dashboard['uid'], 'hpa-bridge');
});

test('every dashboard query reads the selected Prometheus, namespace and pods', () => {
  const vars = (at(dashboard, 'templating.list') as { name: string }[]).map((v) => v.name);
  assert.deepEqual(vars, ['datasource', 'namespace', 'pod']);
  for (const p of panels.filter((x) => x.type !== 'row')) assert.equal(at(p as unknown as Json, 'datasource.uid'), '${datasource}', p.title);
  for (const q of dashboardQueries) {
    const selectors = q.match(/\{[^}]*\}/g) ?? [];
    assert.ok(selectors.length > 0, q);
    for (const s of selectors) assert.ok(s.includes('namespace="$namespace"') && s.includes('pod=~"$pod"'), `${q}: ${s}`);
  }
});

test('the dashboard shows requests, latency, errors, queries, cache, discovery, rules, webhook, CPU, memory and event-loop lag', () => {
  const all = dashboardQueries.join('\n');
  for (const metric of [
    'hpa_bridge_requests_total',
    'hpa_bridge_request_duration_seconds_bucket',
    'hpa_bridge_prometheus_query_duration_seconds_bucket',
    'hpa_bridge_prometheus_query_errors_total',
    'hpa_bridge_cache_hits_total',
    'hpa_bridge_discovery_age_seconds',
    'hpa_bridge_rules_up_to_date',
    'hpa_bridge_rule_reloads_total',
    'hpa_bridge_webhook_reviews_total',
    'hpa_bridge_webhook_review_duration_seconds_bucket',
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_seconds',
    'hpa_bridge_build_info',
  ])
    assert.ok(all.includes(`${metric}{`), metric);
});

// ---------------------------------------------------------------------------
// The kustomize component, built by kubectl

function kustomize(dir: string): KubeObject[] {
  const run = spawnSync(requireKubectl(), ['kustomize', dir], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return parseAllDocuments(run.stdout).map((d) => d.toJS() as KubeObject);
}

/** `kubectl kustomize` of an overlay: `resources` and `components`, relative to a temporary directory. */
function kustomizeOverlay(resources: readonly string[], components: readonly string[]): KubeObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'hpa-bridge-monitoring-'));
  try {
    const list = (paths: readonly string[]): string => paths.map((p) => `  - ${relative(dir, p)}\n`).join('');
    writeFileSync(join(dir, 'kustomization.yaml'), `resources:\n${list(resources)}components:\n${list(components)}`);
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function labelsOf(o: KubeObject | undefined): JsonObject {
  const labels = o?.metadata['labels'];
  return isObject(labels) ? labels : {};
}

function selects(selector: Json | undefined, labels: Json | undefined): boolean {
  const want = at(selector, 'matchLabels');
  return isObject(want) && isObject(labels) && Object.entries(want).every(([k, v]) => labels[k] === v);
}

test('the monitoring component builds into a ServiceMonitor, the PrometheusRule and the dashboard ConfigMap', { skip: kubectlKustomizeSkip() }, () => {
  const objects = kustomize(COMPONENT);
  assert.deepEqual(
    objects.map(idOf).sort(),
    ['monitoring.coreos.com/v1 PrometheusRule hpa-bridge/hpa-bridge', 'monitoring.coreos.com/v1 ServiceMonitor hpa-bridge/hpa-bridge', 'v1 ConfigMap hpa-bridge/hpa-bridge-grafana-dashboard'].sort(),
  );
});

test('the component applies the PrometheusRule of deploy/monitoring unchanged and the dashboard byte for byte', { skip: kubectlKustomizeSkip() }, () => {
  const objects = kustomize(COMPONENT);
  assert.deepEqual(
    objects.find((o) => o.kind === 'PrometheusRule'),
    prometheusRule,
  );
  const configMap = objects.find((o) => o.kind === 'ConfigMap');
  assert.ok(configMap);
  assert.equal((configMap['data'] as JsonObject)['hpa-bridge.json'], dashboardText);
  assert.equal(labelsOf(configMap)['grafana_dashboard'], '1');
  assert.deepEqual(schemaProblems(configMap), []);
});

test('with the cert-manager overlay, the ServiceMonitor selects the Service in its namespace on its metrics port, and everything validates', { skip: kubectlKustomizeSkip() }, () => {
  const objects = kustomizeOverlay([join(DEPLOY, 'kustomize', 'cert-manager')], [COMPONENT]);
  const monitor = objects.find((o) => o.kind === 'ServiceMonitor');
  assert.ok(monitor);
  assert.deepEqual(serviceMonitorProblems(monitor), []);
  const services = objects.filter((o) => o.kind === 'Service' && (at(monitor, 'spec.namespaceSelector.matchNames') as string[]).includes(o.metadata.namespace ?? ''));
  const selected = services.filter((s) => selects(at(monitor, 'spec.selector'), s.metadata.labels as Json));
  assert.deepEqual(
    selected.map((s) => s.metadata.name),
    ['hpa-bridge'],
  );
  const ports = (at(selected[0], 'spec.ports') as { name: string }[]).map((p) => p.name);
  for (const e of at(monitor, 'spec.endpoints') as { port: string }[]) assert.ok(ports.includes(e.port), `no Service port ${e.port}`);
  assert.equal(labelsOf(selected[0])[at(monitor, 'spec.jobLabel') as string], 'hpa-bridge', 'the alerts select job="hpa-bridge"');
  const problems = objects.filter(hasCoreSchema).flatMap((o) => schemaProblems(o).map((p) => `${idOf(o)}: ${p}`));
  assert.deepEqual(problems, []);
});

// ---------------------------------------------------------------------------
// The Helm chart's copies

function renderHelm(values: JsonObject = {}): Sourced[] {
  return renderChart({ chart: HELM, release: 'metrics', namespace: 'autoscaling', values });
}

const MONITORING_KINDS = new Set(['ServiceMonitor', 'PrometheusRule']);
// Rendered by the real helm, once, on first use (the tests below skip when helm is missing outside CI).
let enabledRender: Sourced[] | undefined;
const enabledObjects = (): Sourced[] => (enabledRender ??= renderHelm({ serviceMonitor: { enabled: true }, prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } }));
const HELM_TEST = { skip: helmSkip() };
const helmObject = (kind: string): KubeObject => {
  const found = enabledObjects()
    .map((s) => s.object)
    .filter((o) => o.kind === kind && (kind !== 'ConfigMap' || labelsOf(o)['grafana_dashboard'] === '1'));
  assert.equal(found.length, 1, kind);
  return found[0] as KubeObject;
};

test('by default the chart renders no ServiceMonitor, PrometheusRule or dashboard', HELM_TEST, () => {
  const objects = renderHelm().map((s) => s.object);
  assert.deepEqual(
    objects.filter((o) => MONITORING_KINDS.has(o.kind) || labelsOf(o)['grafana_dashboard'] !== undefined),
    [],
  );
});

test("the chart's PrometheusRule carries the groups of deploy/monitoring/prometheusrule.yaml unchanged (run `node scripts/sync-monitoring.mjs` after editing it)", HELM_TEST, () => {
  const rule = helmObject('PrometheusRule');
  assert.deepEqual(rule['spec'], prometheusRule['spec']);
  assert.deepEqual(prometheusRuleProblems(rule), []);
});

test("the chart's dashboard ConfigMap holds deploy/monitoring/grafana-dashboard.json byte for byte (run `node scripts/sync-monitoring.mjs` after editing it)", HELM_TEST, () => {
  const configMap = helmObject('ConfigMap');
  assert.equal((configMap['data'] as JsonObject)['hpa-bridge.json'], dashboardText);
  assert.equal(labelsOf(configMap)['grafana_dashboard'], '1');
  assert.deepEqual(schemaProblems(configMap), []);
});

test("the chart's ServiceMonitor selects only the release's Service, on its metrics port, with the job name the alerts use", HELM_TEST, () => {
  const monitor = helmObject('ServiceMonitor');
  assert.deepEqual(serviceMonitorProblems(monitor), []);
  const services = enabledObjects()
    .map((s) => s.object)
    .filter((o) => o.kind === 'Service');
  const selected = services.filter(
    (s) => selects(at(monitor, 'spec.selector'), s.metadata.labels as Json) && (at(monitor, 'spec.namespaceSelector.matchNames') as string[]).includes(s.metadata.namespace ?? ''),
  );
  assert.deepEqual(
    selected.map((s) => s.metadata.name),
    ['metrics'],
  );
  assert.ok((at(selected[0], 'spec.ports') as { name: string }[]).some((p) => p.name === at(monitor, 'spec.endpoints.0.port')));
  assert.equal(labelsOf(selected[0])[at(monitor, 'spec.jobLabel') as string], 'hpa-bridge');
  assert.equal(at(monitor, 'spec.endpoints.0.interval'), '30s');
  assert.equal(at(monitor, 'spec.endpoints.0.scrapeTimeout'), '10s');
});

test('labels, annotations and namespace from values reach the three objects', HELM_TEST, () => {
  const objects = renderHelm({
    serviceMonitor: { enabled: true, labels: { release: 'kps' }, namespace: 'monitoring', interval: '', scrapeTimeout: '' },
    prometheusRule: { enabled: true, labels: { release: 'kps' }, namespace: 'monitoring' },
    grafanaDashboard: { enabled: true, labels: { team: 'platform' }, annotations: { grafana_folder: 'hpa-bridge' }, namespace: 'grafana' },
  }).map((s) => s.object);
  const monitor = objects.find((o) => o.kind === 'ServiceMonitor');
  const rule = objects.find((o) => o.kind === 'PrometheusRule');
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && labelsOf(o)['grafana_dashboard'] === '1');
  assert.equal(labelsOf(monitor)['release'], 'kps');
  assert.equal(monitor?.metadata.namespace, 'monitoring');
  assert.deepEqual(at(monitor, 'spec.namespaceSelector.matchNames'), ['autoscaling'], 'still scrapes the release namespace');
  assert.equal(at(monitor, 'spec.endpoints.0.interval'), undefined, 'an empty interval leaves Prometheus its default');
  assert.equal(labelsOf(rule)['release'], 'kps');
  assert.equal(rule?.metadata.namespace, 'monitoring');
  assert.equal(labelsOf(configMap)['team'], 'platform');
  assert.deepEqual(configMap?.metadata.annotations, { grafana_folder: 'hpa-bridge' });
  assert.equal(configMap?.metadata.namespace, 'grafana');
});

test('values.yaml ends with serviceMonitor, prometheusRule and grafanaDashboard, each off by default', () => {
  const values = parseYaml(readFileSync(join(HELM, 'values.yaml'), 'utf8')) as JsonObject;
  assert.deepEqual(Object.keys(values).slice(-3), ['serviceMonitor', 'prometheusRule', 'grafanaDashboard']);
  assert.deepEqual(values['serviceMonitor'], { enabled: false, interval: '30s', scrapeTimeout: '10s', labels: {}, namespace: '' });
  assert.deepEqual(values['prometheusRule'], { enabled: false, labels: {}, namespace: '' });
  assert.deepEqual(values['grafanaDashboard'], { enabled: false, labels: {}, annotations: {}, namespace: '' });
});
