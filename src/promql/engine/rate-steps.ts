// The window loop of rate, increase and delta over a selected range at a moving step, written out as one loop:
// the window's bounds advance with the steps over the series' loaded samples, the counter resets inside it are kept
// as a running count, and each step's value goes straight into the series' points. It computes what the general
// driver (range-call.ts, seriesWindows) computes through extrapolatedRate, in the same float operations in the same
// order, so the values are equal to the bit; only the per-step traffic through the RangeCall is gone.

import { type QueryContext, tooManySamples, WORK_PER_CHECK } from "./context.ts";

/** What the loop reports besides the points: samples the windows held in all, and the query's new peak. */
export interface RateStepTotals {
  loaded: number;
  peak: number;
}

/** Where a series' points go: step times (ms), step indices and values; `n` is set to their count. */
export interface RateStepPoints {
  readonly t: Float64Array;
  readonly k: Int32Array;
  readonly v: Float64Array;
  n: number;
}

/** The grid and window of a rate-like call: steps `start`, `start + interval`, ... ≤ `end` (ms), each over the
 * samples in (ts − offset − range, ts − offset]. */
export interface RateStepGrid {
  readonly start: number;
  readonly end: number;
  readonly interval: number;
  readonly range: number;
  readonly offset: number;
}

/**
 * Writes the points of rate (`isCounter` and `isRate`), increase (`isCounter`) or delta (neither) of the `n`
 * float samples `t`/`v` (ms, ascending, no stale markers) at every step of `grid` into `pts`, with the query's
 * sample accounting as seriesWindows does it: a window's samples count on top of `q.current` and raise `totals.peak`;
 * a window above the query's limit throws.
 */
export function rateSteps(
  q: QueryContext,
  t: Float64Array,
  v: Float64Array,
  n: number,
  grid: RateStepGrid,
  isCounter: boolean,
  isRate: boolean,
  pts: RateStepPoints,
  totals: RateStepTotals,
): void {
  const { start, end, interval, range, offset } = grid;
  const maxSamples = q.settings.maxSamples;
  const base = q.current;
  const outT = pts.t;
  const outK = pts.k;
  const outV = pts.v;
  let peak = totals.peak;
  let loaded = 0;
  let work = 0;
  let step = -1;
  let np = 0;
  let lo = 0;
  let hi = 0;
  let drops = 0;
  // The last window's times relative to its range, its count, and what extrapolatedRate derives from them.
  let keyStart = Number.NaN;
  let keyEnd = Number.NaN;
  let keySampled = Number.NaN;
  let keySize = 0;
  let sampledInterval = 0;
  let durationToStart = 0;
  let durationToEnd = 0;
  let windowFactor = 1;
  const rangeSeconds = range / 1000;
  for (let ts = start; ts <= end; ts += interval) {
    step++;
    const rangeEnd = ts - offset;
    const mint = rangeEnd - range;
    while (hi < n && t[hi] <= rangeEnd) {
      if (hi > lo && v[hi] < v[hi - 1]) drops++;
      hi++;
    }
    while (lo < hi && t[lo] <= mint) {
      if (lo + 1 < hi && v[lo + 1] < v[lo]) drops--;
      lo++;
    }
    const size = hi - lo;
    if (base + size > peak) peak = base + size;
    if (base + size > maxSamples) {
      q.set(base + size);
      tooManySamples();
    }
    work += size + 1;
    if (work >= WORK_PER_CHECK) {
      work = 0;
      q.check();
    }
    if (size === 0) continue;
    loaded += size;
    if (size < 2) continue;
    // extrapolatedRate (functions/rate.ts), operation for operation. What depends only on the window's times and
    // count is kept while they repeat, as they do from step to step on series scraped at the step's interval: the
    // same operations on the same operands, so the same bits, without their divisions.
    const firstT = t[lo];
    const lastT = t[hi - 1];
    let result = v[hi - 1] - v[lo];
    if (isCounter && drops !== 0) {
      for (let i = lo + 1; i < hi; i++) if (v[i] < v[i - 1]) result += v[i - 1];
    }
    const toStart = firstT - (ts - range - offset);
    const toEnd = rangeEnd - lastT;
    const sampled = lastT - firstT;
    if (toStart !== keyStart || toEnd !== keyEnd || sampled !== keySampled || size !== keySize) {
      keyStart = toStart;
      keyEnd = toEnd;
      keySampled = sampled;
      keySize = size;
      sampledInterval = sampled / 1000;
      const averageDurationBetweenSamples = sampledInterval / (size - 1);
      const threshold = averageDurationBetweenSamples * 1.1;
      durationToStart = toStart / 1000;
      if (durationToStart >= threshold) durationToStart = averageDurationBetweenSamples / 2;
      durationToEnd = toEnd / 1000;
      if (durationToEnd >= threshold) durationToEnd = averageDurationBetweenSamples / 2;
      windowFactor = extrapolation(sampledInterval, durationToStart, durationToEnd, isRate, rangeSeconds);
    }
    let factor = windowFactor;
    if (isCounter && result > 0 && v[lo] >= 0) {
      const durationToZero = sampledInterval * (v[lo] / result);
      if (durationToZero < durationToStart) {
        factor = extrapolation(sampledInterval, durationToZero, durationToEnd, isRate, rangeSeconds);
      }
    }
    outT[np] = ts;
    outK[np] = step;
    outV[np++] = result * factor;
  }
  pts.n = np;
  totals.loaded = loaded;
  totals.peak = peak;
}

// extrapolatedRate's factor: the sampled interval extended by the durations to the range's ends (s), per second of
// the range (`rangeSeconds`) for a rate.
function extrapolation(
  sampledInterval: number,
  durationToStart: number,
  durationToEnd: number,
  isRate: boolean,
  rangeSeconds: number,
): number {
  let factor = 1;
  if (sampledInterval !== 0) factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= rangeSeconds;
  return factor;
}
