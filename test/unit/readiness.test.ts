// The readiness checks and their answer in k8s.io/apiserver's healthz format.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { discoveryCheck, formatAge, healthAnswer, healthQuery, readinessChecks, rulesCheck, type HealthCheck, type ReadinessState } from '../../cli/readiness.js';
import type { Diagnostic } from '../../rules/diagnostics.js';
import { compileYaml } from '../support/rules.js';

const NOW = Date.parse('2030-01-01T12:00:00Z');
const secondsAgo = (s: number): Date => new Date(NOW - s * 1000);

const RULES = `rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
- seriesQuery: 'queue_depth{namespace!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
externalRules:
- seriesQuery: 'queue_depth{namespace!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`;
const served = compileYaml(RULES, '/etc/hpa-bridge/rules/team-a.yaml').ruleSet;

const broken: Diagnostic = { file: '/etc/hpa-bridge/rules/team-b.yaml', line: 3, column: 8, severity: 'error', path: '', code: 'yaml-syntax', message: 'invalid YAML: secret-looking text' };

function state(over: Partial<ReadinessState> = {}): ReadinessState {
  return {
    now: NOW,
    ruleRoots: ['/etc/hpa-bridge/rules'],
    rules: { loaded: true, upToDate: true, errors: [], rejectedSince: undefined, servingSince: secondsAgo(600) },
    servedRules: served,
    discoveryDone: true,
    discovery: { errors: [], lastSuccess: secondsAgo(30), lastAttempt: secondsAgo(30) },
    objectsNotReady: undefined,
    draining: false,
    ...over,
  };
}

describe('readiness checks', () => {
  test('the compiled fixture has the rules these tests rely on', () => {
    assert.equal(served?.rules.length, 2);
    assert.equal(served?.externalRules.length, 1);
  });

  test('a healthy server passes every check without warnings', () => {
    assert.deepEqual(readinessChecks(state()), [{ name: 'rules' }, { name: 'discovery' }, { name: 'object-source' }, { name: 'shutdown' }]);
  });

  test('a rejected edit passes the rules check with a warning naming file:line:col, error code and ages', () => {
    const check = rulesCheck(state({ rules: { loaded: true, upToDate: false, errors: [broken, broken], rejectedSince: secondsAgo(42), servingSince: secondsAgo(3600) } }));
    assert.equal(check.failure, undefined);
    assert.equal(
      check.warning,
      'the last edit was rejected 42s ago: 2 errors, the first at team-b.yaml:3:8 (yaml-syntax); still serving the rules loaded 1h0m0s ago; run hpa-bridge lint for the messages',
    );
  });

  test('the rule error text itself is not shown', () => {
    const check = rulesCheck(state({ rules: { loaded: true, upToDate: false, errors: [broken], rejectedSince: secondsAgo(1), servingSince: secondsAgo(2) } }));
    assert.ok(!check.warning?.includes('secret-looking'), check.warning);
  });

  test('rules that never loaded fail the check with the first error location', () => {
    const check = rulesCheck(state({ rules: { loaded: false, upToDate: false, errors: [broken], rejectedSince: secondsAgo(5), servingSince: undefined } }));
    assert.equal(check.failure, 'the rule files do not load since 5s ago: 1 error, the first at team-b.yaml:3:8 (yaml-syntax); run hpa-bridge lint for the messages');
  });

  test('rules still loading fail the check as loading', () => {
    assert.equal(rulesCheck(state({ rules: { loaded: false, upToDate: false, errors: [], rejectedSince: undefined, servingSince: undefined } })).failure, 'the rule files are still loading');
  });

  test('a partly failed relist passes with a count, the rule locations and the error without the query', () => {
    const check = discoveryCheck(
      state({
        discovery: {
          errors: ['series query queue_depth{namespace!=""}: cannot reach Prometheus: ECONNREFUSED'],
          lastSuccess: secondsAgo(125),
          lastAttempt: secondsAgo(5),
        },
      }),
    );
    assert.equal(check.failure, undefined);
    assert.equal(
      check.warning,
      'the last relist 5s ago: 1 of 2 series queries failed (rules at team-a.yaml:5, team-a.yaml:9): cannot reach Prometheus: ECONNREFUSED; serving the last good results, last complete discovery 2m5s ago',
    );
  });

  test('identical errors of several queries are reported once', () => {
    const error = (q: string): string => `series query ${q}: cannot reach Prometheus: ECONNREFUSED`;
    const check = discoveryCheck(
      state({ discovery: { errors: [error('http_requests_total{namespace!="",pod!=""}'), error('queue_depth{namespace!=""}')], lastSuccess: undefined, lastAttempt: secondsAgo(1) } }),
    );
    assert.match(check.warning ?? '', /: 2 of 2 series queries failed \(rules at team-a\.yaml:2, team-a\.yaml:5, team-a\.yaml:9\): cannot reach Prometheus: ECONNREFUSED; /);
    assert.match(check.warning ?? '', /no relist has succeeded for every series query yet$/);
  });

  test('an error that names no served query is counted but its text is left to the log', () => {
    const check = discoveryCheck(state({ discovery: { errors: ['series query old_metric{a="b"}: boom'], lastSuccess: secondsAgo(1), lastAttempt: secondsAgo(1) } }));
    assert.match(check.warning ?? '', /1 of 2 series queries failed: the errors are in the log;/);
    assert.ok(!check.warning?.includes('old_metric'));
  });

  test('discovery that never succeeded fails the check', () => {
    const check = discoveryCheck(state({ discoveryDone: false, discovery: { errors: ['series query queue_depth{namespace!=""}: timeout'], lastSuccess: undefined, lastAttempt: secondsAgo(3) } }));
    assert.equal(check.failure, 'no metric discovery has succeeded yet; the last relist 3s ago: 1 of 2 series queries failed (rules at team-a.yaml:5, team-a.yaml:9): timeout');
  });

  test('discovery not finished yet fails the check as not finished', () => {
    assert.equal(discoveryCheck(state({ discoveryDone: false, discovery: { errors: [], lastSuccess: undefined, lastAttempt: undefined } })).failure, 'the first metric discovery has not finished');
  });

  test('an object source that is not ready and a shutdown fail their checks', () => {
    const checks = readinessChecks(state({ objectsNotReady: 'kubernetes discovery has not succeeded yet', draining: true }));
    assert.deepEqual(checks.slice(2), [
      { name: 'object-source', failure: 'kubernetes discovery has not succeeded yet' },
      { name: 'shutdown', failure: 'the process is shutting down' },
    ]);
  });
});

describe('the health answer', () => {
  const passing: HealthCheck[] = [{ name: 'rules', warning: 'w' }, { name: 'discovery' }];
  const failing: HealthCheck[] = [{ name: 'rules' }, { name: 'discovery', failure: 'why' }];

  test('all passing without verbose is a bare ok', () => {
    assert.deepEqual(healthAnswer('readyz', passing, { verbose: false, exclude: [] }), { status: 200, body: 'ok' });
  });

  test('all passing with verbose lists each check, warnings included, then "check passed"', () => {
    assert.deepEqual(healthAnswer('readyz', passing, { verbose: true, exclude: [] }), { status: 200, body: '[+]rules ok (warning: w)\n[+]discovery ok\nreadyz check passed\n' });
  });

  test('a failure is always listed, its reason withheld without verbose', () => {
    assert.deepEqual(healthAnswer('healthz', failing, { verbose: false, exclude: [] }), { status: 503, body: '[+]rules ok\n[-]discovery failed: reason withheld\nhealthz check failed\n' });
  });

  test('a failure with verbose shows its reason', () => {
    assert.equal(healthAnswer('readyz', failing, { verbose: true, exclude: [] }).body, '[+]rules ok\n[-]discovery failed: why\nreadyz check failed\n');
  });

  test('an excluded check passes, and an unknown exclusion is warned about', () => {
    assert.deepEqual(healthAnswer('readyz', failing, { verbose: true, exclude: ['discovery', 'nope', 'abc'] }), {
      status: 200,
      body: '[+]rules ok\n[+]discovery excluded: ok\nwarn: some health checks cannot be excluded: no matches for "abc","nope"\nreadyz check passed\n',
    });
  });

  test('verbose and repeated exclude come from the query string', () => {
    assert.deepEqual(healthQuery({ verbose: '', exclude: ['a', 'b'] }), { verbose: true, exclude: ['a', 'b'] });
    assert.deepEqual(healthQuery({ exclude: 'a' }), { verbose: false, exclude: ['a'] });
  });

  test('ages read like Go durations', () => {
    assert.deepEqual([formatAge(0), formatAge(59_999), formatAge(61_000), formatAge(3_600_000 + 5_000)], ['0s', '59s', '1m1s', '1h0m5s']);
  });
});
