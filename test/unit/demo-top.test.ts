// The demo's `kubectl top pods` view: per pod the sum of its containers,
// rounded up as Quantity.MilliValue() and Value() round (kubectl's
// printSinglePodMetrics prints MilliValue()m and Value()/2^20 Mi).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topPods } from '../../cli/demo/render.js';
import type { PodMetricsItem } from '../../hpa/index.js';

const pod = (name: string, ...containers: Record<string, string>[]): PodMetricsItem => ({
  name,
  timestamp: 0,
  windowMs: 60_000,
  containers: containers.map((usage, i) => ({ name: `c${i}`, usage })),
});

const CASES: readonly (readonly [string, PodMetricsItem, string])[] = [
  ['nanocores round up to the next millicore', pod('a', { cpu: '100000001n', memory: '41943040' }), 'a      101m         40Mi'],
  ['containers add up before rounding', pod('a', { cpu: '500u', memory: '1Mi' }, { cpu: '600u', memory: '524288' }), 'a      2m           1Mi'],
  ['memory rounds up to whole bytes, then down to MiB', pod('a', { cpu: '0', memory: '1048575500m' }), 'a      0m           1Mi'],
  ['a container without the resource leaves it unknown', pod('a', { cpu: '1' }), 'a      1000m        <unknown>'],
];

for (const [name, item, want] of CASES) {
  test(`kubectl top view: ${name}`, () => {
    assert.deepEqual(topPods([item]), ['NAME   CPU(cores)   MEMORY(bytes)', want]);
  });
}

test('kubectl top view: pods are listed by name', () => {
  const lines = topPods([pod('web-2', { cpu: '1m', memory: '1Mi' }), pod('web-10', { cpu: '1m', memory: '1Mi' })]);
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(' ')[0]),
    ['web-10', 'web-2'],
  );
});
