// Quantities and numbers the way the controller sees them: every value goes
// through Quantity.MilliValue() into an int64 of thousandths, ratios are
// float64 divisions of those, and replica counts are int32.

import * as resource from '../k8s/quantity.js';
import { MAX_INT32 } from './types.js';

/** Input the controller could never receive (a Quantity the API server would reject). */
export class HpaInputError extends Error {
  override readonly name = 'HpaInputError';
}

export const MAX_INT64 = (1n << 63n) - 1n;

function parse(quantity: resource.QuantityJson, what: string): resource.Quantity {
  const parsed = resource.tryParseQuantity(quantity);
  if (parsed === undefined) {
    throw new HpaInputError(`${what}: ${JSON.stringify(quantity)} is not a Kubernetes quantity`);
  }
  return parsed;
}

/** Quantity.MilliValue() of a manifest's quantity. */
export function milliValue(quantity: resource.QuantityJson, what: string): bigint {
  return resource.milliValue(parse(quantity, what));
}

/** Quantity.AsApproximateFloat64(), used for behavior tolerances. */
export function approximateFloat(quantity: resource.QuantityJson, what: string): number {
  return resource.approximateFloat64(parse(quantity, what));
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
