// Numeric helpers shared by aggregations and functions: Kahan-Neumaier summation, the φ-quantile of a sample set
// and Go's math.Max/Min, all exactly as Prometheus computes them so results agree to the last bit where possible.

/** Compensated summation step: adds `inc` to `sum` with compensation `c`; writes [newSum, newC] into `out`. */
export function kahanInc(inc: number, sum: number, c: number, out: Float64Array): void {
  const t = sum + inc;
  if (t === Number.POSITIVE_INFINITY || t === Number.NEGATIVE_INFINITY) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  out[0] = t;
  out[1] = c;
}

// Ascending with NaN first, as Prometheus's vectorByValueHeap orders values.
function byValue(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a - b;
}

/**
 * The φ-quantile of `values` (sorted in place) with linear interpolation between closest ranks; NaN for no
 * values or φ NaN, -Inf for φ < 0, +Inf for φ > 1.
 */
export function quantile(q: number, values: number[] | Float64Array, n = values.length): number {
  if (n === 0 || Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = values instanceof Float64Array ? values.subarray(0, n).sort(byValue) : values.sort(byValue);
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[lower] * (1 - weight) + sorted[upper] * weight;
}

/** Go's math.Max: +Inf wins over NaN, NaN over everything else. */
export function goMax(x: number, y: number): number {
  if (x === Number.POSITIVE_INFINITY || y === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  return Math.max(x, y);
}

/** Go's math.Min: -Inf wins over NaN, NaN over everything else. */
export function goMin(x: number, y: number): number {
  if (x === Number.NEGATIVE_INFINITY || y === Number.NEGATIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  return Math.min(x, y);
}
