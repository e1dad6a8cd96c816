// Differential test of shared evaluation against a real Prometheus: for every
// custom rule of the real-world configs and of rules/examples, series that
// the rule's queries select are scraped (several namespaces, several objects
// each, a few label values), and wildcard requests with several label
// selectors are answered by two providers, one per evaluation mode. A rule
// classified object-separable must give the same values in both modes; a
// difference fails naming the rule's file:line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startExporter, type Exporter } from '../support/exporter.js';
import type { PrometheusInstance } from '../support/prometheus.js';
import { PinnedTimeSource, startPinnedPrometheus } from '../support/pinned-time-source.js';
import { selectorsOf, seriesNameFor, valueFor, type Matcher } from '../support/query-series.js';
import { fixturePath } from '../support/fixtures.js';
import { FakeObjectLister, RecordingLogger, seriesSummary } from '../support/fakes.js';
import { buildRegistry, customMetricKey, type MetricRegistry } from '../../adapter/discovery.js';
import { ApiError } from '../../adapter/errors.js';
import type { ObjectMetricValue } from '../../adapter/metrics-api-provider.js';
import type { MetricsSource } from '../../adapter/prometheus.js';
import { MetricsProvider } from '../../adapter/provider.js';
import type { SeriesSummary } from '../../adapter/series-stream.js';
import { parseLabelSelector } from '../../k8s/label-selector.js';
import type { CompiledRule } from '../../rules/compile.js';
import { compileRuleTexts, loadRuleSet, type RuleSet } from '../../rules/load.js';
import { metricNameForSeries } from '../../rules/naming.js';
import { renderMetricsQuery } from '../../rules/query.js';
import { formatGroupResource, NAMESPACES, StaticResourceCatalog, type GroupResource } from '../../rules/resources.js';
import { evaluationModeOf } from '../../rules/separability.js';

const REAL_WORLD = fixturePath('rules/real-world');
const EXAMPLES = new URL('../../../rules/examples/', import.meta.url).pathname;
const RULE_FILES = [
  ...readdirSync(REAL_WORLD)
    .filter((f) => /^rules-.*\.yaml$/.test(f))
    .map((f) => join(REAL_WORLD, f)),
  ...readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(EXAMPLES, f)),
].sort();

const catalog = new StaticResourceCatalog();
/** Objects of each namespace: the same names in every namespace, so a leak across namespaces would show. */
const OBJECTS: readonly { name: string; labels: Record<string, string>; series: boolean }[] = [
  { name: 'web-0', labels: { app: 'web', tier: 'front' }, series: true },
  { name: 'web-1', labels: { app: 'web', tier: 'back' }, series: true },
  { name: 'web-2', labels: { app: 'web', tier: 'front' }, series: true },
  { name: 'batch-0', labels: { app: 'batch', tier: 'back' }, series: true },
  // An object without series, and series without an object.
  { name: 'idle-0', labels: { app: 'web', tier: 'back' }, series: false },
];
const ORPHAN_SERIES = 'gone-0';
const SELECTORS = ['', 'app=web', 'app=batch', 'app in (web,batch),tier!=front', 'app=none'];
const VARIANTS = ['i-0', 'i-1'];
const BUCKETS = ['100', '500', '+Inf'];

interface Case {
  readonly file: string;
  readonly rule: CompiledRule;
  readonly resource: GroupResource;
  readonly namespaces: readonly string[];
  readonly metric: string;
  readonly series: string;
  readonly shared: boolean;
  readonly reason: string;
  /** Why the case cannot run (no series name passes the rule's filters); undefined when it can. */
  readonly skip?: string;
  readonly registry?: MetricRegistry;
}

/** The object resources a rule maps (a template maps pods), with the namespace label. */
function objectResources(rule: CompiledRule): GroupResource[] {
  const mapped = rule.resources.overrides.map((o) => o.groupResource).filter((gr) => gr.resource !== NAMESPACES.resource);
  if (rule.resources.template) mapped.push({ group: '', resource: 'pods' });
  return mapped.filter((gr) => rule.resources.labelFor(gr) !== undefined);
}

/** The series one case is scraped with: every selector of its query, over its namespaces and objects. */
function seriesOf(c: Case): { name: string; labels: Record<string, string> }[] {
  const objectLabel = c.rule.resources.labelFor(c.resource) as string;
  const namespaceLabel = c.rule.resources.labelFor(NAMESPACES);
  const query = renderMetricsQuery(c.rule, { series: c.series, resource: c.resource, namespace: namespaceLabel ? 'ns' : undefined, names: ['web-0', 'web-1'], metricSelector: [] });
  const histogram = /histogram_quantile|\ble\b/.test(query);
  const own = new Set([objectLabel, namespaceLabel, '__name__']);
  const seriesMatchers = selectorsOf(c.rule.seriesQuery)[0]?.matchers ?? new Map<string, Matcher[]>();
  const out: { name: string; labels: Record<string, string> }[] = [];
  const seen = new Set<string>();
  for (const sel of selectorsOf(query)) {
    const name = sel.name ?? c.series;
    const constraints = new Map<string, Matcher[]>();
    for (const source of name === c.series ? [seriesMatchers, sel.matchers] : [sel.matchers]) {
      for (const [label, ms] of source) if (!own.has(label)) constraints.set(label, [...(constraints.get(label) ?? []), ...ms]);
    }
    const fixed: Record<string, string> = {};
    for (const [label, ms] of constraints) {
      const v = valueFor(ms, `v-${label}`);
      if (v === undefined) return [];
      fixed[label] = v;
    }
    for (const ns of c.namespaces) {
      // undefined: series without the object label, which the shared query reads and the per-request one does not.
      for (const object of [...OBJECTS.filter((o) => o.series).map((o) => o.name), ORPHAN_SERIES, undefined]) {
        for (const variant of VARIANTS) {
          for (const le of histogram ? BUCKETS : [undefined]) {
            const labels: Record<string, string> = {
              ...fixed,
              ...(object !== undefined ? { [objectLabel]: object } : {}),
              instance: variant,
              ...(namespaceLabel ? { [namespaceLabel]: ns } : {}),
              ...(le !== undefined ? { le } : {}),
            };
            const key = `${name}${JSON.stringify(labels)}`;
            if (!seen.has(key)) {
              seen.add(key);
              out.push({ name, labels });
            }
          }
        }
      }
    }
  }
  return out;
}

type Outcome = { readonly values: readonly (readonly [string, string, number])[] } | { readonly code: number };

async function outcome(provider: MetricsProvider, c: Case, namespace: string, selector: string): Promise<Outcome> {
  try {
    const items: ObjectMetricValue[] = await provider.objectMetrics({
      resource: c.resource,
      namespace,
      name: '*',
      metric: c.metric,
      labelSelector: parseLabelSelector(selector),
      metricSelector: [],
      deadline: Date.now() + 10_000,
    });
    return { values: items.map((i) => [i.describedObject.name, i.value, i.timestamp.getTime()] as const) };
  } catch (e) {
    if (e instanceof ApiError) return { code: e.code };
    throw e;
  }
}

async function buildCases(): Promise<Case[]> {
  const cases: Case[] = [];
  let index = 0;
  for (const file of RULE_FILES) {
    let loaded = await loadRuleSet([file]);
    // rules-06 spells its top-level key `Rules:` (a real mistake, kept in the fixture); its rules are compared as meant.
    const text = readFileSync(file, 'utf8');
    if (loaded.compiled.rules.length === 0 && /^Rules:/m.test(text)) loaded = compileRuleTexts([{ file, text: text.replace(/^Rules:/m, 'rules:') }]);
    for (const rule of loaded.compiled.rules) {
      for (const resource of objectResources(rule)) {
        index++;
        const namespaces = ['a', 'b', 'c'].map((s) => `c${index}-${s}`);
        const series = seriesNameFor(rule);
        const kind = catalog.find(resource.group, resource.resource).find((r) => r.group === resource.group);
        const mode = evaluationModeOf(rule, resource, { sharedEvaluation: true, namespaced: kind?.namespaced ?? true });
        const base = { file: file.replace(/^.*\/(rules\/)/, '$1').replace(/^.*\/(real-world\/)/, '$1'), rule, resource, namespaces, shared: mode.shared, reason: mode.reason };
        if (series === undefined) {
          cases.push({ ...base, metric: '', series: '', skip: 'no series name passes the seriesQuery, the filters and name.matches' });
          continue;
        }
        // The one rule alone, as if its file held nothing else: a file that fails to load still has rules worth comparing.
        const ruleSet: RuleSet = { rules: [rule], externalRules: [], resourceRules: undefined, defaults: loaded.compiled.defaults, files: [file], digest: '' };
        const summaries = new Map<string, SeriesSummary>();
        const c: Case = { ...base, metric: metricNameForSeries(rule, series) ?? '', series };
        const labelNames = [...new Set(seriesOf(c).flatMap((s) => Object.keys(s.labels)))];
        summaries.set(rule.seriesQuery, seriesSummary({ [series]: labelNames }));
        cases.push({ ...c, registry: buildRegistry(ruleSet, summaries, catalog) });
      }
    }
  }
  return cases;
}

const CASES = await buildCases();

let exporter: Exporter;
let prom: PrometheusInstance;
let evaluationTime = 0;

describe('shared and per-request evaluation give the same values on real-world rules', () => {
  before(async () => {
    exporter = await startExporter();
    let count = 0;
    let rate = 1;
    for (const c of CASES) {
      if (c.skip) continue;
      for (const s of seriesOf(c)) {
        // Buckets rise together, so histogram_quantile has a proper histogram.
        const bucket = s.labels.le === undefined ? 1 : BUCKETS.indexOf(s.labels.le) + 1;
        exporter.setRate(s.name, s.labels, (rate % 17) * 0.25 * bucket + 0.5, { historySeconds: 420, stepSeconds: 10 });
        rate++;
        count++;
      }
    }
    ({ prom, evaluationTime } = await startPinnedPrometheus(exporter, count));
  });

  after(async () => {
    await prom?.stop();
    await exporter?.close();
  });

  test('every file with custom rules for namespaced objects takes part', () => {
    // The others hold only resourceRules (02), rules for namespaces themselves (04) or external rules (07, 10, queue.yaml).
    assert.deepEqual([...new Set(CASES.map((c) => c.file))].sort(), [
      'real-world/rules-01-k8s-prom-hpa.yaml',
      'real-world/rules-03-deckhouse.yaml',
      'real-world/rules-05-triton-k8s-onprem.yaml',
      'real-world/rules-06-codefresh-onprem.yaml',
      'real-world/rules-08-eks-gpu-dcgm-old-invalid.yaml',
      'real-world/rules-08-eks-gpu-dcgm.yaml',
      'real-world/rules-09-istio-openshift-service.yaml',
      'rules/examples/workload.yaml',
    ]);
    assert.ok(
      CASES.some((c) => c.shared),
      'no rule is classified separable',
    );
  });

  for (const c of CASES) {
    const where = `${c.file}:${c.rule.origin.line} ${c.rule.origin.path} for ${formatGroupResource(c.resource)}`;
    test(`${where}: ${c.shared ? 'shared' : 'per request'} (${c.reason})`, { skip: c.skip }, async () => {
      const registry = c.registry;
      assert.ok(registry?.custom.has(customMetricKey(c.resource, c.metric)), `metric ${c.metric} is not discovered for ${formatGroupResource(c.resource)}`);
      const objects = new FakeObjectLister();
      for (const ns of c.namespaces) for (const o of OBJECTS) objects.add(c.resource, ns, o.name, o.labels);
      const sharedSource = new PinnedTimeSource(prom.url, evaluationTime);
      const ownSource = new PinnedTimeSource(prom.url, evaluationTime);
      const provider = (metrics: MetricsSource, sharedEvaluation: boolean) =>
        new MetricsProvider({ registry: () => registry, metrics, objects, catalog: () => catalog, log: new RecordingLogger(), sharedEvaluation });
      const shared = provider(sharedSource, true);
      const perRequest = provider(ownSource, false);
      let answered = 0;
      const differences: string[] = [];
      for (const ns of c.namespaces) {
        for (const selector of SELECTORS) {
          const want = await outcome(perRequest, c, ns, selector);
          const got = await outcome(shared, c, ns, selector);
          if ('values' in want) answered++;
          try {
            assert.deepEqual(got, want);
          } catch {
            differences.push(`namespace ${ns}, labelSelector "${selector}": shared ${JSON.stringify(got)}, per request ${JSON.stringify(want)}`);
          }
        }
      }
      if (c.shared) {
        assert.deepEqual(differences, [], `${where} is classified object-separable but its shared evaluation differs:\n${differences.join('\n')}`);
        assert.ok(answered > 0, `${where}: the generated series give no values, so the comparison says nothing`);
        // The shared provider did send namespace-wide queries, not the per-request ones.
        assert.ok(
          sharedSource.queries.every((q) => !q.includes('web-0')),
          sharedSource.queries.join('\n'),
        );
      } else {
        assert.deepEqual(sharedSource.queries, ownSource.queries, 'a rule that is not separable sends the same queries in both modes');
      }
    });
  }
});
