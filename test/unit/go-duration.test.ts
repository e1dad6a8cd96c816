// Go's time.ParseDuration and time.Duration.String(). The parse cases are
// those of Go's own src/time/time_test.go (parseDurationTests,
// parseDurationErrorTests), with the expected nanoseconds written out.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration, formatGoSeconds, GoDurationError, parseGoDuration } from '../../k8s/go-duration.js';

const ns = 1n;
const us = 1_000n;
const ms = 1_000_000n;
const s = 1_000_000_000n;
const m = 60n * s;
const h = 60n * m;
const MAX = (1n << 63n) - 1n;
const MIN = -(1n << 63n);

const valid: [string, bigint][] = [
  ['0', 0n],
  ['5s', 5n * s],
  ['30s', 30n * s],
  ['1478s', 1478n * s],
  ['-5s', -5n * s],
  ['+5s', 5n * s],
  ['-0', 0n],
  ['+0', 0n],
  ['5.0s', 5n * s],
  ['5.6s', 5n * s + 600n * ms],
  ['5.s', 5n * s],
  ['.5s', 500n * ms],
  ['1.0s', s],
  ['1.00s', s],
  ['1.004s', s + 4n * ms],
  ['1.0040s', s + 4n * ms],
  ['100.00100s', 100n * s + ms],
  ['10ns', 10n * ns],
  ['11us', 11n * us],
  ['12µs', 12n * us],
  ['12μs', 12n * us],
  ['13ms', 13n * ms],
  ['14s', 14n * s],
  ['15m', 15n * m],
  ['16h', 16n * h],
  ['3h30m', 3n * h + 30n * m],
  ['10.5s4m', 4n * m + 10n * s + 500n * ms],
  ['-2m3.4s', -(2n * m + 3n * s + 400n * ms)],
  ['1h2m3s4ms5us6ns', h + 2n * m + 3n * s + 4n * ms + 5n * us + 6n * ns],
  ['39h9m14.425s', 39n * h + 9n * m + 14n * s + 425n * ms],
  ['52763797000ns', 52763797000n],
  ['0.3333333333333333333h', 20n * m],
  ['9007199254740993ns', (1n << 53n) + 1n],
  ['9223372036854775807ns', MAX],
  ['9223372036854775.807us', MAX],
  ['9223372036s854ms775us807ns', MAX],
  ['-9223372036854775808ns', MIN],
  ['-9223372036854775.808us', MIN],
  ['-9223372036s854ms775us808ns', MIN],
  ['-2562047h47m16.854775808s', MIN],
  ['0.100000000000000000000h', 6n * m],
  ['0.830103483285477580700h', 49n * m + 48n * s + 372539827n],
  // The forms flags are usually given in.
  ['1.5m', 90n * s],
  ['1h2m3.5s', h + 2n * m + 3n * s + 500n * ms],
  ['300ms', 300n * ms],
  ['1.5ms', 1_500_000n],
];

const invalid: [string, RegExp][] = [
  ['', /^time: invalid duration ""$/],
  ['3', /^time: missing unit in duration "3"$/],
  ['1', /^time: missing unit in duration "1"$/],
  ['-', /^time: invalid duration "-"$/],
  ['s', /^time: invalid duration "s"$/],
  ['.', /^time: invalid duration "."$/],
  ['-.', /^time: invalid duration "-."$/],
  ['.s', /^time: invalid duration ".s"$/],
  ['+.s', /^time: invalid duration "\+.s"$/],
  ['1d', /^time: unknown unit "d" in duration "1d"$/],
  ['1w', /^time: unknown unit "w" in duration "1w"$/],
  ['5 s', /^time: unknown unit " s" in duration "5 s"$/],
  ['9223372036854775810ns', /^time: invalid duration/],
  ['9223372036854775808ns', /^time: invalid duration/],
  ['-9223372036854775809ns', /^time: invalid duration/],
  ['9223372036854776us', /^time: invalid duration/],
  ['3000000h', /^time: invalid duration/],
  ['9223372036854775.808us', /^time: invalid duration/],
  ['9223372036854ms775us808ns', /^time: invalid duration/],
];

describe('Go durations', () => {
  for (const [text, want] of valid) {
    test(`${JSON.stringify(text)} is ${want} ns`, () => {
      assert.equal(parseGoDuration(text), want);
    });
  }
  for (const [text, message] of invalid) {
    test(`${JSON.stringify(text)} is refused with Go's message`, () => {
      assert.throws(
        () => parseGoDuration(text),
        (e: unknown) => e instanceof GoDurationError && message.test(e.message),
      );
    });
  }
});

// Written as Go's time.Duration.String() writes them, the JSON form of metav1.Duration.
const formatTable: [bigint, string][] = [
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
for (const [nanos, text] of formatTable) {
  test(`${nanos}ns is written ${text}`, () => {
    assert.equal(formatGoDuration(nanos), text);
  });
}

test('seconds are taken to the nanosecond', () => {
  assert.deepEqual([formatGoSeconds(300), formatGoSeconds(0.25), formatGoSeconds(120)], ['5m0s', '250ms', '2m0s']);
});

test('every formatted duration parses back to the same nanoseconds', () => {
  for (const [nanos] of formatTable) assert.equal(parseGoDuration(formatGoDuration(nanos)), nanos, formatGoDuration(nanos));
});
