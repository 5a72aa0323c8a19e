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

// Signs of the zeros of the values being sorted, in input order (1 for -0).
let zeroSigns = new Uint8Array(64);

/**
 * Sorts `a[0, n)` in place as a stable sort by `byValue` would: NaN first, then ascending, zeros of either sign in
 * their input order. Hand-written (quicksort, insertion sort for short runs) because a comparator passed to a
 * built-in sort gets every value boxed, and sorting a prefix through `subarray` allocates a view per call.
 */
function sortPrefix(a: Float64Array, n: number): void {
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    if (a[i] !== 0) continue;
    if (zeros === zeroSigns.length) {
      const grown = new Uint8Array(zeros * 2);
      grown.set(zeroSigns);
      zeroSigns = grown;
    }
    zeroSigns[zeros++] = Object.is(a[i], -0) ? 1 : 0;
  }
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i];
    if (Number.isNaN(x)) {
      a[i] = a[k];
      a[k++] = x;
    }
  }
  sortRange(a, k, n - 1);
  if (zeros === 0) return;
  let z = k;
  while (a[z] !== 0) z++;
  for (let i = 0; i < zeros; i++) a[z + i] = zeroSigns[i] === 1 ? -0 : 0;
}

// Ascending sort of the NaN-free a[lo, hi] (inclusive).
function sortRange(a: Float64Array, lo: number, hi: number): void {
  while (hi - lo > 16) {
    // Median of three as the pivot.
    const mid = (lo + hi) >>> 1;
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // Recurse into the smaller part, loop on the larger one.
    if (j - lo < hi - i) {
      sortRange(a, lo, j);
      lo = i;
    } else {
      sortRange(a, i, hi);
      hi = j;
    }
  }
  for (let i = lo + 1; i <= hi; i++) {
    const x = a[i];
    let j = i - 1;
    while (j >= lo && a[j] > x) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const x = a[i];
  a[i] = a[j];
  a[j] = x;
}

/**
 * The φ-quantile of `values` (sorted in place) with linear interpolation between closest ranks; NaN for no
 * values or φ NaN, -Inf for φ < 0, +Inf for φ > 1.
 */
export function quantile(q: number, values: number[] | Float64Array, n = values.length): number {
  if (n === 0 || Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  let sorted: number[] | Float64Array;
  if (values instanceof Float64Array) {
    sortPrefix(values, n);
    sorted = values;
  } else sorted = values.sort(byValue);
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
