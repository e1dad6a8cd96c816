// Kubernetes resource quantities ("500m", "1.5Gi", "1e3"), parsed, compared
// and written the way k8s.io/apimachinery/pkg/api/resource does, so that the
// webhook never disagrees with the API server about what a request means, the
// HPA simulator reads values as the controller does, and the metrics APIs
// write values as custom-metrics-apiserver does.
//
// Values are held as exact bigints in nano units (1e-9), the finest scale a
// Quantity keeps, so "1Gi" > "900Mi", "0.5" == "500m" and "1e3" == "1k" hold
// however the strings are spelled.

import { parseGoInt64 } from './go-strings.js';

export class QuantityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuantityError';
  }
}

/** A Quantity as JSON carries it: a string, or a number (UnmarshalJSON accepts both). */
export type QuantityJson = string | number;

/** A parsed Quantity. */
export interface Quantity {
  /** The string as written; the webhook copies it unchanged into patches. */
  readonly text: string;
  /**
   * The value in units of 1e-9. Exact for every value with up to 9 fractional
   * digits; finer values have their magnitude rounded up (away from zero), the
   * rounding ParseQuantity applies (inf.RoundUp on the absolute value), so
   * "0.1n" is 1 and "-3.001n" is -4, as the API server stores them.
   */
  readonly nano: bigint;
  readonly format: 'DecimalSI' | 'BinarySI' | 'DecimalExponent';
}

type Format = Quantity['format'];

// apimachinery's ErrFormatWrong quotes splitREString; the character class there
// ends in "P" (a lone "E" suffix is still accepted, through the suffix table).
const FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const SUFFIX_ERROR = "unable to parse quantity's suffix";
const NUMERIC_ERROR = 'unable to parse numeric part of quantity';

// apimachinery converts an "e" exponent with int32(...), so 1e4294967296 means 1
// to the API server; rather than copy that wrap-around, such strings are refused.
const EXPONENT_RANGE_ERROR = "quantity's exponent is outside the 32-bit range apimachinery can hold";

// apimachinery accepts "1e2000000000" and keeps it as (1, 2000000000); an exact
// bigint of it would take close to a gigabyte. Nothing a Quantity accessor returns
// (Value, MilliValue: int64) comes near this limit, so it only stops absurd input.
const MAX_DIGITS = 1000;
const TOO_LARGE_ERROR = `quantities of 1e${MAX_DIGITS} or more in magnitude are not supported`;
const NANO_LIMIT = 10n ** BigInt(MAX_DIGITS + 9);

const NANO_PER_UNIT = 1_000_000_000n;
const NANO_PER_MILLI = 1_000_000n;
const INT64_MAX = (1n << 63n) - 1n;
const INT32_MAX = 2n ** 31n - 1n;
const INT32_MIN = -(2n ** 31n);

// suffix.go: the decimal and binary tables; anything else starting with e/E is
// an exponent.
const DECIMAL_SUFFIXES = new Map<string, number>([
  ['n', -9],
  ['u', -6],
  ['m', -3],
  ['', 0],
  ['k', 3],
  ['M', 6],
  ['G', 9],
  ['T', 12],
  ['P', 15],
  ['E', 18],
]);
const BINARY_SUFFIXES = new Map<string, number>([
  ['Ki', 10],
  ['Mi', 20],
  ['Gi', 30],
  ['Ti', 40],
  ['Pi', 50],
  ['Ei', 60],
]);
const DECIMAL_SUFFIX_BY_EXPONENT = new Map<number, string>([...DECIMAL_SUFFIXES].map(([suffix, exponent]) => [exponent, suffix]));
const BINARY_SUFFIX_BY_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'] as const;

const SUFFIX_LETTERS = 'eEinumkKMGTP';

interface Scanned {
  positive: boolean;
  /** Sign and number as written, e.g. "-.5"; inf.Dec parses this on the slow path. */
  value: string;
  /** Integer digits without leading zeros, "0" when none are left. */
  num: string;
  denom: string;
  suffix: string;
}

interface Suffix {
  base: 2 | 10;
  exponent: number;
  format: Format;
}

interface Parsed {
  scanned: Scanned;
  suffix: Suffix;
  nano: bigint;
  format: Format;
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

// A port of parseQuantityString. ParseQuantity never applies the regular
// expression in its error message; this scanner is what decides, and it is
// looser: "+", "-", ".", "m", "Ki" and "e5" all scan as zero and are accepted
// by the API server, while "--1" is a suffix error rather than a format error.
function scan(str: string): Scanned {
  let positive = true;
  let pos = 0;
  const end = str.length;

  if (pos < end) {
    if (str.startsWith('-')) {
      positive = false;
      pos++;
    } else if (str.startsWith('+')) {
      pos++;
    }
  }

  for (let i = pos; ; i++) {
    if (i >= end) {
      return { positive, value: '0', num: '0', denom: '', suffix: '' };
    }
    if (str[i] !== '0') break;
    pos++;
  }

  let num = '';
  for (let i = pos; ; i++) {
    if (i >= end) {
      return { positive, value: str, num: str.slice(pos), denom: '', suffix: '' };
    }
    if (!isDigit(str[i])) {
      num = str.slice(pos, i);
      pos = i;
      break;
    }
  }
  if (num === '') num = '0';

  let denom = '';
  if (pos < end && str[pos] === '.') {
    pos++;
    for (let i = pos; ; i++) {
      if (i >= end) {
        return { positive, value: str, num, denom: str.slice(pos), suffix: '' };
      }
      if (!isDigit(str[i])) {
        denom = str.slice(pos, i);
        pos = i;
        break;
      }
    }
  }
  const value = str.slice(0, pos);

  const suffixStart = pos;
  for (let i = pos; ; i++) {
    if (i >= end) {
      return { positive, value, num, denom, suffix: str.slice(suffixStart) };
    }
    if (!SUFFIX_LETTERS.includes(str[i] as string)) {
      pos = i;
      break;
    }
  }
  if (pos < end && (str[pos] === '-' || str[pos] === '+')) pos++;
  for (let i = pos; ; i++) {
    if (i >= end) {
      return { positive, value, num, denom, suffix: str.slice(suffixStart) };
    }
    if (!isDigit(str[i])) break;
  }
  throw new QuantityError(FORMAT_ERROR);
}

// suffixHandler.interpret: table lookups first, so "E" is exa while "E3" is
// an exponent; the exponent text must satisfy strconv.ParseInt(s, 10, 64).
function interpretSuffix(suffix: string): Suffix {
  const decimal = DECIMAL_SUFFIXES.get(suffix);
  if (decimal !== undefined) return { base: 10, exponent: decimal, format: 'DecimalSI' };
  const binary = BINARY_SUFFIXES.get(suffix);
  if (binary !== undefined) return { base: 2, exponent: binary, format: 'BinarySI' };
  if (suffix.length > 1 && (suffix.startsWith('e') || suffix.startsWith('E'))) {
    const exponent = parseGoInt64(suffix.slice(1));
    if (exponent === undefined) throw new QuantityError(SUFFIX_ERROR);
    if (exponent < INT32_MIN || exponent > INT32_MAX) throw new QuantityError(EXPONENT_RANGE_ERROR);
    return { base: 10, exponent: Number(exponent), format: 'DecimalExponent' };
  }
  throw new QuantityError(SUFFIX_ERROR);
}

// ParseQuantity's int64 fast path. Returns undefined where apimachinery falls
// back to inf.Dec, otherwise whether the parsed Quantity keeps the original
// string as its String() (it does when the text is already "canonical enough").
function fastPath(scanned: Scanned, suffix: Suffix): { keepsText: boolean } | undefined {
  const { num, denom } = scanned;
  let precision: number;
  let scale: number;
  let mantissa = 1n;
  if (suffix.base === 10) {
    scale = suffix.exponent;
    precision = 18 - (num.length + denom.length);
  } else {
    scale = 0;
    if (denom.length !== 0) return undefined;
    mantissa = 1n << BigInt(suffix.exponent);
    // "1Mi (2^20) has ~6 digits of decimal precision" in apimachinery's words.
    precision = 15 - num.length - Math.trunc((suffix.exponent * 3) / 10) - 1;
  }
  if (precision < 0) return undefined;
  scale -= denom.length;
  if (scale < -9) return undefined;
  const shifted = num + denom;
  const value = BigInt(shifted);
  if (value * mantissa > INT64_MAX) return undefined;
  if (suffix.base === 2) {
    return { keepsText: suffix.exponent % 10 === 0 && (value & 7n) !== 0n };
  }
  return {
    keepsText: scale % 3 === 0 && !shifted.endsWith('000') && !shifted.startsWith('0'),
  };
}

function stripLeadingZeros(digits: string): string {
  let i = 0;
  while (i < digits.length && digits[i] === '0') i++;
  return digits.slice(i);
}

function countTrailingZeros(digits: string): number {
  let i = digits.length;
  while (i > 0 && digits[i - 1] === '0') i--;
  return digits.length - i;
}

function ceilDivAbs(n: bigint, d: bigint): bigint {
  const q = n / d;
  return n % d === 0n ? q : q + 1n;
}

// The exact value of sign * num.denom * base^exponent in nano units. Works on
// the digit string so that "1e-2000000000" costs nothing (it is 1n, as
// apimachinery rounds it) and only values below NANO_LIMIT are materialised.
function toNano(scanned: Scanned, suffix: Suffix): bigint {
  let digits = stripLeadingZeros(scanned.num + scanned.denom);
  if (digits === '') return 0n;
  let exp10 = (suffix.base === 10 ? suffix.exponent : 0) - scanned.denom.length;
  const trailing = countTrailingZeros(digits);
  digits = digits.slice(0, digits.length - trailing);
  exp10 += trailing;
  const shift = suffix.base === 2 ? BigInt(suffix.exponent) : 0n;

  if (digits.length - 1 + exp10 >= MAX_DIGITS) throw new QuantityError(TOO_LARGE_ERROR);

  const nanoExp = exp10 + 9;
  let magnitude: bigint;
  if (nanoExp >= 0) {
    magnitude = (BigInt(digits) << shift) * 10n ** BigInt(nanoExp);
  } else if (-nanoExp >= digits.length + 19) {
    // digits * 2^60 < 10^(length + 19): the value is below one nano unit.
    magnitude = 1n;
  } else if (shift === 0n) {
    // Trailing zeros are gone, so the digits cut off here are never all zero.
    const kept = digits.length + nanoExp;
    magnitude = kept <= 0 ? 1n : BigInt(digits.slice(0, kept)) + 1n;
  } else {
    magnitude = ceilDivAbs(BigInt(digits) << shift, 10n ** BigInt(-nanoExp));
  }
  if (magnitude >= NANO_LIMIT) throw new QuantityError(TOO_LARGE_ERROR);
  return scanned.positive ? magnitude : -magnitude;
}

function parseInternal(text: string): Parsed {
  if (text.length === 0) throw new QuantityError(FORMAT_ERROR);
  const scanned = scan(text);
  const suffix = interpretSuffix(scanned.suffix);
  // inf.Dec.SetString needs a digit; apimachinery only calls it off the fast
  // path, so "e-9" is zero but "e-10" and "Pi" are numeric errors.
  if (!/[0-9]/.test(scanned.value) && fastPath(scanned, suffix) === undefined) {
    throw new QuantityError(NUMERIC_ERROR);
  }
  const nano = toNano(scanned, suffix);
  // ParseQuantity demotes BinarySI to DecimalSI for 0 < |v| < 1 (after
  // rounding to nano). It also caps BinarySI magnitudes above 2^63-1 ("10Ei"
  // is stored and printed as 9223372036854775807); that cap is NOT applied
  // here, so comparisons see the value the string spells.
  let format = suffix.format;
  if (format === 'BinarySI' && nano !== 0n && abs(nano) < NANO_PER_UNIT) format = 'DecimalSI';
  return { scanned, suffix, nano, format };
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

function makeQuantity(text: string, nano: bigint, format: Format): Quantity {
  return Object.freeze({ text, nano, format });
}

export function parseQuantity(text: string): Quantity {
  if (typeof text !== 'string') throw new QuantityError(FORMAT_ERROR);
  // ParseQuantity's own shortcut; every other zero keeps its suffix's format.
  if (text === '0') return makeQuantity(text, 0n, 'DecimalSI');
  const parsed = parseInternal(text);
  return makeQuantity(text, parsed.nano, parsed.format);
}

/**
 * Strings as parseQuantity (no whitespace trimming, although the API server's
 * UnmarshalJSON trims: a padded string is left to the API server to judge).
 * JSON numbers as UnmarshalJSON treats them: the number's text goes through
 * ParseQuantity, and the text kept is what the API server would write back,
 * Quantity.String(): 0.5 -> "500m", 1 -> "1", 123.456 -> "123.456".
 * The JSON token is gone once parsed, so a number is re-spelled as JavaScript's
 * shortest round-trip form (1e21 -> "1e+21"), the same value.
 */
export function tryParseQuantity(value: unknown): Quantity | undefined {
  try {
    if (typeof value === 'string') return parseQuantity(value);
    if (typeof value === 'number' && Number.isFinite(value)) {
      const raw = String(value);
      const parsed = parseInternal(raw);
      return makeQuantity(serverString(raw, parsed), parsed.nano, parsed.format);
    }
    return undefined;
  } catch (err) {
    if (err instanceof QuantityError) return undefined;
    throw err;
  }
}

// Quantity.String() of a freshly parsed Quantity: the original text when the
// fast path kept it, the canonical form otherwise.
function serverString(text: string, parsed: Parsed): string {
  if (text === '0') return '0';
  if (fastPath(parsed.scanned, parsed.suffix)?.keepsText) return text;
  return canonical(parsed.nano, parsed.format);
}

export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  if (a.nano < b.nano) return -1;
  if (a.nano > b.nano) return 1;
  return 0;
}

export function minQuantity(a: Quantity, b: Quantity): Quantity {
  return compareQuantities(b, a) < 0 ? b : a;
}

export function isNonNegative(q: Quantity): boolean {
  return q.nano >= 0n;
}

/**
 * q * factor as a canonical quantity. The factor is taken as the decimal
 * JavaScript prints for it (1.1 is eleven tenths, not the nearest double), and
 * a product finer than 1n has its magnitude rounded up, as ParseQuantity
 * would round it.
 */
export function multiplyQuantity(q: Quantity, factor: number): Quantity {
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor <= 0) {
    throw new QuantityError(`factor must be a finite number greater than 0, got ${String(factor)}`);
  }
  const match = /^([0-9]+)(?:\.([0-9]+))?(?:e([+-][0-9]+))?$/.exec(String(factor));
  if (match === null) throw new QuantityError(`factor ${String(factor)} is not a decimal number`);
  const fraction = match[2] ?? '';
  const coefficient = BigInt((match[1] ?? '') + fraction);
  const exp10 = Number(match[3] ?? '0') - fraction.length;

  const product = q.nano * coefficient;
  let nano: bigint;
  if (exp10 >= 0) {
    nano = product * 10n ** BigInt(exp10);
  } else {
    const magnitude = ceilDivAbs(abs(product), 10n ** BigInt(-exp10));
    nano = product < 0n ? -magnitude : magnitude;
  }
  if (abs(nano) >= NANO_LIMIT) throw new QuantityError(TOO_LARGE_ERROR);

  const text = canonical(nano, q.format === 'BinarySI' ? 'BinarySI' : 'DecimalSI');
  const result = parseQuantity(text);
  if (result.nano !== nano) {
    throw new Error(`internal error: ${text} does not spell ${nano}n`);
  }
  return result;
}

/**
 * Quantity.MilliValue(): the value in thousandths, a fraction of a thousandth
 * rounded away from zero (ScaledValue rounds "up" in magnitude: 0.1m reads
 * as 1m).
 */
export function milliValue(q: Quantity): bigint {
  const whole = q.nano / NANO_PER_MILLI;
  if (q.nano % NANO_PER_MILLI === 0n) return whole;
  return q.nano > 0n ? whole + 1n : whole - 1n;
}

/** Quantity.AsApproximateFloat64(). */
export function approximateFloat64(q: Quantity): number {
  const whole = q.nano / NANO_PER_UNIT;
  const rest = q.nano % NANO_PER_UNIT;
  return Number(whole) + Number(rest) / 1e9;
}

/** resource.NewMilliQuantity(milli, DecimalSI).String(): `100m`, `1500m`, `1`, `2k`, `1200k`, `-3`. */
export function formatMilli(milli: bigint): string {
  return canonical(milli * NANO_PER_MILLI, 'DecimalSI');
}

/** (2^63 - 1) / 1000: the largest value whose MilliValue fits in an int64. */
const MAX_MILLI = 9_223_372_036_854_775_807n;

/** A number that is not a value a Quantity can hold (NaN, ±Inf). */
export class NonFiniteValueError extends Error {}

interface MilliQuantity {
  /** The value in thousandths, rounded half away from zero and capped. */
  readonly milli: bigint;
  /** True when the value had to be capped to fit an int64 MilliValue. */
  readonly capped: boolean;
}

/**
 * A float sample in thousandths, for a Quantity whose MilliValue() the HPA
 * reads. Anything a Quantity cannot hold never comes out as a number: NaN and
 * ±Inf throw NonFiniteValueError, values beyond an int64 MilliValue are capped.
 */
export function toMilli(value: number): MilliQuantity {
  if (!Number.isFinite(value)) throw new NonFiniteValueError(`value ${value} is not a finite number`);
  const scaled = value * 1000;
  if (Math.abs(scaled) >= 1e19) {
    return { milli: scaled < 0 ? -MAX_MILLI : MAX_MILLI, capped: true };
  }
  // Math.round rounds -0.5 towards +inf; round half away from zero instead.
  const rounded = BigInt(Math.sign(scaled) * Math.round(Math.abs(scaled)));
  if (rounded > MAX_MILLI) return { milli: MAX_MILLI, capped: true };
  if (rounded < -MAX_MILLI) return { milli: -MAX_MILLI, capped: true };
  return { milli: rounded, capped: false };
}

/** A usage value as a resource metrics API writes it, and whether it had to be capped. */
export interface UsageQuantity {
  readonly text: string;
  /** True when the value was beyond what an int64 MilliValue can hold, and was capped. */
  readonly capped: boolean;
}

/** `value` in units of 10^-decimals, rounded half away from zero; capped so that MilliValue() fits an int64. */
function scaledUsage(value: number, decimals: number): { scaled: bigint; capped: boolean } {
  if (!Number.isFinite(value)) throw new NonFiniteValueError(`value ${value} is not a finite number`);
  const limit = decimals >= 3 ? MAX_MILLI * 10n ** BigInt(decimals - 3) : MAX_MILLI / 10n ** BigInt(3 - decimals);
  const scaled = value * 10 ** decimals;
  if (Math.abs(scaled) >= 1e28) return { scaled: scaled < 0 ? -limit : limit, capped: true };
  const rounded = BigInt(Math.sign(scaled) * Math.round(Math.abs(scaled)));
  if (rounded > limit) return { scaled: limit, capped: true };
  if (rounded < -limit) return { scaled: -limit, capped: true };
  return { scaled: rounded, capped: false };
}

/**
 * CPU cores as metrics-server writes them: whole nanocores
 * (resource.NewScaledQuantity(n, resource.Nano)), canonical, so
 * 0.012345678 is "12345678n", 0.25 is "250m" and 2 is "2". NaN and ±Inf
 * throw NonFiniteValueError.
 */
export function formatCores(value: number): UsageQuantity {
  const { scaled, capped } = scaledUsage(value, 9);
  return { text: canonical(scaled, 'DecimalSI'), capped };
}

/**
 * Memory as metrics-server writes it: whole bytes
 * (resource.NewQuantity(bytes, resource.BinarySI)), so 1048576 is "1Mi"
 * and 123456789.4 is "123456789"; never milli-bytes. NaN and ±Inf throw
 * NonFiniteValueError.
 */
export function formatBytes(value: number): UsageQuantity {
  const { scaled, capped } = scaledUsage(value, 0);
  return { text: canonical(scaled * NANO_PER_UNIT, 'BinarySI'), capped };
}

/** Canonical text of a value, as Quantity.String() writes it for that format. */
export function formatCanonical(nano: bigint, format: 'DecimalSI' | 'BinarySI'): string {
  return canonical(nano, format);
}

// CanonicalizeBytes. Two deliberate differences: apimachinery drops the suffix
// when none exists for the exponent (1000E prints as "1", and 2^70 BinarySI as
// "1"), which changes the value; here the mantissa grows under the largest
// suffix instead ("1000E", "1024Ei"), which parses back to the same value.
function canonical(nano: bigint, format: Format): string {
  if (nano === 0n) return '0';
  const sign = nano < 0n ? '-' : '';
  const magnitude = abs(nano);

  if (format === 'BinarySI') {
    // Between -1024 and 1024, or with a fraction, BinarySI would round: so it
    // is written as DecimalSI.
    if (magnitude >= 1024n * NANO_PER_UNIT && magnitude % NANO_PER_UNIT === 0n) {
      let units = magnitude / NANO_PER_UNIT;
      let power = 0;
      while (power < BINARY_SUFFIX_BY_POWER.length - 1 && units >= 1024n && units % 1024n === 0n) {
        units /= 1024n;
        power++;
      }
      return `${sign}${units}${BINARY_SUFFIX_BY_POWER[power] ?? ''}`;
    }
    format = 'DecimalSI';
  }

  // AsCanonicalBytes: move factors of ten into the exponent, then lower the
  // exponent to a multiple of three.
  let mantissa = magnitude;
  let exponent = -9;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  const extra = ((exponent % 3) + 3) % 3;
  mantissa *= 10n ** BigInt(extra);
  exponent -= extra;

  if (format === 'DecimalExponent') {
    return `${sign}${mantissa}${exponent === 0 ? '' : `e${exponent}`}`;
  }
  if (exponent > 18) {
    mantissa *= 10n ** BigInt(exponent - 18);
    exponent = 18;
  }
  return `${sign}${mantissa}${DECIMAL_SUFFIX_BY_EXPONENT.get(exponent) ?? ''}`;
}
