// Go's time.ParseDuration, which every duration flag of a Kubernetes
// component goes through (pflag's DurationVar): a sign, then one or more
// decimal numbers each with a unit (ns, us, µs, μs, ms, s, m, h). "0" is the
// one number that needs no unit; "1.5m" is 90 s. The value is an int64 of
// nanoseconds, so anything past about 292 years is an error. Prometheus
// durations (rules/promql.ts) are another syntax: they have d, w and y and
// no fractions.
import { goQuote } from './go-strings.js';

export class GoDurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoDurationError';
  }
}

const UNIT_NANOS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const LIMIT = 1n << 63n;

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** The nanoseconds in `text`, read exactly as time.ParseDuration reads it; throws GoDurationError with Go's message. */
export function parseGoDuration(text: string): bigint {
  const invalid = (): GoDurationError => new GoDurationError(`time: invalid duration ${goQuote(text)}`);
  let s = text;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) throw invalid();
    // The whole part: an error past 2^63, as leadingInt reports.
    let i = 0;
    let whole = 0n;
    for (; isDigit(s[i]); i++) {
      if (whole > LIMIT / 10n) throw invalid();
      whole = whole * 10n + BigInt(Number(s[i]));
      if (whole > LIMIT) throw invalid();
    }
    const before = i > 0;
    s = s.slice(i);
    // The fraction: digits past what 63 bits hold are read and dropped (leadingFraction).
    let fraction = 0n;
    let scale = 1;
    let after = false;
    if (s[0] === '.') {
      s = s.slice(1);
      let overflow = false;
      let j = 0;
      for (; isDigit(s[j]); j++) {
        if (overflow) continue;
        if (fraction > (LIMIT - 1n) / 10n) {
          overflow = true;
          continue;
        }
        const next = fraction * 10n + BigInt(Number(s[j]));
        if (next > LIMIT) {
          overflow = true;
          continue;
        }
        fraction = next;
        scale *= 10;
      }
      after = j > 0;
      s = s.slice(j);
    }
    if (!before && !after) throw invalid();
    let u = 0;
    while (u < s.length && s[u] !== '.' && !isDigit(s[u])) u++;
    if (u === 0) throw new GoDurationError(`time: missing unit in duration ${goQuote(text)}`);
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = UNIT_NANOS[unitName];
    if (unit === undefined) throw new GoDurationError(`time: unknown unit ${goQuote(unitName)} in duration ${goQuote(text)}`);
    if (whole > LIMIT / unit) throw invalid();
    let value = whole * unit;
    if (fraction > 0n) {
      // Go computes the fractional part in float64, then truncates it.
      value += BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale)));
      if (value > LIMIT) throw invalid();
    }
    total += value;
    if (total > LIMIT) throw invalid();
  }
  if (negative) return -total;
  if (total > LIMIT - 1n) throw invalid();
  return total;
}
