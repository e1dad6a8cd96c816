// Differential test of shared evaluation for external metrics against a real
// Prometheus: for every external rule of the real-world configs, of
// rules/examples and of a crafted fixture, series the rule's query selects
// are scraped (several namespaces; several values of each label a metric
// selector names, and series without it; extra labels), and requests with
// metric selectors of every operator are answered by two providers, one per
// evaluation mode. A request evaluated shared must get the same values,
// labels and timestamps (or the same error code) as its own query gives, from
// the namespace-wide query; one that is not must send the same queries in
// both modes. A difference fails naming the rule's file:line and the selector.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { startExporter, type Exporter } from '../support/exporter.js';
import type { PrometheusInstance } from '../support/prometheus.js';
import { PinnedTimeSource, startPinnedPrometheus } from '../support/pinned-time-source.js';
import { groupingLabelsOf, selectorsOf, seriesNameFor, valueFor, type Matcher } from '../support/query-series.js';
import { fixturePath } from '../support/fixtures.js';
import { FakeObjectLister, RecordingLogger, seriesSummary } from '../support/fakes.js';
import { buildRegistry, type MetricRegistry } from '../../adapter/discovery.js';
import { ApiError } from '../../adapter/errors.js';
import type { MetricsSource } from '../../adapter/prometheus.js';
import { MetricsProvider } from '../../adapter/provider.js';
import type { SeriesSummary } from '../../adapter/series-stream.js';
import { parseLabelSelector } from '../../k8s/label-selector.js';
import type { CompiledRule } from '../../rules/compile.js';
import { loadRuleSet, type RuleSet } from '../../rules/load.js';
import { metricNameForSeries } from '../../rules/naming.js';
import { renderExternalQuery } from '../../rules/query.js';
import { NAMESPACES, StaticResourceCatalog } from '../../rules/resources.js';
import { externalEvaluationModeOf } from '../../rules/separability.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const REAL_WORLD = fixturePath('rules/real-world');
const EXAMPLES = join(REPO, 'rules/examples');
const CRAFTED = fixturePath('rules/shared-external.yaml');
const RULE_FILES = [
  ...readdirSync(REAL_WORLD)
    .filter((f) => /^rules-.*\.yaml$/.test(f))
    .map((f) => join(REAL_WORLD, f)),
  ...readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(EXAMPLES, f)),
  CRAFTED,
].sort();

const catalog = new StaticResourceCatalog();
/** A label no query groups by: aggregations drop it, raw selectors keep it. */
const LOOSE_LABEL = 'zone';
const INSTANCES = ['i-0', 'i-1'];
const BUCKETS = ['100', '500', '+Inf'];

/**
 * The labels a metric selector may name alone and still be answered from the
 * namespace-wide query, for each crafted rule (by series): those every output
 * series keeps with the value of the input series it was computed from.
 */
const CRAFTED_SHARED_KEYS: Readonly<Record<string, readonly string[]>> = {
  shx_queue_depth: ['queue'],
  shx_queue_region_depth: ['queue', 'region'],
  shx_raw_depth: [LOOSE_LABEL],
  shx_peak_depth: [LOOSE_LABEL],
  shx_total_depth: [],
  shx_queue_used: ['queue'],
  // topk keeps the zone of the series it picks, but which series it picks depends on the others of the queue.
  shx_consumer_lag: ['queue'],
  // le is grouped away by histogram_quantile.
  shx_wait_seconds_bucket: ['queue'],
  shx_opted_out_depth: [],
};

interface Case {
  readonly file: string;
  readonly rule: CompiledRule;
  readonly namespaces: readonly string[];
  readonly namespaceLabel: string | undefined;
  readonly metric: string;
  readonly series: string;
  /** Labels metric selectors name: those the query groups by (but the namespace label), and LOOSE_LABEL. */
  readonly keys: readonly string[];
  /** Keys a selector naming only that key is evaluated shared for, with the reasons of the others. */
  readonly sharedKeys: readonly string[];
  readonly refused: readonly string[];
  readonly histogram: boolean;
  readonly selectors: readonly string[];
  /** Why the case cannot run (no series name passes the rule's filters); undefined when it can. */
  readonly skip?: string;
  readonly registry?: MetricRegistry;
}

/** The values series carry for a label; selectors name the first two. */
function valuesOf(label: string): readonly string[] {
  if (label === 'le') return BUCKETS;
  if (label === 'instance') return INSTANCES;
  return ['a', 'b', 'c'].map((s) => `${label}-${s}`);
}

/** Metric selectors over `keys`: every operator on each key, two keys at once, a value nothing has, and none. */
function selectorsFor(keys: readonly string[]): string[] {
  const out = [''];
  for (const k of keys) {
    const [a, b] = valuesOf(k);
    out.push(`${k}=${a}`, `${k}==${b}`, `${k}!=${a}`, `${k} in (${a},${b})`, `${k} notin (${a})`, k, `!${k}`, `${k}=nothing`);
  }
  // A single key pairs with instance, which every series has.
  const pairs = keys.length > 1 ? keys.slice(1).map((k, i) => [keys[i] as string, k] as const) : keys.map((k) => [k, 'instance'] as const);
  for (const [k1, k2] of pairs) {
    const [a1, b1] = valuesOf(k1);
    const [a2, b2] = valuesOf(k2);
    out.push(`${k1}=${a1},${k2}!=${b2}`, `${k1} in (${a1},${b1}),${k2}`, `!${k1},${k2} notin (${a2})`);
  }
  return out;
}

/** Every way to give each label one of its values or leave it out. */
function combinations(labels: readonly string[]): Record<string, string>[] {
  const [first, ...rest] = labels;
  if (first === undefined) return [{}];
  const tails = combinations(rest);
  return [undefined, ...valuesOf(first)].flatMap((v) => tails.map((t) => (v === undefined ? t : { [first]: v, ...t })));
}

/** The series one case is scraped with: every selector of its query, over its namespaces and the values of its keys. */
function seriesOf(c: Case): { name: string; labels: Record<string, string> }[] {
  const query = renderExternalQuery(c.rule, { series: c.series, namespace: 'ns', metricSelector: [] });
  const dimensions = c.keys.filter((k) => k !== 'le');
  // Selector keys are left out of the seriesQuery's constraints: series without them are what `!k` and `notin` read.
  const own = new Set(['__name__', 'instance', 'le', ...dimensions, ...(c.namespaceLabel !== undefined ? [c.namespaceLabel] : [])]);
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
    for (const ns of c.namespaceLabel !== undefined ? c.namespaces : [undefined]) {
      for (const combination of combinations(dimensions)) {
        for (const instance of INSTANCES) {
          for (const le of c.histogram ? BUCKETS : [undefined]) {
            const labels: Record<string, string> = {
              ...fixed,
              ...combination,
              instance,
              ...(ns !== undefined && c.namespaceLabel !== undefined ? { [c.namespaceLabel]: ns } : {}),
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

/** A request's outcome, items in label order (the order carries no meaning), and the queries it sent. */
async function answer(provider: MetricsProvider, source: PinnedTimeSource, c: Case, namespace: string, selector: string): Promise<{ outcome: Outcome; queries: string[] }> {
  const from = source.queries.length;
  let outcome: Outcome;
  try {
    const items = await provider.externalMetrics({ namespace, metric: c.metric, metricSelector: parseLabelSelector(selector), deadline: Date.now() + 10_000 });
    const values = items.map((i) => [JSON.stringify(Object.entries(i.labels).sort(([a], [b]) => (a < b ? -1 : 1))), i.value, i.timestamp.getTime()] as const);
    outcome = { values: values.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)) };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    outcome = { code: e.code };
  }
  return { outcome, queries: source.queries.slice(from) };
}

const fileOf = (path: string): string => relative(REPO, path);

async function buildCases(): Promise<Case[]> {
  const cases: Case[] = [];
  let index = 0;
  for (const file of RULE_FILES) {
    const loaded = await loadRuleSet([file]);
    for (const rule of loaded.compiled.externalRules) {
      index++;
      const namespaces = ['a', 'b', 'c'].map((s) => `x${index}-${s}`);
      const namespaceLabel = rule.resources.labelFor(NAMESPACES);
      const series = seriesNameFor(rule);
      const grouped = series === undefined ? [] : groupingLabelsOf(renderExternalQuery(rule, { series, namespace: 'ns', metricSelector: [] }));
      const keys = [...grouped.filter((l) => l !== namespaceLabel && l !== LOOSE_LABEL && l !== 'instance'), LOOSE_LABEL];
      const modes = keys.map((k) => ({ key: k, mode: externalEvaluationModeOf(rule, [k], { sharedEvaluation: true, namespace: namespaces[0] }) }));
      const base = {
        file: fileOf(file),
        rule,
        namespaces,
        namespaceLabel,
        keys,
        sharedKeys: modes.filter((m) => m.mode.shared).map((m) => m.key),
        refused: modes.filter((m) => !m.mode.shared).map((m) => m.mode.reason),
        selectors: selectorsFor(keys),
      };
      if (series === undefined) {
        cases.push({ ...base, metric: '', series: '', histogram: false, skip: 'no series name passes the seriesQuery, the filters and name.matches' });
        continue;
      }
      const histogram = /histogram_quantile|\ble\b/.test(renderExternalQuery(rule, { series, namespace: 'ns', metricSelector: [] }));
      const c: Case = { ...base, metric: metricNameForSeries(rule, series) ?? '', series, histogram };
      // The one rule alone, as if its file held nothing else.
      const ruleSet: RuleSet = { rules: [], externalRules: [rule], resourceRules: undefined, defaults: loaded.compiled.defaults, files: [file], digest: '' };
      const labelNames = [...new Set(seriesOf(c).flatMap((s) => Object.keys(s.labels)))];
      const summaries = new Map<string, SeriesSummary>([[rule.seriesQuery, seriesSummary({ [series]: labelNames })]]);
      cases.push({ ...c, registry: buildRegistry(ruleSet, summaries, catalog) });
    }
  }
  return cases;
}

const CASES = await buildCases();

let exporter: Exporter;
let prom: PrometheusInstance;
let evaluationTime = 0;

describe('shared and per-request evaluation give the same external metric values', () => {
  before(async () => {
    exporter = await startExporter();
    let count = 0;
    // One rate per series apart from le, every one different, so topk never meets a tie.
    const rates = new Map<string, number>();
    for (const c of CASES) {
      if (c.skip) continue;
      for (const s of seriesOf(c)) {
        const { le, ...rest } = s.labels;
        const key = `${s.name}${JSON.stringify(rest)}`;
        const rate = rates.get(key) ?? 0.5 + rates.size * 0.0625;
        rates.set(key, rate);
        // Buckets rise together, so histogram_quantile has a proper histogram.
        exporter.setRate(s.name, s.labels, rate * (le === undefined ? 1 : BUCKETS.indexOf(le) + 1), { historySeconds: 420, stepSeconds: 10 });
        count++;
      }
    }
    ({ prom, evaluationTime } = await startPinnedPrometheus(exporter, count));
  });

  after(async () => {
    await prom?.stop();
    await exporter?.close();
  });

  test('every file with external rules takes part', () => {
    // The others hold only custom rules, resourceRules or defaults.
    assert.deepEqual([...new Set(CASES.map((c) => c.file))].sort(), [
      'rules/examples/queue.yaml',
      'test/fixtures/rules/real-world/rules-03-deckhouse.yaml',
      'test/fixtures/rules/real-world/rules-07-bjw-s-home-ops.yaml',
      'test/fixtures/rules/real-world/rules-10-llm-d-wva.yaml',
      'test/fixtures/rules/shared-external.yaml',
    ]);
    assert.ok(
      CASES.some((c) => !c.skip && c.sharedKeys.length > 0),
      'no rule is evaluated shared for any selector key',
    );
  });

  test('each crafted rule is shared for exactly the labels its query keeps per partition', () => {
    const crafted = CASES.filter((c) => c.file === fileOf(CRAFTED));
    assert.deepEqual(Object.fromEntries(crafted.map((c) => [c.series, c.sharedKeys])), CRAFTED_SHARED_KEYS);
  });

  for (const c of CASES) {
    const where = `${c.file}:${c.rule.origin.line} ${c.rule.origin.path}`;
    const modes = [c.sharedKeys.length > 0 ? `shared by ${c.sharedKeys.join(', ')}` : '', c.refused.length > 0 ? `per request (${[...new Set(c.refused)].join('; ')})` : ''];
    test(`${where}: ${modes.filter((m) => m !== '').join('; ')}`, { skip: c.skip }, async (t) => {
      const registry = c.registry;
      assert.ok(registry?.external.has(c.metric), `external metric ${c.metric} is not discovered`);
      const sharedSource = new PinnedTimeSource(prom.url, evaluationTime);
      const ownSource = new PinnedTimeSource(prom.url, evaluationTime);
      const provider = (metrics: MetricsSource, sharedEvaluation: boolean) =>
        new MetricsProvider({ registry: () => registry, metrics, objects: new FakeObjectLister(), catalog: () => catalog, log: new RecordingLogger(), sharedEvaluation });
      const shared = provider(sharedSource, true);
      const perRequest = provider(ownSource, false);
      const differences: string[] = [];
      const queries: string[] = [];
      const misclassified: string[] = [];
      let answered = 0;
      let sharedRequests = 0;
      let sharedAnswered = 0;
      for (const ns of c.namespaces) {
        let namespaceWide: { query: string | undefined; outcome: Outcome } | undefined;
        for (const selector of c.selectors) {
          const requirements = parseLabelSelector(selector);
          const mode = shared.externalEvaluationMode(c.rule, requirements, ns);
          const want = await answer(perRequest, ownSource, c, ns, selector);
          const got = await answer(shared, sharedSource, c, ns, selector);
          // The empty selector comes first: its own query is the namespace-wide one.
          namespaceWide ??= { query: want.queries[0], outcome: want.outcome };
          const at = `namespace ${ns}, metric selector "${selector}" (${mode.shared ? 'shared' : 'per request'})`;
          if ('values' in want.outcome) answered++;
          if (!isDeepStrictEqual(got.outcome, want.outcome)) differences.push(`${at}: shared provider ${JSON.stringify(got.outcome)}, per request ${JSON.stringify(want.outcome)}`);
          if (mode.shared) {
            sharedRequests++;
            if ('values' in want.outcome) sharedAnswered++;
            const [sent] = got.queries;
            const keys = new Set(requirements.map((r) => r.key));
            if (sent === undefined || sent !== namespaceWide.query || selectorsOf(sent).some((s) => [...s.matchers.keys()].some((k) => keys.has(k)))) {
              queries.push(`${at}: the shared provider sent ${JSON.stringify(got.queries)}, not the namespace-wide ${namespaceWide.query ?? '(none)'}`);
            }
            // Without the classifier: a label the series carry and no namespace-wide value keeps was aggregated away.
            const nsValues = 'values' in namespaceWide.outcome ? namespaceWide.outcome.values : [];
            for (const r of requirements) {
              if (nsValues.length > 0 && nsValues.every(([labels]) => !(JSON.parse(labels) as [string, string][]).some(([k]) => k === r.key))) {
                misclassified.push(`${at}: shared on ${r.key}, which no value of the namespace-wide query keeps`);
              }
            }
          } else if (!isDeepStrictEqual(got.queries, want.queries)) {
            queries.push(`${at}: the shared provider sent ${JSON.stringify(got.queries)}, per request ${JSON.stringify(want.queries)}`);
          }
        }
      }
      t.diagnostic(`${c.namespaces.length * c.selectors.length} requests in each mode, ${sharedRequests} evaluated shared, ${answered} with values`);
      assert.ok(answered > 0, `${where}: the generated series give no values, so the comparison says nothing`);
      assert.deepEqual(differences, [], `${where}: shared evaluation answers differently from the request's own query (a bug in shared evaluation):\n${differences.join('\n')}`);
      assert.deepEqual(misclassified, [], `${where} is evaluated shared on labels its query drops:\n${misclassified.join('\n')}`);
      assert.deepEqual(queries, [], `${where}: unexpected queries:\n${queries.join('\n')}`);
      if (c.sharedKeys.length > 0) assert.ok(sharedAnswered > 0, `${where}: no request evaluated shared got values, so the comparison says nothing`);
    });
  }
});
