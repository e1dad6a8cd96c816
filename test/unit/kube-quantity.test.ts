// Resource quantities as k8s.io/apimachinery/pkg/api/resource reads them:
// values, formats and error messages of ParseQuantity, the text the API server
// writes back for JSON numbers, and numeric (never textual) comparison.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareQuantities, formatCanonical, isNonNegative, minQuantity, multiplyQuantity, parseQuantity, QuantityError, tryParseQuantity, type Quantity } from '../../k8s/quantity.js';

const FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const SUFFIX_ERROR = "unable to parse quantity's suffix";
const NUMERIC_ERROR = 'unable to parse numeric part of quantity';

const Ki = 1024n;
const Mi = Ki * Ki;
const Gi = Mi * Ki;
const Ei = Gi * Gi;
const UNIT = 1_000_000_000n; // nano units per unit

function q(text: string): Quantity {
  return parseQuantity(text);
}

describe('parseQuantity reads valid quantities exactly', () => {
  const cases: [string, bigint, Quantity['format']][] = [
    ['0', 0n, 'DecimalSI'],
    ['1', UNIT, 'DecimalSI'],
    ['+1', UNIT, 'DecimalSI'],
    ['-1', -UNIT, 'DecimalSI'],
    ['01', UNIT, 'DecimalSI'],
    ['500m', 500_000_000n, 'DecimalSI'],
    ['0.5', 500_000_000n, 'DecimalSI'],
    ['.5', 500_000_000n, 'DecimalSI'],
    ['5.', 5n * UNIT, 'DecimalSI'],
    ['1.G', UNIT * UNIT, 'DecimalSI'],
    ['100.035k', 100_035n * UNIT, 'DecimalSI'],
    ['5n', 5n, 'DecimalSI'],
    ['4u', 4000n, 'DecimalSI'],
    ['8k', 8000n * UNIT, 'DecimalSI'],
    ['7M', 7_000_000n * UNIT, 'DecimalSI'],
    ['6G', 6n * UNIT * UNIT, 'DecimalSI'],
    ['5T', 5n * 10n ** 21n, 'DecimalSI'],
    ['2P', 2n * 10n ** 24n, 'DecimalSI'],
    ['1E', 10n ** 27n, 'DecimalSI'],
    ['1Ki', Ki * UNIT, 'BinarySI'],
    ['7Mi', 7n * Mi * UNIT, 'BinarySI'],
    ['6Gi', 6n * Gi * UNIT, 'BinarySI'],
    ['5Ti', 5n * Gi * Ki * UNIT, 'BinarySI'],
    ['4Pi', 4n * Gi * Mi * UNIT, 'BinarySI'],
    ['3Ei', 3n * Ei * UNIT, 'BinarySI'],
    ['1.5Gi', 1536n * Mi * UNIT, 'BinarySI'],
    ['0.5Ki', 512n * UNIT, 'BinarySI'],
    ['0Ki', 0n, 'BinarySI'],
    ['1e3', 1000n * UNIT, 'DecimalExponent'],
    ['1E3', 1000n * UNIT, 'DecimalExponent'],
    ['1e+3', 1000n * UNIT, 'DecimalExponent'],
    ['1e-3', 1_000_000n, 'DecimalExponent'],
    ['1.3E+6', 1_300_000n * UNIT, 'DecimalExponent'],
    ['0.5e-2', 5_000_000n, 'DecimalExponent'],
    ['-1.5e3', -1500n * UNIT, 'DecimalExponent'],
  ];
  for (const [text, nano, format] of cases) {
    test(`"${text}" is ${nano} nano units in ${format}`, () => {
      const parsed = parseQuantity(text);
      assert.equal(parsed.nano, nano);
      assert.equal(parsed.format, format);
      assert.equal(parsed.text, text);
    });
  }
});

describe('parseQuantity rounds finer-than-nano values away from zero like ParseQuantity', () => {
  const cases: [string, bigint, Quantity['format']][] = [
    ['0.1n', 1n, 'DecimalSI'],
    ['3.001n', 4n, 'DecimalSI'],
    ['-3.001n', -4n, 'DecimalSI'],
    ['0.00000012345', 124n, 'DecimalSI'],
    ['1.1E-9', 2n, 'DecimalExponent'],
    ['1e-3000', 1n, 'DecimalExponent'],
    // 1.024e-9: rounds up to 2n and, being below 1, leaves BinarySI.
    ['0.000000000001Ki', 2n, 'DecimalSI'],
    ['0.0001Ki', 102_400_000n, 'DecimalSI'],
    // rounding happens before the "below one" test, so this stays BinarySI
    ['0.00097656249999Ki', UNIT, 'BinarySI'],
  ];
  for (const [text, nano, format] of cases) {
    test(`"${text}" becomes ${nano}n in ${format}`, () => {
      const parsed = parseQuantity(text);
      assert.equal(parsed.nano, nano);
      assert.equal(parsed.format, format);
    });
  }
});

describe('parseQuantity accepts what the apimachinery scanner accepts, not only what its regexp suggests', () => {
  const zeros: [string, Quantity['format']][] = [
    ['.', 'DecimalSI'],
    ['-.', 'DecimalSI'],
    ['+', 'DecimalSI'],
    ['-0', 'DecimalSI'],
    ['m', 'DecimalSI'],
    ['Ki', 'BinarySI'],
    ['e5', 'DecimalExponent'],
  ];
  for (const [text, format] of zeros) {
    test(`"${text}" is a zero in ${format}`, () => {
      const parsed = parseQuantity(text);
      assert.equal(parsed.nano, 0n);
      assert.equal(parsed.format, format);
    });
  }
});

describe('parseQuantity rejects malformed quantities with the apimachinery message', () => {
  const cases: [string, string][] = [
    ['', FORMAT_ERROR],
    [' 1', FORMAT_ERROR],
    ['1 ', FORMAT_ERROR],
    ['0x10', FORMAT_ERROR],
    ['1,000', FORMAT_ERROR],
    ['NaN', FORMAT_ERROR],
    ['Inf', FORMAT_ERROR],
    ['1.2.3', FORMAT_ERROR],
    ['1e3e3', FORMAT_ERROR],
    ['1e3Mi', FORMAT_ERROR],
    ['1µ', FORMAT_ERROR],
    ['1K', SUFFIX_ERROR],
    ['1ki', SUFFIX_ERROR],
    ['1e', SUFFIX_ERROR],
    ['1e+', SUFFIX_ERROR],
    ['1i', SUFFIX_ERROR],
    ['0.1mi', SUFFIX_ERROR],
    ['--1', SUFFIX_ERROR],
    ['+-1', SUFFIX_ERROR],
    ['1Mi2', SUFFIX_ERROR],
    ['1ee3', SUFFIX_ERROR],
    ['1e99999999999999999999', SUFFIX_ERROR],
    ['e-10', NUMERIC_ERROR],
    ['Pi', NUMERIC_ERROR],
  ];
  for (const [text, message] of cases) {
    test(`${JSON.stringify(text)} is refused with "${message.slice(0, 40)}"`, () => {
      assert.throws(
        () => parseQuantity(text),
        (err: unknown) => {
          assert.ok(err instanceof QuantityError);
          assert.equal(err.message, message);
          return true;
        },
      );
      assert.equal(tryParseQuantity(text), undefined);
    });
  }
});

describe('compareQuantities compares values, not strings', () => {
  const cases: [string, string, -1 | 0 | 1][] = [
    ['1Gi', '900Mi', 1],
    ['1Gi', '1073741824', 0],
    ['1Gi', '1073741825', -1],
    ['1G', '1Gi', -1],
    ['0.1', '100m', 0],
    ['0.5', '500m', 0],
    ['1e3', '1k', 0],
    ['1E3', '1000', 0],
    ['1e-3', '1m', 0],
    ['1.5Gi', '1536Mi', 0],
    ['1024Ki', '1Mi', 0],
    ['100m', '50m', 1],
    ['9', '10', -1],
    ['-1', '1m', -1],
    ['-2', '-1', -1],
    ['0', '-0', 0],
    ['1Ki', '1k', 1],
    ['10000T', '100Gi', 1],
    ['0.1n', '1n', 0],
  ];
  for (const [a, b, want] of cases) {
    test(`"${a}" compared with "${b}" is ${want}`, () => {
      assert.equal(compareQuantities(q(a), q(b)), want);
      assert.equal(compareQuantities(q(b), q(a)), want === 0 ? 0 : -want);
    });
  }
});

describe('very large quantities compare by their exact value', () => {
  const cases: [string, string, -1 | 0 | 1][] = [
    // apimachinery caps BinarySI at 2^63-1, so to it both sides are 9223372036854775807.
    ['10Ei', '9Ei', 1],
    ['10Ei', '9223372036854775808', 1],
    ['10Ei', '11529215046068469760', 0],
    ['1e30', '10Ei', 1],
    ['1e30', '1000000000000000000000000000000', 0],
    ['1e30', '1000000000000E', 0],
    ['1e30', '1e29', 1],
    ['-1e30', '-10Ei', -1],
    ['1e999', '1e998', 1],
  ];
  for (const [a, b, want] of cases) {
    test(`"${a}" compared with "${b}" is ${want}`, () => {
      assert.equal(compareQuantities(q(a), q(b)), want);
    });
  }

  test('"10Ei" keeps its uncapped value', () => {
    assert.equal(q('10Ei').nano, 10n * Ei * UNIT);
  });

  const refused: [string, RegExp][] = [
    ['1e1000', /1e1000 or more/],
    ['-1e1000', /1e1000 or more/],
    ['1e4294967296', /32-bit/],
    ['1e-2147483649', /32-bit/],
  ];
  for (const [text, message] of refused) {
    test(`"${text}" is refused rather than given a value apimachinery would not agree on`, () => {
      assert.throws(() => parseQuantity(text), message);
      assert.equal(tryParseQuantity(text), undefined);
    });
  }
});

describe('minQuantity returns one of its inputs untouched', () => {
  const cases: [string, string, string][] = [
    ['1Gi', '900Mi', '900Mi'],
    ['900Mi', '1Gi', '900Mi'],
    ['500m', '0.5', '500m'],
    ['0.5', '500m', '0.5'],
    ['1e3', '1k', '1e3'],
    ['2', '1500m', '1500m'],
    ['-1', '0', '-1'],
  ];
  for (const [a, b, want] of cases) {
    test(`min of "${a}" and "${b}" is "${want}"`, () => {
      const qa = q(a);
      const qb = q(b);
      const min = minQuantity(qa, qb);
      assert.equal(min.text, want);
      assert.ok(min === qa || min === qb);
    });
  }
});

describe('multiplyQuantity writes canonical quantities', () => {
  const cases: [string, number, string, Quantity['format']][] = [
    ['250m', 2, '500m', 'DecimalSI'],
    ['128Mi', 1.5, '192Mi', 'BinarySI'],
    ['100m', 1.5, '150m', 'DecimalSI'],
    ['1', 2, '2', 'DecimalSI'],
    ['500m', 2, '1', 'DecimalSI'],
    ['1', 1000, '1k', 'DecimalSI'],
    ['1Gi', 2, '2Gi', 'BinarySI'],
    ['1Gi', 1, '1Gi', 'BinarySI'],
    ['512Mi', 2, '1Gi', 'BinarySI'],
    ['1Ki', 1.5, '1536', 'DecimalSI'],
    ['1Ki', 1.1, '1126400m', 'DecimalSI'],
    ['1Ki', 0.25, '256', 'DecimalSI'],
    ['0.5Ki', 1, '512', 'DecimalSI'],
    ['100m', 1.1, '110m', 'DecimalSI'],
    ['1e3', 2, '2k', 'DecimalSI'],
    ['1', 1 / 3, '333333334n', 'DecimalSI'],
    ['1n', 0.5, '1n', 'DecimalSI'],
    ['-1n', 0.5, '-1n', 'DecimalSI'],
    ['1.5', 2, '3', 'DecimalSI'],
    ['1E', 1000, '1000E', 'DecimalSI'],
    ['1Ei', 1024, '1024Ei', 'BinarySI'],
    ['0', 3, '0', 'DecimalSI'],
  ];
  for (const [text, factor, want, format] of cases) {
    test(`"${text}" times ${factor} is "${want}"`, () => {
      const product = multiplyQuantity(q(text), factor);
      assert.equal(product.text, want);
      assert.equal(product.format, format);
      assert.equal(parseQuantity(product.text).nano, product.nano);
    });
  }

  const badFactors = [0, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const factor of badFactors) {
    test(`a factor of ${factor} is refused`, () => {
      assert.throws(() => multiplyQuantity(q('1'), factor), QuantityError);
    });
  }

  test('a product of 1e1000 or more is refused', () => {
    assert.throws(() => multiplyQuantity(q('1e999'), 10), QuantityError);
  });
});

describe('formatCanonical writes values as Quantity.String() does', () => {
  const cases: [bigint, 'DecimalSI' | 'BinarySI', string][] = [
    [0n, 'DecimalSI', '0'],
    [0n, 'BinarySI', '0'],
    [UNIT, 'DecimalSI', '1'],
    [1_500_000_000n, 'DecimalSI', '1500m'],
    [2000n * UNIT, 'DecimalSI', '2k'],
    [1_200_000n * UNIT, 'DecimalSI', '1200k'],
    [1500n * UNIT, 'DecimalSI', '1500'],
    [100_000_000n, 'DecimalSI', '100m'],
    [1n, 'DecimalSI', '1n'],
    [10n, 'DecimalSI', '10n'],
    [1000n, 'DecimalSI', '1u'],
    [-250_000_000n, 'DecimalSI', '-250m'],
    [10n ** 27n, 'DecimalSI', '1E'],
    // apimachinery writes "1" here, which is another value; the suffix is kept instead
    [10n ** 30n, 'DecimalSI', '1000E'],
    [1536n * Mi * UNIT, 'BinarySI', '1536Mi'],
    [Mi * UNIT, 'BinarySI', '1Mi'],
    [1025n * Ki * UNIT, 'BinarySI', '1025Ki'],
    [1536n * UNIT, 'BinarySI', '1536'],
    [512n * UNIT, 'BinarySI', '512'],
    [1024n * UNIT, 'BinarySI', '1Ki'],
    [-2n * Gi * UNIT, 'BinarySI', '-2Gi'],
    [1_126_400_000_000n, 'BinarySI', '1126400m'],
    [Ei * Ki * UNIT, 'BinarySI', '1024Ei'],
  ];
  for (const [nano, format, want] of cases) {
    test(`${nano} nano units in ${format} are written "${want}"`, () => {
      assert.equal(formatCanonical(nano, format), want);
      assert.equal(parseQuantity(want).nano, nano);
    });
  }
});

describe('tryParseQuantity takes JSON numbers as the API server decodes them', () => {
  const cases: [number, string, bigint, Quantity['format']][] = [
    [1, '1', UNIT, 'DecimalSI'],
    [0, '0', 0n, 'DecimalSI'],
    [-0, '0', 0n, 'DecimalSI'],
    [0.5, '500m', 500_000_000n, 'DecimalSI'],
    [0.1, '100m', 100_000_000n, 'DecimalSI'],
    [2, '2', 2n * UNIT, 'DecimalSI'],
    [-1, '-1', -UNIT, 'DecimalSI'],
    [1000, '1k', 1000n * UNIT, 'DecimalSI'],
    [1500, '1500', 1500n * UNIT, 'DecimalSI'],
    [128974848, '128974848', 128_974_848n * UNIT, 'DecimalSI'],
    // String() keeps "123.456": its scale is a multiple of three
    [123.456, '123.456', 123_456_000_000n, 'DecimalSI'],
    [0.30000000000000004, '300000001n', 300_000_001n, 'DecimalSI'],
    [1e21, '1e+21', 10n ** 30n, 'DecimalExponent'],
    [1e-7, '100e-9', 100n, 'DecimalExponent'],
    [5e-324, '1e-9', 1n, 'DecimalExponent'],
  ];
  for (const [value, text, nano, format] of cases) {
    test(`the number ${value} is the quantity "${text}"`, () => {
      const parsed = tryParseQuantity(value);
      assert.ok(parsed);
      assert.equal(parsed.text, text);
      assert.equal(parsed.nano, nano);
      assert.equal(parsed.format, format);
      assert.equal(parseQuantity(parsed.text).nano, nano);
    });
  }

  const rejected: [string, unknown][] = [
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['null', null],
    ['undefined', undefined],
    ['a boolean', true],
    ['a bigint', 1n],
    ['an object', { cpu: '1' }],
    ['a string with spaces', ' 1 '],
  ];
  for (const [name, value] of rejected) {
    test(`${name} is not a quantity`, () => {
      assert.equal(tryParseQuantity(value), undefined);
    });
  }

  test('a string is parsed and keeps its text', () => {
    const parsed = tryParseQuantity('1.5Gi');
    assert.equal(parsed?.text, '1.5Gi');
    assert.equal(parsed?.nano, 1536n * Mi * UNIT);
  });
});

describe('isNonNegative looks at the value', () => {
  const cases: [string, boolean][] = [
    ['0', true],
    ['-0', true],
    ['-.', true],
    ['1m', true],
    ['-1n', false],
    ['-0.1n', false],
    ['-1Ki', false],
  ];
  for (const [text, want] of cases) {
    test(`"${text}" is ${want ? '' : 'not '}non-negative`, () => {
      assert.equal(isNonNegative(q(text)), want);
    });
  }
});
