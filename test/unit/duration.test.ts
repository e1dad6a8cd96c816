// Durations written as Go's time.Duration.String() writes them, which is
// the JSON form of metav1.Duration.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatGoDuration, formatGoSeconds } from '../../k8s/duration.js';

const table: [bigint, string][] = [
  [0n, '0s'],
  [1n, '1ns'],
  [1_500n, '1.5µs'],
  [250_000_000n, '250ms'],
  [1_000_000_000n, '1s'],
  [1_500_000_000n, '1.5s'],
  [30_000_000_000n, '30s'],
  [60_000_000_000n, '1m0s'],
  [270_000_000_000n, '4m30s'],
  [3_600_000_000_000n, '1h0m0s'],
  [3_605_000_000_000n, '1h0m5s'],
  [-90_000_000_000n, '-1m30s'],
];
for (const [nanos, text] of table) {
  test(`${nanos}ns is written ${text}`, () => {
    assert.equal(formatGoDuration(nanos), text);
  });
}

test('seconds are taken to the nanosecond', () => {
  assert.deepEqual([formatGoSeconds(300), formatGoSeconds(0.25), formatGoSeconds(120)], ['5m0s', '250ms', '2m0s']);
});
