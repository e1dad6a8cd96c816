// Quantities and numbers the way the controller sees them: every value goes
// through Quantity.MilliValue() into an int64 of thousandths, ratios are
// float64 divisions of those, and replica counts are int32.

import { formatMilliQuantity } from '../adapter/quantity.js';
import { tryParseQuantity } from '../rules/kube-quantity.js';
import { MAX_INT32, type Quantity } from './types.js';

/** Input the controller could never receive (a Quantity the API server would reject). */
export class HpaInputError extends Error {
  override readonly name = 'HpaInputError';
}

const NANO_PER_MILLI = 1_000_000n;
const NANO_PER_UNIT = 1_000_000_000n;
export const MAX_INT64 = (1n << 63n) - 1n;

/**
 * Quantity.MilliValue(): the value in thousandths, a fraction of a thousandth
 * rounded away from zero (apimachinery's ScaledValue rounds "up" in
 * magnitude: 0.1m reads as 1m).
 */
export function milliValue(quantity: Quantity, what: string): bigint {
  const parsed = tryParseQuantity(quantity);
  if (parsed === undefined) {
    throw new HpaInputError(`${what}: ${JSON.stringify(quantity)} is not a Kubernetes quantity`);
  }
  const whole = parsed.nano / NANO_PER_MILLI;
  const rest = parsed.nano % NANO_PER_MILLI;
  if (rest === 0n) return whole;
  return parsed.nano > 0n ? whole + 1n : whole - 1n;
}

/** Quantity.AsApproximateFloat64(), used for behavior tolerances. */
export function approximateFloat(quantity: Quantity, what: string): number {
  const parsed = tryParseQuantity(quantity);
  if (parsed === undefined) {
    throw new HpaInputError(`${what}: ${JSON.stringify(quantity)} is not a Kubernetes quantity`);
  }
  const whole = parsed.nano / NANO_PER_UNIT;
  const rest = parsed.nano % NANO_PER_UNIT;
  return Number(whole) + Number(rest) / 1e9;
}

/** resource.NewMilliQuantity(v, DecimalSI).String(), as written into status. */
export function formatMilli(milli: bigint): string {
  return formatMilliQuantity(milli);
}

/**
 * int32(math.Ceil(x)) for a replica count. Go leaves out-of-range float to int
 * conversions undefined; the newer paths of replica_calculator.go cap at
 * MaxInt32, and every path does so here.
 */
export function ceilToInt32(x: number): number {
  if (x > MAX_INT32) return MAX_INT32;
  return Math.ceil(x);
}

/** int32(x) of a float: truncation toward zero, capped like ceilToInt32. */
export function truncToInt32(x: number): number {
  if (x > MAX_INT32) return MAX_INT32;
  if (x < -MAX_INT32 - 1) return -MAX_INT32 - 1;
  return Math.trunc(x);
}

