// Durations as Go writes them: time.Duration.String(), which is also how
// metav1.Duration (the `window` of PodMetrics and NodeMetrics) goes into
// JSON. A client decodes the text with time.ParseDuration, so "1m0s", not
// "1m" or "60s", is what a Go server would have sent for a minute.

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
