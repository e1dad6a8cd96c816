// The Helm chart under deploy/helm/hpa-bridge, rendered by a real helm
// (test/support/helm.ts) with our values, prometheus-adapter's chart's
// values.yaml, real-world values files written for prometheus-adapter, and
// each switch. Every rendered object must validate against its Kubernetes
// schema, the rules ConfigMap must load with the rule loader, and the
// Deployment's arguments must parse as a serve command line. For values
// written for prometheus-adapter, that chart's own ConfigMap template
// (test/fixtures/helm/prometheus-adapter-chart) rendered with the same
// values is the oracle for the rules.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { compileRuleTexts } from '../../rules/load.js';
import { parseServeArgs } from '../../cli/serve-config.js';
import { helmSkip, helmTemplate, renderChart, requireHelm } from '../support/helm.js';
import { REPO, at, buildKustomization, find, hasCoreSchema, idOf, isObject, one, schemaProblems, DEPLOY, type JsonObject, type KubeObject, type Sourced } from '../support/manifests.js';

const FIXTURES = join(REPO, 'test', 'fixtures', 'helm');
const ADAPTER_CHART = join(FIXTURES, 'prometheus-adapter-chart');
const ADAPTER_DEFAULTS = join(FIXTURES, 'prometheus-adapter-5.3.0.values.yaml');
const EXAMPLES = join(REPO, 'rules', 'examples');
const RESOURCE_RULES_FILE = 'resource-metrics.yaml';

const CUSTOM = ['v1beta1.custom.metrics.k8s.io', 'v1beta2.custom.metrics.k8s.io'];
const EXTERNAL = ['v1beta1.external.metrics.k8s.io'];
const RESOURCE = ['v1.metrics.k8s.io', 'v1beta1.metrics.k8s.io'];

/** rules/examples/*.yaml by file name, without the resource rules unless asked for. */
function examples(withResourceRules = false): Record<string, string> {
  return Object.fromEntries(
    readdirSync(EXAMPLES)
      .filter((f) => /\.ya?ml$/.test(f) && (withResourceRules || f !== RESOURCE_RULES_FILE))
      .sort()
      .map((f) => [f, readFileSync(join(EXAMPLES, f), 'utf8')]),
  );
}

/** A real-world values file: the whole file, or the subtree an umbrella chart hands to prometheus-adapter. */
interface ValuesFile {
  readonly name: string;
  readonly file: string;
  readonly subtree?: string;
}

const REAL_WORLD: readonly ValuesFile[] = [
  { name: 'vllm production-stack (rules.default and custom, and a misspelt loglevel)', file: 'rules-04-vllm-production-stack.values.yaml' },
  { name: 'triton k8s-onprem (an umbrella chart: its prometheus-adapter key)', file: 'rules-05-triton-k8s-onprem.values.yaml', subtree: 'prometheus-adapter' },
  { name: 'eks gpu dcgm (custom rules on exported_* labels)', file: 'rules-08-eks-gpu-dcgm.values.yaml' },
  { name: 'llm-d wva (external rules, logLevel 4, extra volumes and arguments)', file: 'rules-10-llm-d-wva.values.yaml' },
];

/** The values file's path, after taking out an umbrella chart's subtree into `dir`. */
function valuesPath(v: ValuesFile, dir: string): string {
  const path = join(FIXTURES, v.file);
  if (!v.subtree) return path;
  const sub = (parseYaml(readFileSync(path, 'utf8')) as JsonObject)[v.subtree];
  const out = join(dir, v.file);
  writeFileSync(out, stringifyYaml(sub));
  return out;
}

function withTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'hpa-bridge-helm-test-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The parsed config.yaml prometheus-adapter's chart renders for these values files. */
function adapterChartConfig(files: readonly string[]): unknown {
  const cm = one(renderChart({ chart: ADAPTER_CHART, release: 'pa', files, showOnly: 'templates/configmap.yaml' }), 'ConfigMap');
  return parseYaml((cm['data'] as Record<string, string>)['config.yaml'] as string) as unknown;
}

function rulesData(objects: readonly Sourced[]): Record<string, string> {
  return one(objects, 'ConfigMap', 'hpa-bridge-rules')['data'] as Record<string, string>;
}

function apiServices(objects: readonly Sourced[]): string[] {
  return find(objects, 'APIService')
    .map((a) => a.metadata.name)
    .sort();
}

function deploymentOf(objects: readonly Sourced[]): KubeObject {
  return one(objects, 'Deployment');
}

function containerOf(objects: readonly Sourced[]): JsonObject {
  return at(deploymentOf(objects), 'spec.template.spec.containers.0') as JsonObject;
}

function argsOf(objects: readonly Sourced[]): string[] {
  return containerOf(objects)['args'] as string[];
}

/** Values of `--flag v` and `--flag=v` in an argument list. */
function flagValues(args: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === flag) out.push(args[++i] as string);
    else if (a.startsWith(`${flag}=`)) out.push(a.slice(flag.length + 1));
  }
  return out;
}

/** The API groups the HPA's ClusterRole grants. */
function grantedGroups(objects: readonly Sourced[]): string[] {
  const role = find(objects, 'ClusterRole', 'hpa-bridge-metrics-reader')[0];
  return ((role?.['rules'] as JsonObject[] | undefined) ?? []).flatMap((r) => r['apiGroups'] as string[]).sort();
}

/** Every check a rendering must pass whatever the values: schemas, rules and arguments. */
function assertSound(objects: readonly Sourced[], label: string): void {
  const problems = objects.filter(({ object }) => hasCoreSchema(object)).flatMap(({ object, file }) => schemaProblems(object).map((p) => `${file}: ${idOf(object)}: ${p}`));
  assert.deepEqual(problems, [], label);
  const data = find(objects, 'ConfigMap', 'hpa-bridge-rules')[0]?.['data'] as Record<string, string> | undefined;
  if (data) {
    const loaded = compileRuleTexts(Object.entries(data).map(([file, text]) => ({ file, text })));
    assert.deepEqual(
      loaded.errors.map((e) => `${e.file}:${e.line}: ${e.message}`),
      [],
      `${label}: the rules ConfigMap loads`,
    );
  }
  const args = argsOf(objects);
  assert.equal(args[0], 'serve', label);
  assert.doesNotThrow(() => parseServeArgs(args.slice(1), {}), `${label}: the arguments parse`);
}

const cache = new Map<string, Sourced[]>();
/** helm template with these values (after any files), rendered once per distinct input. */
function render(values: JsonObject = {}, files: readonly string[] = []): Sourced[] {
  const key = JSON.stringify([values, files]);
  let objects = cache.get(key);
  if (!objects) {
    objects = renderChart({ values, files });
    cache.set(key, objects);
  }
  return objects;
}

describe('the Helm chart rendered by helm', { skip: helmSkip() }, () => {
  test('helm is there to run (set HELM or run scripts/install-helm.sh)', () => {
    requireHelm();
  });

  describe('with its default values', () => {
    test('renders objects that validate, rules that load and arguments that parse', () => {
      assertSound(render(), 'defaults');
    });

    test('renders the objects of the cert-manager kustomize overlay, without the Namespace, under the same names', () => {
      const ids = (objects: readonly Sourced[]): string[] =>
        objects
          .map(({ object }) => idOf(object))
          .filter((id) => !id.includes(' Namespace '))
          .sort();
      assert.deepEqual(ids(render()), ids(buildKustomization(join(DEPLOY, 'kustomize', 'cert-manager'))));
      assert.deepEqual(ids(render({ resourceMetrics: { enabled: true } })), ids(buildKustomization(join(DEPLOY, 'kustomize', 'resource-metrics', 'cert-manager'))));
    });

    test('ships the example rules and the webhook defaults, and registers custom and external metrics only', () => {
      assert.deepEqual(rulesData(render()), examples());
      assert.deepEqual(apiServices(render()), [...CUSTOM, ...EXTERNAL].sort());
      assert.deepEqual(grantedGroups(render()), ['custom.metrics.k8s.io', 'external.metrics.k8s.io']);
    });

    test('passes the Prometheus URL, the log level and the relist interval to serve', () => {
      const config = parseServeArgs(argsOf(render()).slice(1), {});
      assert.equal(config.prometheusUrl, 'http://prometheus-k8s.monitoring.svc:9090');
      assert.equal(config.logLevel, 'info');
      assert.equal(config.relistIntervalMs, 60_000);
      assert.equal(config.securePort, 6443);
      assert.equal(config.authentication, 'delegated');
    });
  });

  describe("with prometheus-adapter's chart's default values.yaml", () => {
    const objects = (): Sourced[] => render({}, [ADAPTER_DEFAULTS]);

    test('renders objects that validate, rules that load and arguments that parse', () => {
      assertSound(objects(), 'prometheus-adapter defaults');
    });

    test('renders the rules that chart renders, plus the webhook defaults, and none of the example rule files', () => {
      const data = rulesData(objects());
      assert.deepEqual(Object.keys(data).sort(), ['config.yaml', 'defaults.yaml']);
      assert.deepEqual(parseYaml(data['config.yaml'] as string), adapterChartConfig([ADAPTER_DEFAULTS]));
      assert.equal(data['defaults.yaml'], examples()['defaults.yaml']);
    });

    test('registers the custom metrics APIServices only, as that chart does with its default rules', () => {
      assert.deepEqual(apiServices(objects()), CUSTOM);
      assert.deepEqual(grantedGroups(objects()), ['custom.metrics.k8s.io']);
    });

    test("runs hpa-bridge's image with the URL built from url, port and path, and logLevel 4 as --v", () => {
      const c = containerOf(objects());
      assert.equal(c['image'], `hpa-bridge:${(parseYaml(readFileSync(join(DEPLOY, 'helm', 'hpa-bridge', 'Chart.yaml'), 'utf8')) as JsonObject)['appVersion'] as string}`);
      const args = argsOf(objects());
      assert.deepEqual(flagValues(args, '--prometheus-url'), ['http://prometheus.default.svc:9090']);
      assert.deepEqual(flagValues(args, '--v'), ['4']);
      assert.deepEqual(flagValues(args, '--log-level'), []);
      assert.equal(parseServeArgs(args.slice(1), {}).logLevel, 'debug');
      assert.equal(at(deploymentOf(objects()), 'spec.replicas'), 1);
    });

    test('renders no PodDisruptionBudget, as that chart has it off', () => {
      assert.deepEqual(find(objects(), 'PodDisruptionBudget'), []);
    });
  });

  describe('with real-world values files written for prometheus-adapter', () => {
    for (const v of REAL_WORLD) {
      test(`${v.name}: renders objects that validate, the rules that chart renders, and arguments that parse`, () => {
        withTempDir((dir) => {
          const path = valuesPath(v, dir);
          const objects = render({}, [path]);
          assertSound(objects, v.file);
          const data = rulesData(objects);
          assert.deepEqual(Object.keys(data).sort(), ['config.yaml', 'defaults.yaml'], v.file);
          assert.deepEqual(parseYaml(data['config.yaml'] as string), adapterChartConfig([path]), v.file);
          const values = parseYaml(readFileSync(path, 'utf8')) as JsonObject;
          const wantExternal = Array.isArray(at(values, 'rules.external')) && (at(values, 'rules.external') as unknown[]).length > 0;
          assert.deepEqual(apiServices(objects), (wantExternal ? [...CUSTOM, ...EXTERNAL] : CUSTOM).sort(), v.file);
          const url = `${at(values, 'prometheus.url') as string}:${at(values, 'prometheus.port') as number}`;
          assert.deepEqual(flagValues(argsOf(objects), '--prometheus-url'), [url], v.file);
        });
      });
    }

    test('extraArguments, extraVolumes and extraVolumeMounts reach the pod (llm-d wva)', () => {
      const objects = render({}, [join(FIXTURES, 'rules-10-llm-d-wva.values.yaml')]);
      assert.deepEqual(flagValues(argsOf(objects), '--prometheus-ca-file'), ['/etc/prometheus-ca/ca.crt']);
      const volumes = at(deploymentOf(objects), 'spec.template.spec.volumes') as JsonObject[];
      assert.ok(volumes.some((vol) => vol['name'] === 'prometheus-ca' && at(vol, 'configMap.name') === 'prometheus-ca'));
      const mounts = containerOf(objects)['volumeMounts'] as JsonObject[];
      assert.ok(mounts.some((m) => m['name'] === 'prometheus-ca' && m['mountPath'] === '/etc/prometheus-ca'));
      assert.equal(at(deploymentOf(objects), 'spec.replicas'), 2);
    });
  });

  describe('switches', () => {
    test('externalMetrics.enabled false registers and grants no external metrics, in either layout', () => {
      const layouts: JsonObject[] = [{ externalMetrics: { enabled: false } }, { externalMetrics: { enabled: false }, rules: { external: [{ seriesQuery: 'q', metricsQuery: 'q' }] } }];
      for (const values of layouts) {
        const objects = render(values);
        assertSound(objects, JSON.stringify(values));
        assert.deepEqual(apiServices(objects), CUSTOM, JSON.stringify(values));
        assert.deepEqual(grantedGroups(objects), ['custom.metrics.k8s.io'], JSON.stringify(values));
      }
    });

    test('customMetrics.enabled false registers and grants no custom metrics', () => {
      const objects = render({ customMetrics: { enabled: false } });
      assertSound(objects, 'customMetrics off');
      assert.deepEqual(apiServices(objects), EXTERNAL);
      assert.deepEqual(grantedGroups(objects), ['external.metrics.k8s.io']);
    });

    test('with both off the chart grants the HPA nothing and registers no APIService', () => {
      const objects = render({ customMetrics: { enabled: false }, externalMetrics: { enabled: false } });
      assertSound(objects, 'both off');
      assert.deepEqual(apiServices(objects), []);
      assert.deepEqual(find(objects, 'ClusterRole', 'hpa-bridge-metrics-reader'), []);
    });

    test("in prometheus-adapter's layout the external APIService comes with rules.external, and the custom ones with default or custom rules", () => {
      const external = render({ rules: { default: false, external: [{ seriesQuery: 'q{namespace!=""}', metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})' }] } });
      assertSound(external, 'external only');
      assert.deepEqual(apiServices(external), EXTERNAL);
      assert.deepEqual(apiServices(render({ rules: { default: false, custom: [] } })), []);
    });

    test('webhook.enabled false renders no MutatingWebhookConfiguration and no defaults file', () => {
      const objects = render({ webhook: { enabled: false } });
      assertSound(objects, 'webhook off');
      assert.deepEqual(find(objects, 'MutatingWebhookConfiguration'), []);
      const { ['defaults.yaml']: _defaults, ...rest } = examples();
      assert.deepEqual(rulesData(objects), rest);
    });

    test('resourceMetrics.enabled registers metrics.k8s.io v1beta1 and v1, grants the aggregated reader and adds the resource rules', () => {
      const objects = render({ resourceMetrics: { enabled: true } });
      assertSound(objects, 'resourceMetrics');
      assert.deepEqual(apiServices(objects), [...CUSTOM, ...EXTERNAL, ...RESOURCE].sort());
      assert.equal(find(objects, 'ClusterRole', 'hpa-bridge:aggregated-metrics-reader').length, 1);
      assert.deepEqual(rulesData(objects), examples(true));
    });

    test('resourceMetrics.createAPIServices false renders the resource rules and the reader role but leaves metrics.k8s.io unregistered', () => {
      const objects = render({ resourceMetrics: { enabled: true, createAPIServices: false } });
      assert.deepEqual(apiServices(objects), [...CUSTOM, ...EXTERNAL].sort());
      assert.equal(find(objects, 'ClusterRole', 'hpa-bridge:aggregated-metrics-reader').length, 1);
      assert.deepEqual(rulesData(objects), examples(true));
    });

    test("prometheus-adapter's rules.resource registers metrics.k8s.io and puts the resourceRules in config.yaml", () => {
      const resource = (parseYaml(examples(true)[RESOURCE_RULES_FILE] as string) as JsonObject)['resourceRules'] as JsonObject;
      const objects = render({ rules: { default: false, resource } });
      assertSound(objects, 'rules.resource');
      assert.deepEqual(apiServices(objects), RESOURCE);
      const data = rulesData(objects);
      assert.deepEqual(Object.keys(data).sort(), ['config.yaml', 'defaults.yaml']);
      assert.deepEqual(parseYaml(data['config.yaml'] as string), { resourceRules: resource });
    });

    test('rules.existing mounts that ConfigMap, with the webhook defaults beside it, instead of rendering the rules', () => {
      const objects = render({ rules: { existing: 'my-rules' } });
      assertSound(objects, 'rules.existing');
      assert.deepEqual(Object.keys(rulesData(objects)), ['defaults.yaml']);
      const volume = (at(deploymentOf(objects), 'spec.template.spec.volumes') as JsonObject[]).find((v) => v['name'] === 'rules');
      assert.deepEqual(at(volume, 'projected.sources'), [{ configMap: { name: 'my-rules' } }, { configMap: { name: 'hpa-bridge-rules' } }]);
      const alone = render({ rules: { existing: 'my-rules' }, webhook: { enabled: false } });
      assert.deepEqual(find(alone, 'ConfigMap'), []);
      assert.deepEqual(at((at(deploymentOf(alone), 'spec.template.spec.volumes') as JsonObject[])[0], 'projected.sources'), [{ configMap: { name: 'my-rules' } }]);
    });

    test('a Prometheus URL that already has a port keeps it; one without gets prometheus.port and path', () => {
      assert.deepEqual(flagValues(argsOf(render({ prometheus: { url: 'http://prom.monitoring:9091' } })), '--prometheus-url'), ['http://prom.monitoring:9091']);
      assert.deepEqual(flagValues(argsOf(render({ prometheus: { url: 'https://thanos.svc', port: 10902, path: '/prefix' } })), '--prometheus-url'), ['https://thanos.svc:10902/prefix']);
    });
  });

  describe('TLS', () => {
    test('tls.mode secret puts the given caBundle on every APIService and the webhook, and renders no certificates', () => {
      const caBundle = Buffer.from('-----BEGIN CERTIFICATE-----\n').toString('base64');
      const objects = render({ resourceMetrics: { enabled: true }, tls: { mode: 'secret', caBundle } });
      assertSound(objects, 'tls secret');
      for (const a of find(objects, 'APIService')) {
        assert.equal(at(a, 'spec.caBundle'), caBundle, a.metadata.name);
        assert.equal(a.metadata['annotations'], undefined, a.metadata.name);
      }
      assert.equal(at(one(objects, 'MutatingWebhookConfiguration'), 'webhooks.0.clientConfig.caBundle'), caBundle);
      assert.deepEqual(find(objects, 'Certificate'), []);
    });

    test("prometheus-adapter's tls.enable writes its certificate and key into the mounted Secret and its CA into every caBundle", () => {
      const tls = { enable: true, ca: 'CA PEM', certificate: 'CERT PEM', key: 'KEY PEM' };
      const objects = render({ tls });
      assertSound(objects, 'tls.enable');
      const secret = one(objects, 'Secret');
      assert.deepEqual(secret['data'], { 'tls.crt': Buffer.from('CERT PEM').toString('base64'), 'tls.key': Buffer.from('KEY PEM').toString('base64') });
      const volume = (at(deploymentOf(objects), 'spec.template.spec.volumes') as JsonObject[]).find((v) => v['name'] === 'tls');
      assert.equal(at(volume, 'secret.secretName'), secret.metadata.name);
      for (const a of find(objects, 'APIService')) assert.equal(at(a, 'spec.caBundle'), Buffer.from('CA PEM').toString('base64'), a.metadata.name);
      assert.deepEqual(find(objects, 'Certificate'), []);
    });

    test("prometheus-adapter's certManager values set the lifetimes of the CA and the serving certificate", () => {
      const objects = render({ tls: { mode: 'secret' }, certManager: { enabled: true, caCertDuration: '43800h0m0s', certDuration: '8760h0m0s', certRevisionHistoryLimit: 3 } });
      assertSound(objects, 'certManager');
      assert.equal(at(one(objects, 'Certificate', 'hpa-bridge-ca'), 'spec.duration'), '43800h0m0s');
      assert.equal(at(one(objects, 'Certificate', 'hpa-bridge-serving'), 'spec.duration'), '8760h0m0s');
      assert.equal(at(one(objects, 'Certificate', 'hpa-bridge-serving'), 'spec.revisionHistoryLimit'), 3);
      for (const a of find(objects, 'APIService')) assert.equal((a.metadata['annotations'] as JsonObject)['cert-manager.io/inject-ca-from'], 'hpa-bridge/hpa-bridge-serving', a.metadata.name);
    });
  });

  describe('PodDisruptionBudget', () => {
    // [replicas, podDisruptionBudget values, the spec field rendered or undefined for none]
    const CASES: readonly (readonly [number, JsonObject, JsonObject | undefined])[] = [
      [2, {}, { minAvailable: 1 }],
      [1, {}, undefined],
      [1, { minAvailable: 1 }, undefined],
      [3, { minAvailable: 3 }, undefined],
      [3, { minAvailable: 2 }, { minAvailable: 2 }],
      [1, { minAvailable: 0 }, { minAvailable: 0 }],
      [2, { minAvailable: '50%' }, { minAvailable: '50%' }],
      [1, { minAvailable: '50%' }, undefined],
      [1, { minAvailable: null, maxUnavailable: 1 }, { maxUnavailable: 1 }],
      [3, { minAvailable: null, maxUnavailable: 0 }, undefined],
      [1, { minAvailable: null, maxUnavailable: '10%' }, { maxUnavailable: '10%' }],
      [2, { minAvailable: 1, maxUnavailable: 1 }, { maxUnavailable: 1 }],
      [2, { enabled: false }, undefined],
    ];
    for (const [replicas, pdb, want] of CASES) {
      test(`replicas ${replicas} with ${JSON.stringify(pdb)} renders ${want ? JSON.stringify(want) : 'no budget, which could block a drain'}`, () => {
        const objects = render({ replicas, podDisruptionBudget: pdb });
        const budgets = find(objects, 'PodDisruptionBudget');
        if (!want) {
          assert.deepEqual(budgets, []);
          return;
        }
        assert.equal(budgets.length, 1);
        const { selector, ...rest } = (budgets[0] as KubeObject)['spec'] as JsonObject;
        assert.deepEqual(rest, want);
        assert.deepEqual(selector, at(deploymentOf(objects), 'spec.selector'));
        assertSound(objects, JSON.stringify(pdb));
      });
    }
  });

  describe('values.schema.json', () => {
    const CASES: readonly (readonly [string, JsonObject, RegExp])[] = [
      ['replicas as a word', { replicas: 'two' }, /at '\/replicas': got string, want integer/],
      ['rules.custom as a string', { rules: { custom: 'not a list' } }, /at '\/rules\/custom': got string, want null or array/],
      ['a rules file that is not text', { rules: { 'team.yaml': 3 } }, /at '\/rules\/team\.yaml': got number, want string/],
      ['an unknown log level', { logLevel: 'verbose' }, /at '\/logLevel'/],
      ['externalMetrics.enabled as a string', { externalMetrics: { enabled: 'no' } }, /at '\/externalMetrics\/enabled': got string, want boolean/],
      ['serviceMonitor.interval that is not a duration', { serviceMonitor: { interval: 30 } }, /at '\/serviceMonitor\/interval': got number, want string/],
    ];
    for (const [name, values, want] of CASES) {
      test(`${name} fails with helm's error naming the value`, () => {
        const run = helmTemplate({ values });
        assert.notEqual(run.code, 0);
        assert.match(run.stderr, /values don't meet the specifications of the schema/);
        assert.match(run.stderr, want);
      });
    }

    test('both layouts pass: a logLevel name or number, rules as files or as lists of objects', () => {
      const accepted: JsonObject[] = [{ logLevel: 'debug' }, { logLevel: 2 }, { rules: { 'team.yaml': 'rules: []\n' } }, { rules: { custom: [{ seriesQuery: 'x' }], existing: null } }];
      for (const values of accepted) {
        assert.equal(helmTemplate({ values }).code, 0, JSON.stringify(values));
      }
    });
  });

  test('customLabels and customAnnotations reach every object; podLabels, podAnnotations and image.pullSecrets the pod', () => {
    const objects = render({
      resourceMetrics: { enabled: true },
      customLabels: { team: 'platform' },
      customAnnotations: { owner: 'sre' },
      podLabels: { tier: 'metrics' },
      podAnnotations: { scrape: 'yes' },
      image: { pullSecrets: ['regcred', { name: 'other' }] },
    });
    assertSound(objects, 'labels and annotations');
    for (const { object } of objects) {
      assert.equal((object.metadata['labels'] as JsonObject)['team'], 'platform', idOf(object));
      assert.equal((object.metadata['annotations'] as JsonObject | undefined)?.['owner'], 'sre', idOf(object));
    }
    const pod = at(deploymentOf(objects), 'spec.template') as JsonObject;
    assert.equal(at(pod, 'metadata.labels.tier'), 'metrics');
    assert.deepEqual(at(pod, 'metadata.annotations'), { owner: 'sre', scrape: 'yes' });
    assert.deepEqual(at(pod, 'spec.imagePullSecrets'), [{ name: 'regcred' }, { name: 'other' }]);
  });

  test("the webhook's rules are the kustomize base's: every kind the handler reviews, HPAs included", () => {
    const rulesOf = (objects: readonly Sourced[]): unknown => at(one(objects, 'MutatingWebhookConfiguration'), 'webhooks.0.rules');
    assert.deepEqual(rulesOf(renderChart()), rulesOf(buildKustomization(join(DEPLOY, 'kustomize', 'base'))));
  });

  test('fullnameOverride and namespaceOverride rename every object and every reference to one', () => {
    const objects = render({ fullnameOverride: 'metrics', namespaceOverride: 'monitoring' });
    assertSound(objects, 'overrides');
    for (const { object } of objects) {
      if (object.metadata.namespace !== undefined && object.metadata.namespace !== 'kube-system') assert.equal(object.metadata.namespace, 'monitoring', idOf(object));
    }
    for (const a of find(objects, 'APIService')) assert.deepEqual(at(a, 'spec.service'), { name: 'metrics', namespace: 'monitoring', port: 443 });
    assert.equal(at(one(objects, 'Deployment', 'metrics'), 'spec.template.spec.serviceAccountName'), 'metrics');
    assert.ok(isObject(one(objects, 'ServiceAccount', 'metrics')));
    assert.deepEqual(at(one(objects, 'Certificate', 'metrics-serving'), 'spec.dnsNames'), ['metrics.monitoring.svc', 'metrics.monitoring.svc.cluster.local']);
  });
});
