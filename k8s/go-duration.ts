// Go's time.Duration as text, both ways. Parsing is time.ParseDuration,
// which every duration flag of a Kubernetes component goes through (pflag's
// DurationVar): a sign, then one or more decimal numbers each with a unit
// (ns, us, µs, μs, ms, s, m, h). "0" is the one number that needs no unit;
// "1.5m" is 90 s. The value is an int64 of nanoseconds, so anything past
// about 292 years is an error. Formatting is time.Duration.String(), which
// is also how metav1.Duration (the `window` of PodMetrics and NodeMetrics)
// goes into JSON: a client decodes it with time.ParseDuration, so "1m0s",
// not "1m" or "60s", is what a Go server sends for a minute. Prometheus
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
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
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
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    if (!(s.startsWith('.') || isDigit(s[0]))) throw invalid();
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
    if (s.startsWith('.')) {
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

const NANOS_PER_SECOND = 1_000_000_000n;

/** `digits` (an integer's decimal text) divided by 10^precision, trailing zeros and a bare point dropped: "1500", 3 -> "1.5". */
function withFraction(value: bigint, precision: number): string {
  const scale = 10n ** BigInt(precision);
  const whole = value / scale;
  const fraction = (value % scale).toString().padStart(precision, '0').replace(/0+$/, '');
  return fraction === '' ? `${whole}` : `${whole}.${fraction}`;
}

/**
 * time.Duration(nanos).String(): "0s", "1.5s", "2m0s", "1h0m5s", and below
 * a second "500ms", "1.5µs", "12ns".
 */
export function formatGoDuration(nanos: bigint): string {
  if (nanos === 0n) return '0s';
  const sign = nanos < 0n ? '-' : '';
  const u = nanos < 0n ? -nanos : nanos;
  if (u < NANOS_PER_SECOND) {
    if (u < 1_000n) return `${sign}${u}ns`;
    if (u < 1_000_000n) return `${sign}${withFraction(u, 3)}µs`;
    return `${sign}${withFraction(u, 6)}ms`;
  }
  const seconds = withFraction(u % (60n * NANOS_PER_SECOND), 9);
  const minutes = u / (60n * NANOS_PER_SECOND);
  if (minutes === 0n) return `${sign}${seconds}s`;
  const hours = minutes / 60n;
  if (hours === 0n) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${hours}h${minutes % 60n}m${seconds}s`;
}

/** A number of seconds (fractions to the nanosecond) as Go writes the duration: 30 -> "30s", 60 -> "1m0s", 0.25 -> "250ms". */
export function formatGoSeconds(seconds: number): string {
  return formatGoDuration(BigInt(Math.round(seconds * 1e9)));
}
