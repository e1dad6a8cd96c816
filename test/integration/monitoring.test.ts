// The alerts and the dashboard against the real tools and a real process:
// promtool checks and unit-tests the rules, and every metric they read is one
// a running `serve` exports on /metrics, or one docs/monitoring.md names as
// coming from elsewhere. The scrape also shows hpa_bridge_build_info and the
// standard process and Node.js names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { silentLogger } from '../../adapter/log.js';
import { REVISION_ENV } from '../../cli/build-info.js';
import { startServer, type RunningServer } from '../../cli/serve.js';
import { findPromtool } from '../support/prometheus.js';
import { testServeConfig } from '../support/serve-config.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(REPO, 'rules', 'examples');
const ruleSpec = (parseYaml(readFileSync(join(REPO, 'deploy', 'monitoring', 'prometheusrule.yaml'), 'utf8')) as { spec: { groups: { rules: { alert: string; expr: string }[] }[] } }).spec;
const dashboard = JSON.parse(readFileSync(join(REPO, 'deploy', 'monitoring', 'grafana-dashboard.json'), 'utf8')) as {
  panels: { targets?: { expr: string }[] }[];
  templating: { list: { query?: { query: string } }[] };
};
const docs = readFileSync(join(REPO, 'docs', 'monitoring.md'), 'utf8');

const alertQueries = ruleSpec.groups.flatMap((g) => g.rules.map((r) => r.expr));
// Grafana replaces $__rate_interval before the query reaches Prometheus.
const dashboardQueries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr.replaceAll('$__rate_interval', '1m')));
/** The metric of each `label_values(metric, label)` variable query. */
const variableMetrics = dashboard.templating.list.flatMap((v) => {
  const m = /^label_values\((\w+)/.exec(v.query?.query ?? '');
  return m ? [m[1] as string] : [];
});

function runPromtool(promtool: string, args: readonly string[]): { status: number | null; output: string } {
  const run = spawnSync(promtool, args, { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** The metric names a PromQL query selects, read from its syntax tree. */
function metricNames(query: string): string[] {
  const names: string[] = [];
  parser.parse(query).iterate({
    enter(node) {
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) names.push(query.slice(id.from, id.to));
      }
    },
  });
  return names;
}

/** Backquoted names in the first column of the table under `heading` in docs/monitoring.md. */
function documentedNames(heading: string): string[] {
  const start = docs.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `docs/monitoring.md has no "${heading}"`);
  const section = docs.slice(start + heading.length + 2).split(/\n#{2,3} /)[0] ?? '';
  return [...section.matchAll(/^\| `([a-z_:]+)` \|/gm)].map((m) => m[1] as string);
}

describe('the alert rules and the dashboard queries, checked by promtool', () => {
  let promtool: string;
  let dir: string;

  before(async () => {
    promtool = await findPromtool();
    dir = mkdtempSync(join(tmpdir(), 'hpa-bridge-promtool-'));
    writeFileSync(join(dir, 'rules.yaml'), stringifyYaml(ruleSpec));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test('promtool check rules accepts the alert rules', () => {
    const run = runPromtool(promtool, ['check', 'rules', join(dir, 'rules.yaml')]);
    assert.equal(run.status, 0, run.output);
    assert.match(run.output, new RegExp(`SUCCESS: ${alertQueries.length} rules found`));
  });

  test('promtool check rules rejects a rule file with a broken expression, so the check above can fail', () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, stringifyYaml({ groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'sum by (pod (up)' }] }] }));
    assert.notEqual(runPromtool(promtool, ['check', 'rules', broken]).status, 0);
  });

  test('promtool test rules passes the alert unit tests: discovery failing, rules not up to date, APIService, targets, query errors', () => {
    copyFileSync(fileURLToPath(new URL('../../../test/fixtures/monitoring/alert-tests.yaml', import.meta.url)), join(dir, 'alert-tests.yaml'));
    const run = runPromtool(promtool, ['test', 'rules', join(dir, 'alert-tests.yaml')]);
    assert.equal(run.status, 0, run.output);
  });

  test('every dashboard query parses as PromQL in promtool', () => {
    const file = join(dir, 'dashboard-queries.yaml');
    writeFileSync(file, stringifyYaml({ groups: [{ name: 'dashboard', rules: dashboardQueries.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }));
    const run = runPromtool(promtool, ['check', 'rules', file]);
    assert.equal(run.status, 0, run.output);
  });
});

describe('the metrics a running serve exports', () => {
  let server: RunningServer;
  let scrape: string;
  let exported: Set<string>;

  before(async () => {
    process.env[REVISION_ENV] = '0123abc';
    // Nothing listens on port 9: discovery fails, which changes no metric name.
    server = await startServer(testServeConfig('http://127.0.0.1:9', [EXAMPLES], { metricsPort: 0 }), silentLogger);
    const res = await fetch(`http://127.0.0.1:${String(server.metricsPort)}/metrics`);
    assert.equal(res.status, 200);
    scrape = await res.text();
    // Every family, observed or not, has a TYPE line; histograms expose three series names.
    exported = new Set([...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name as string])));
  });

  after(async () => {
    await server?.close();
    delete process.env[REVISION_ENV];
  });

  test('hpa_bridge_build_info is 1 with the package version, the revision from the environment and the Node.js version', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const line = `hpa_bridge_build_info{version="${pkg.version}",revision="0123abc",nodejs_version="${process.version}"} 1`;
    assert.ok(scrape.split('\n').includes(line), `no line ${line}`);
  });

  test('process and Node.js metrics carry their standard names, without the hpa_bridge_ prefix', () => {
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.match(scrape, new RegExp(`^${name} `, 'm'), name);
    }
    assert.doesNotMatch(scrape, /^(# (TYPE|HELP) )?hpa_bridge_(process|nodejs)_/m);
  });

  test('every metric an alert or a dashboard query reads is exported, or documented as coming from elsewhere', () => {
    const elsewhere = new Set(documentedNames('### Metrics from elsewhere'));
    const used = new Set([...alertQueries, ...dashboardQueries].flatMap(metricNames).concat(variableMetrics));
    assert.ok(used.size >= 20, `only ${String(used.size)} metric names found in the queries`);
    assert.deepEqual(
      [...used].filter((n) => !exported.has(n) && !elsewhere.has(n)),
      [],
    );
    assert.deepEqual(
      [...elsewhere].filter((n) => exported.has(n)),
      [],
      'a metric documented as coming from elsewhere is exported by hpa-bridge',
    );
    assert.deepEqual(
      [...elsewhere].filter((n) => !used.has(n)),
      [],
      'a metric documented as used by the alerts is not used',
    );
  });

  test("docs/monitoring.md lists exactly hpa-bridge's own metric families", () => {
    const families = [...scrape.matchAll(/^# TYPE (hpa_bridge_\S+) /gm)].map((m) => m[1] as string).sort();
    assert.deepEqual([...documentedNames("### hpa-bridge's metrics")].sort(), families);
  });
});
