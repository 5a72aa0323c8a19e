// Aggregations of one series over a range: the *_over_time family, ts_of_*_over_time, mad_over_time,
// present_over_time, absent_over_time and double_exponential_smoothing.

import { invalidQuantileWarning } from "../annotations.ts";
import { evalError } from "../context.ts";
import { kahanInc, quantile } from "../quantile.ts";
import type { RangeCall, RangeFn } from "./types.ts";

const kb = new Float64Array(2);
let scratch = new Float64Array(64);

// The window's values copied into a reused buffer (by a loop: a subarray view would be an allocation per step).
function copyValues(c: RangeCall): Float64Array {
  const n = c.hi - c.lo;
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  const v = c.v;
  const lo = c.lo;
  for (let i = 0; i < n; i++) scratch[i] = v[lo + i];
  return scratch;
}

/** avg_over_time: the mean, summed directly while the sum stays finite, incrementally after. */
export const avgOverTime: RangeFn = (c) => {
  const { v, lo, hi } = c;
  let sum = v[lo];
  let count = 1;
  let mean = 0;
  let comp = 0;
  let incremental = false;
  for (let i = lo + 1; i < hi; i++) {
    count = i - lo + 1;
    if (!incremental) {
      kahanInc(v[i], sum, comp, kb);
      if (kb[0] !== Number.POSITIVE_INFINITY && kb[0] !== Number.NEGATIVE_INFINITY) {
        sum = kb[0];
        comp = kb[1];
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      comp /= count - 1;
    }
    const q = (count - 1) / count;
    kahanInc(v[i] / count, q * mean, q * comp, kb);
    mean = kb[0];
    comp = kb[1];
  }
  c.result = incremental ? mean + comp : sum / count + comp / count;
  return true;
};

/** sum_over_time. */
export const sumOverTime: RangeFn = (c) => {
  let sum = 0;
  let comp = 0;
  for (let i = c.lo; i < c.hi; i++) {
    kahanInc(c.v[i], sum, comp, kb);
    sum = kb[0];
    comp = kb[1];
  }
  c.result = sum === Number.POSITIVE_INFINITY || sum === Number.NEGATIVE_INFINITY ? sum : sum + comp;
  return true;
};

/** count_over_time. */
export const countOverTime: RangeFn = (c) => {
  c.result = c.hi - c.lo;
  return true;
};

// Which sample `extreme` keeps: the first maximum, the first minimum, the last maximum or the last minimum.
const MAX = 0;
const MIN = 1;
const LAST_MAX = 2;
const LAST_MIN = 3;

// Scans for the extreme value (a NaN best is replaced by anything); writes the value or, with `timestamp`, its
// time (s). The comparison is chosen by `mode` inside the loop rather than passed as a function, which V8 would
// call with boxed doubles.
function extreme(c: RangeCall, mode: number, timestamp: boolean): boolean {
  const { t, v, lo, hi } = c;
  let best = v[lo];
  let bestT = t[lo];
  for (let i = lo; i < hi; i++) {
    const cur = v[i];
    let better: boolean;
    switch (mode) {
      case MAX:
        better = cur > best;
        break;
      case MIN:
        better = cur < best;
        break;
      case LAST_MAX:
        better = cur >= best;
        break;
      default:
        better = cur <= best;
    }
    if (better || Number.isNaN(best)) {
      best = cur;
      bestT = t[i];
    }
  }
  c.result = timestamp ? bestT / 1000 : best;
  return true;
}

/** max_over_time (NaN only when every value is NaN). */
export const maxOverTime: RangeFn = (c) => extreme(c, MAX, false);
/** min_over_time. */
export const minOverTime: RangeFn = (c) => extreme(c, MIN, false);
/** ts_of_max_over_time: timestamp (s) of the last occurrence of the maximum. */
export const tsOfMaxOverTime: RangeFn = (c) => extreme(c, LAST_MAX, true);
/** ts_of_min_over_time: timestamp (s) of the last occurrence of the minimum. */
export const tsOfMinOverTime: RangeFn = (c) => extreme(c, LAST_MIN, true);

/** first_over_time: the oldest value in the range. */
export const firstOverTime: RangeFn = (c) => {
  c.result = c.v[c.lo];
  return true;
};

/** last_over_time: the newest value in the range. */
export const lastOverTime: RangeFn = (c) => {
  c.result = c.v[c.hi - 1];
  return true;
};

/** ts_of_first_over_time: timestamp (s) of the oldest sample. */
export const tsOfFirstOverTime: RangeFn = (c) => {
  c.result = c.t[c.lo] / 1000;
  return true;
};

/** ts_of_last_over_time: timestamp (s) of the newest sample. */
export const tsOfLastOverTime: RangeFn = (c) => {
  c.result = c.t[c.hi - 1] / 1000;
  return true;
};

function variance(c: RangeCall): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let i = c.lo; i < c.hi; i++) {
    const f = c.v[i];
    count++;
    const delta = f - (mean + cMean);
    kahanInc(delta / count, mean, cMean, kb);
    mean = kb[0];
    cMean = kb[1];
    kahanInc(delta * (f - (mean + cMean)), aux, cAux, kb);
    aux = kb[0];
    cAux = kb[1];
  }
  return (aux + cAux) / count;
}

/** stdvar_over_time: population variance. */
export const stdvarOverTime: RangeFn = (c) => {
  c.result = variance(c);
  return true;
};

/** stddev_over_time: population standard deviation. */
export const stddevOverTime: RangeFn = (c) => {
  c.result = Math.sqrt(variance(c));
  return true;
};

/** quantile_over_time(φ scalar, v range). */
export const quantileOverTime: RangeFn = (c) => {
  if (c.scalars.length === 0) return false;
  const q = c.scalars[0];
  if (Number.isNaN(q) || q < 0 || q > 1) c.annotate(invalidQuantileWarning(q, c.node.args[0].pos));
  c.result = quantile(q, copyValues(c), c.hi - c.lo);
  return true;
};

/** mad_over_time: median absolute deviation from the median; NaN when a value is NaN. */
export const madOverTime: RangeFn = (c) => {
  const n = c.hi - c.lo;
  for (let i = c.lo; i < c.hi; i++) {
    if (Number.isNaN(c.v[i])) {
      c.result = Number.NaN;
      return true;
    }
  }
  const values = copyValues(c);
  const median = quantile(0.5, values, n);
  for (let i = 0; i < n; i++) values[i] = Math.abs(values[i] - median);
  c.result = quantile(0.5, values, n);
  return true;
};

/** present_over_time: 1 for a series with samples in the range. */
export const presentOverTime: RangeFn = (c) => {
  c.result = 1;
  return true;
};

/** absent_over_time: 1 per series with samples; the evaluator turns this into the absence series. */
export const absentOverTime: RangeFn = (c) => {
  c.result = 1;
  return true;
};

// Go's %f.
function formatFixed(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return v.toFixed(6);
}

/** double_exponential_smoothing(v range, sf scalar, tf scalar): Holt's linear smoothing. */
export const doubleExponentialSmoothing: RangeFn = (c) => {
  if (c.scalars.length < 2) return false;
  const sf = c.scalars[0];
  const tf = c.scalars[1];
  if (sf <= 0 || sf >= 1) evalError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${formatFixed(sf)}`);
  if (tf <= 0 || tf >= 1) evalError(`invalid trend factor. Expected: 0 < tf < 1, got: ${formatFixed(tf)}`);
  const { v, lo, hi } = c;
  if (hi - lo < 2) return false;
  let s0 = 0;
  let s1 = v[lo];
  let b = v[lo + 1] - v[lo];
  for (let i = lo + 1; i < hi; i++) {
    const x = sf * v[i];
    // The trend at the previous point (the first trend is the first difference).
    if (i - lo - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  c.result = s1;
  return true;
};
