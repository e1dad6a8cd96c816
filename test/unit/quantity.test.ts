// Quantity strings exactly as apimachinery prints them, and the values a
// Quantity cannot hold.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMilliQuantity, NonFiniteValueError, toMilli } from '../../adapter/quantity.js';

function written(value: number): string {
  return formatMilliQuantity(toMilli(value).milli);
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
    assert.equal(milli, 9_223_372_036_854_775_807n);
    assert.equal(formatMilliQuantity(milli), '9223372036854775807m');
  });

  test('a value just below the bound is kept, not capped', () => {
    const { milli, capped } = toMilli(9.21e15);
    assert.equal(capped, false);
    assert.equal(milli, 9_210_000_000_000_000_000n);
  });

  test('a value just above the bound is capped and says so', () => {
    assert.deepEqual(toMilli(9.3e15), { milli: 9_223_372_036_854_775_807n, capped: true });
  });

  test('a large negative value is capped at the negative bound', () => {
    assert.equal(toMilli(-1e20).milli, -9_223_372_036_854_775_807n);
  });

  for (const bad of [NaN, Infinity, -Infinity]) {
    test(`${bad} is refused rather than written`, () => {
      assert.throws(() => toMilli(bad), NonFiniteValueError);
    });
  }
});
