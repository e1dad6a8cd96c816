// Series names to metric names: filters, matches and the `as` expansion.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { metricNameForSeries } from '../../rules/naming.js';
import { onlyRule } from '../support/rules.js';

const ruleWithName = (name: string, filters = ''): ReturnType<typeof onlyRule> =>
  onlyRule(`rules:
- seriesQuery: '{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
${filters}  name: ${name}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`);

describe('metric names from series names', () => {
  const cases: { name: string; mapping: string; series: string; want: string | undefined }[] = [
    { name: 'no matches and no as keeps the whole series name', mapping: '{}', series: 'http_requests_total', want: 'http_requests_total' },
    { name: 'an empty matches is the same as .*', mapping: '{matches: "", as: ""}', series: 'up', want: 'up' },
    { name: 'one capture group is used when as is empty', mapping: '{matches: "^(.*)_total$"}', series: 'http_requests_total', want: 'http_requests' },
    { name: 'a pattern without groups uses the whole name', mapping: '{matches: "^.*_queue$"}', series: 'work_queue', want: 'work_queue' },
    { name: 'as expands ${1} followed by text', mapping: '{matches: "^(.*)_total$", as: "${1}_per_second"}', series: 'http_requests_total', want: 'http_requests_per_second' },
    { name: 'as with $0 keeps the whole match', mapping: '{matches: "_total$", as: "x$0"}', series: 'a_total', want: 'x_total' },
    { name: 'a fixed as renames every matching series', mapping: '{matches: ".*", as: "rps_1m"}', series: 'ingress_nginx_detail_requests_total', want: 'rps_1m' },
    { name: 'matches is unanchored, like the reference', mapping: '{matches: "requests"}', series: 'http_requests_total', want: 'requests' },
    { name: 'a series the pattern does not match is skipped', mapping: '{matches: "^(.*)_total$"}', series: 'http_latency_seconds', want: undefined },
    { name: 'named groups can be used by name', mapping: '{matches: "^(?P<base>.*)_total$", as: "${base}_rate"}', series: 'x_total', want: 'x_rate' },
    { name: 'case-insensitive flags are honoured', mapping: '{matches: "(?i)^HTTP_(.*)$"}', series: 'http_requests', want: 'requests' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(metricNameForSeries(ruleWithName(c.mapping), c.series), c.want);
    });
  }

  test('an isNot filter drops matching series', () => {
    const rule = ruleWithName('{matches: "^(.*)_total$"}', '  seriesFilters:\n  - isNot: "^.*_seconds_total$"\n');
    assert.equal(metricNameForSeries(rule, 'cpu_seconds_total'), undefined);
    assert.equal(metricNameForSeries(rule, 'requests_total'), 'requests');
  });

  test('an is filter keeps only matching series', () => {
    const rule = ruleWithName('{}', '  seriesFilters:\n  - is: "^http_"\n');
    assert.equal(metricNameForSeries(rule, 'grpc_calls'), undefined);
    assert.equal(metricNameForSeries(rule, 'http_calls'), 'http_calls');
  });

  test('filters are ANDed', () => {
    const rule = ruleWithName('{}', '  seriesFilters:\n  - is: "^http_"\n  - isNot: "_bucket$"\n');
    assert.equal(metricNameForSeries(rule, 'http_latency_bucket'), undefined);
    assert.equal(metricNameForSeries(rule, 'http_latency_sum'), 'http_latency_sum');
  });
});
