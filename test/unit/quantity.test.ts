// Sample values as the metrics APIs write them: rounded to thousandths (the
// HPA reads every value through Quantity.MilliValue()), written as
// apimachinery's Quantity.String() prints a DecimalSI milli quantity, and
// refused when a Quantity cannot hold them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatMilli, NonFiniteValueError, parseQuantity, toMilli } from '../../k8s/quantity.js';

const MAX_MILLI = 9_223_372_036_854_775_807n;

function written(value: number): string {
  return formatMilli(toMilli(value).milli);
}

describe('a sample value is written as a canonical quantity', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [0.1, '100m'],
    [1.5, '1500m'],
    [1, '1'],
    [2000, '2k'],
    [1500, '1500'],
    [1200000, '1200k'],
    [3e6, '3M'],
    [5e9, '5G'],
    [-3, '-3'],
    [-0.25, '-250m'],
    [0.30000000000000004, '300m'],
    [0.0004, '0'],
    [0.0005, '1m'],
    [-0.0005, '-1m'],
    [123.4567, '123457m'],
    [1e-9, '0'],
  ];
  for (const [value, want] of cases) {
    test(`${value} is written ${want}`, () => assert.equal(written(value), want));
  }

  test('a value past what MilliValue can hold is capped, not wrapped', () => {
    const { milli, capped } = toMilli(1e20);
    assert.equal(capped, true);
    assert.equal(milli, MAX_MILLI);
    assert.equal(formatMilli(milli), '9223372036854775807m');
  });

  test('a value just below the bound is kept, not capped', () => {
    const { milli, capped } = toMilli(9.21e15);
    assert.equal(capped, false);
    assert.equal(milli, 9_210_000_000_000_000_000n);
  });

  test('a value just above the bound is capped and says so', () => {
    assert.deepEqual(toMilli(9.3e15), { milli: MAX_MILLI, capped: true });
  });

  test('a large negative value is capped at the negative bound', () => {
    assert.equal(toMilli(-1e20).milli, -MAX_MILLI);
  });

  for (const bad of [NaN, Infinity, -Infinity]) {
    test(`${bad} is refused rather than written`, () => {
      assert.throws(() => toMilli(bad), NonFiniteValueError);
    });
  }
});

// A second, deliberately plain spelling of NewMilliQuantity(m, DecimalSI).String():
// thousandths keep the "m" suffix, whole numbers take the largest decimal
// suffix that leaves the mantissa whole.
function plainMilliText(milli: bigint): string {
  if (milli === 0n) return '0';
  if (milli % 1000n !== 0n) return `${milli}m`;
  const whole = milli / 1000n;
  const magnitude = whole < 0n ? -whole : whole;
  const suffixes: [bigint, string][] = [
    [10n ** 18n, 'E'],
    [10n ** 15n, 'P'],
    [10n ** 12n, 'T'],
    [10n ** 9n, 'G'],
    [10n ** 6n, 'M'],
    [10n ** 3n, 'k'],
  ];
  for (const [factor, suffix] of suffixes) {
    if (magnitude % factor === 0n) return `${whole / factor}${suffix}`;
  }
  return `${whole}`;
}

// Values of every size, with runs of trailing zeros so that every suffix is hit.
const milliValues = fc
  .tuple(fc.bigInt({ min: -(10n ** 19n), max: 10n ** 19n }), fc.integer({ min: 0, max: 21 }))
  .map(([mantissa, zeros]) => mantissa * 10n ** BigInt(zeros))
  .filter((m) => m >= -MAX_MILLI && m <= MAX_MILLI);

describe('formatMilli on random values', () => {
  test('writes what a plain suffix table writes', () => {
    fc.assert(
      fc.property(milliValues, (m) => formatMilli(m) === plainMilliText(m)),
      { numRuns: 100_000 },
    );
  });

  test('writes text that parses back to the same value', () => {
    fc.assert(
      fc.property(milliValues, (m) => parseQuantity(formatMilli(m)).nano === m * 1_000_000n),
      { numRuns: 20_000 },
    );
  });
});
