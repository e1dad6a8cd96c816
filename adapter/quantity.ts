// Values as Kubernetes Quantity strings. The HPA reads every value through
// Quantity.MilliValue(), so values are rounded to milli here, and anything a
// Quantity cannot hold (NaN, ±Inf, beyond int64 milli) never leaves this
// module as a number: callers drop NaN/Inf and huge values are capped.

/** (2^63 - 1) / 1000: the largest value whose MilliValue fits in an int64. */
const MAX_MILLI = 9_223_372_036_854_775_807n;

export class NonFiniteValueError extends Error {}

export interface MilliQuantity {
  /** The value in thousandths, rounded half away from zero and capped. */
  readonly milli: bigint;
  /** True when the value had to be capped to fit an int64 MilliValue. */
  readonly capped: boolean;
}

/** Rounds a sample to milli; throws NonFiniteValueError for NaN and ±Inf. */
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

const SUFFIXES: readonly [bigint, string][] = [
  [1_000_000_000_000_000_000n, 'E'],
  [1_000_000_000_000_000n, 'P'],
  [1_000_000_000_000n, 'T'],
  [1_000_000_000n, 'G'],
  [1_000_000n, 'M'],
  [1_000n, 'k'],
];

/**
 * The canonical DecimalSI form of a milli value, as apimachinery's
 * Quantity.String() prints it: `100m`, `1500m`, `1`, `2k`, `1200k`, `-3`.
 * Whole numbers take the largest suffix that keeps the mantissa whole.
 */
export function formatMilliQuantity(milli: bigint): string {
  if (milli === 0n) return '0';
  if (milli % 1000n !== 0n) return `${milli}m`;
  const whole = milli / 1000n;
  const abs = whole < 0n ? -whole : whole;
  for (const [factor, suffix] of SUFFIXES) {
    if (abs >= factor && abs % factor === 0n) return `${whole / factor}${suffix}`;
  }
  return `${whole}`;
}
