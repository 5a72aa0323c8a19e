// Counter and gauge change functions over a range: rate, increase, delta with Prometheus's extrapolation (and
// the anchored/smoothed variants), irate, idelta, resets, changes, deriv and predict_linear.

import { kahanInc } from "../quantile.ts";
import { interpolate } from "../selectors.ts";
import type { RangeCall, RangeFn } from "./types.ts";

/** First index in [lo, hi) of the sorted times `t` (ms) with t[i] > x (`strict`) or t[i] >= x. */
export function searchTimes(t: Float64Array, lo: number, hi: number, x: number, strict: boolean): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (strict ? t[mid] <= x : t[mid] < x) a = mid + 1;
    else b = mid;
  }
  return a;
}

// rate/increase/delta over an anchored or smoothed range: the difference between the boundary values (the
// sample at or before each boundary, or for `smoothed` the interpolation across it), corrected for resets.
function extendedRate(c: RangeCall, isCounter: boolean, isRate: boolean): boolean {
  const { t, v, lo, rangeStart, rangeEnd, smoothed } = c;
  let last = c.hi - 1;
  let first = Math.max(lo, searchTimes(t, lo, last, rangeStart, true) - 1);
  if (smoothed) last = searchTimes(t, lo, last, rangeEnd, false);
  if (t[last] <= rangeStart) return false;
  if (smoothed && t[first] > rangeEnd) return false;
  const left =
    smoothed && t[first] < rangeStart
      ? interpolate(t[first], v[first], t[first + 1], v[first + 1], rangeStart, isCounter)
      : v[first];
  const right =
    smoothed && last > lo && t[last] > rangeEnd
      ? interpolate(t[last - 1], v[last - 1], t[last], v[last], rangeEnd, isCounter)
      : v[last];
  let result = right - left;
  if (isCounter) {
    if (t[first] <= rangeStart) first++;
    if (t[last] >= rangeEnd) last--;
    let correction = 0;
    let prev = left;
    for (let i = first; i <= last; i++) {
      if (v[i] < prev) correction += prev;
      prev = v[i];
    }
    if (right < prev) correction += prev;
    result += correction;
  }
  if (isRate) result /= c.range / 1000;
  c.result = result;
  return true;
}

/**
 * rate/increase/delta: the change over the samples in the range, extrapolated towards the range boundaries (at most
 * half an average sample interval beyond the first and last sample, and never below zero for counters). Exported
 * for the range-call driver, which calls it directly for rate and increase (a call V8 can inline).
 */
export function extrapolatedRate(c: RangeCall, isCounter: boolean, isRate: boolean): boolean {
  if (c.anchored || c.smoothed) return extendedRate(c, isCounter, isRate);
  const { t, v, lo, hi } = c;
  const count = hi - lo;
  if (count < 2) return false;
  const firstT = t[lo];
  const lastT = t[hi - 1];
  let result = v[hi - 1] - v[lo];
  // Fast path: the window knows when it holds no reset at all.
  if (isCounter && c.drops !== 0) {
    for (let i = lo + 1; i < hi; i++) if (v[i] < v[i - 1]) result += v[i - 1];
  }
  let durationToStart = (firstT - c.rangeStart) / 1000;
  let durationToEnd = (c.rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (count - 1);
  const threshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= threshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    let durationToZero = durationToStart;
    if (result > 0 && v[lo] >= 0) durationToZero = sampledInterval * (v[lo] / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = 1;
  if (sampledInterval !== 0) factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= c.range / 1000;
  c.result = result * factor;
  return true;
}

/** rate(v range): per-second increase of a counter. */
export const rate: RangeFn = (c) => extrapolatedRate(c, true, true);
/** increase(v range): increase of a counter over the range. */
export const increase: RangeFn = (c) => extrapolatedRate(c, true, false);
/** delta(v range): change of a gauge over the range. */
export const delta: RangeFn = (c) => extrapolatedRate(c, false, false);

function instantValue(c: RangeCall, isRate: boolean): boolean {
  const { t, v, hi } = c;
  if (hi - c.lo < 2) return false;
  const interval = t[hi - 1] - t[hi - 2];
  if (interval === 0) return false;
  const last = v[hi - 1];
  const prev = v[hi - 2];
  let result = last;
  if (!isRate || !(last < prev)) result = last - prev;
  if (isRate) result /= interval / 1000;
  c.result = result;
  return true;
}

/** irate(v range): per-second rate from the last two samples. */
export const irate: RangeFn = (c) => instantValue(c, true);
/** idelta(v range): difference of the last two samples. */
export const idelta: RangeFn = (c) => instantValue(c, false);

/** Index of the first sample to compare: with `anchored`, the last sample at or before the range start (or the
 * first one); -1 when no sample lies after the range start. */
export function firstIndex(c: RangeCall): number {
  if (!c.anchored) return c.lo;
  const le = searchTimes(c.t, c.lo, c.hi, c.rangeStart, true) - 1;
  if (le + 1 >= c.hi) return -1;
  return Math.max(le, c.lo);
}

/** resets(v range): number of counter resets. */
export const resets: RangeFn = (c) => {
  if (c.hi === c.lo) return false;
  const first = firstIndex(c);
  if (first < 0) return false;
  let n = 0;
  for (let i = first + 1; i < c.hi; i++) if (c.v[i] < c.v[i - 1]) n++;
  c.result = n;
  return true;
};

/** changes(v range): number of value changes (NaN to NaN is no change). */
export const changes: RangeFn = (c) => {
  if (c.hi === c.lo) return false;
  const first = firstIndex(c);
  if (first < 0) return false;
  const v = c.v;
  let n = 0;
  for (let i = first + 1; i < c.hi; i++) {
    if (v[i] !== v[i - 1] && !(Number.isNaN(v[i]) && Number.isNaN(v[i - 1]))) n++;
  }
  c.result = n;
  return true;
};

const kb = new Float64Array(2);

// Least-squares fit of the window's samples; x in seconds relative to the step time (`atStep`) or else to the
// first sample's time. Writes slope and intercept into `out`. The intercept time is chosen here rather than passed
// in, as a double argument of a call that is not inlined costs an allocation.
function linearRegression(c: RangeCall, atStep: boolean, out: Float64Array): void {
  const { t, v, lo, hi } = c;
  const interceptTime = atStep ? c.ts : t[lo];
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = v[lo];
  let constY = true;
  for (let i = lo; i < hi; i++) {
    if (constY && i > lo && v[i] !== initY) constY = false;
    n += 1;
    const x = (t[i] - interceptTime) / 1e3;
    kahanInc(x, sumX, cX, kb);
    sumX = kb[0];
    cX = kb[1];
    kahanInc(v[i], sumY, cY, kb);
    sumY = kb[0];
    cY = kb[1];
    kahanInc(x * v[i], sumXY, cXY, kb);
    sumXY = kb[0];
    cXY = kb[1];
    kahanInc(x * x, sumX2, cX2, kb);
    sumX2 = kb[0];
    cX2 = kb[1];
  }
  if (constY) {
    if (initY === Number.POSITIVE_INFINITY || initY === Number.NEGATIVE_INFINITY) {
      out[0] = Number.NaN;
      out[1] = Number.NaN;
    } else {
      out[0] = 0;
      out[1] = initY;
    }
    return;
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  out[0] = slope;
  out[1] = sumY / n - (slope * sumX) / n;
}

const fit = new Float64Array(2);

/** deriv(v range): per-second derivative by linear regression. */
export const deriv: RangeFn = (c) => {
  if (c.hi - c.lo < 2) return false;
  linearRegression(c, false, fit);
  c.result = fit[0];
  return true;
};

/** predict_linear(v range, t scalar): the value `t` seconds after the step, by linear regression. */
export const predictLinear: RangeFn = (c) => {
  if (c.scalars.length === 0 || c.hi - c.lo < 2) return false;
  linearRegression(c, true, fit);
  c.result = fit[0] * c.scalars[0] + fit[1];
  return true;
};
