// The window loop of rate, increase and delta over a selected range at a moving step, written out as one loop:
// the window's bounds advance with the steps over the series' loaded samples, a counter reset inside it is known by
// the newest sample below its predecessor, and each step's value goes straight into the series' points. It computes
// what the general driver (range-call.ts, seriesWindows) computes through extrapolatedRate, in the same float
// operations in the same order, so the values are equal to the bit; only the per-step traffic through the RangeCall
// is gone.

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

/** Cells of a `sum` fold (SeriesFold's state) that the loop adds a series' values into, one cell per step. */
export interface RateStepSums {
  readonly value: Float64Array;
  readonly comp: Float64Array;
  readonly seen: Uint8Array;
  readonly dropName: Uint8Array;
}

/** Where the loop puts a series' values: its points (`pts`), or cells `cell + step` of `sums`, added as SeriesFold's
 * sum adds them (`settled`: every one of those cells already holds a value and is marked for name removal, so
 * neither needs looking at). */
export interface RateStepTarget {
  pts: RateStepPoints | null;
  sums: RateStepSums | null;
  cell: number;
  settled: boolean;
  dropName: boolean;
}

/**
 * Computes rate (`isCounter` and `isRate`), increase (`isCounter`) or delta (neither) of the `n` float samples
 * `t`/`v` (ms, ascending, no stale markers) at every step of `grid` into `out`, with the query's sample accounting
 * as seriesWindows does it: a window's samples count on top of `q.current` and raise `totals.peak`; a window above
 * the query's limit throws. Returns the number of values.
 */
export function rateSteps(
  q: QueryContext,
  t: Float64Array,
  v: Float64Array,
  n: number,
  grid: RateStepGrid,
  isCounter: boolean,
  isRate: boolean,
  out: RateStepTarget,
  totals: RateStepTotals,
): number {
  const { start, end, interval, range, offset } = grid;
  const maxSamples = q.settings.maxSamples;
  const base = q.current;
  const pts = out.pts;
  const outT = pts === null ? EMPTY_F64 : pts.t;
  const outK = pts === null ? EMPTY_I32 : pts.k;
  const outV = pts === null ? EMPTY_F64 : pts.v;
  const sums = out.sums;
  const value = sums === null ? EMPTY_F64 : sums.value;
  const comp = sums === null ? EMPTY_F64 : sums.comp;
  const seen = sums === null ? EMPTY_U8 : sums.seen;
  const drop = sums === null ? EMPTY_U8 : sums.dropName;
  // Flags as comparisons, so the loop tests machine booleans (a value read from an object, or a parameter, is tested
  // as any value would be), and the check interval as a local (an imported binding is loaded and checked each time).
  const toCells = sums !== null;
  const settled = out.settled === true;
  const dropName = out.dropName === true;
  const counter = isCounter === true;
  const perRate = isRate === true;
  const workPerCheck = WORK_PER_CHECK;
  let c = out.cell - 1;
  // The most samples a window held beside the query's others, from the query's peak so far but at most its limit,
  // so that a window above the limit is always a new highest (`totals.peak` takes it at the end).
  let highest = Math.min(totals.peak, maxSamples);
  let loaded = 0;
  // Work is a unit a step and one a sample in its window (loaded + step + 1 after the step); the deadline is
  // checked once it reaches `checkAt`.
  let checkAt = workPerCheck - 1;
  let step = -1;
  let np = 0;
  // The window is [lo, hi) of the samples; the times and values at its ends and the time of the next sample are
  // kept in locals (firstT is t[lo], lastT/lastV are t[hi − 1]/v[hi − 1], nextT is t[hi]; +Inf past the end).
  let lo = 0;
  let hi = 0;
  let firstT = n > 0 ? t[0] : Number.POSITIVE_INFINITY;
  let nextT = firstT;
  let lastT = 0;
  let lastV = 0;
  // The newest sample of a counter below the one before it, as it entered the window (−1: none yet): the window
  // holds a counter reset while that sample's predecessor is in it too (lastDrop > lo), since samples enter in order.
  let lastDrop = -1;
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
  let ts = start;
  // The loop makes no call: a deadline check that falls due, or a window above the sample limit, leaves it for the
  // code after it (the check then runs before the next step rather than inside this one).
  let over = -1;
  let checkDue = false;
  for (;;) {
    for (; ts <= end; ts += interval) {
      if (checkDue) break;
      step++;
      c++;
      const rangeEnd = ts - offset;
      const mint = rangeEnd - range;
      while (nextT <= rangeEnd) {
        const nv = v[hi];
        if (counter && nv < lastV) lastDrop = hi;
        lastT = nextT;
        lastV = nv;
        hi++;
        nextT = hi < n ? t[hi] : Number.POSITIVE_INFINITY;
      }
      while (lo < hi && firstT <= mint) {
        lo++;
        firstT = lo < n ? t[lo] : Number.POSITIVE_INFINITY;
      }
      const size = hi - lo;
      const held = base + size;
      if (held > highest) {
        highest = held;
        if (held > maxSamples) {
          over = held;
          break;
        }
      }
      loaded += size;
      if (loaded + step >= checkAt) {
        checkAt = loaded + step + workPerCheck;
        checkDue = true;
      }
      if (size < 2) continue;
      // extrapolatedRate (functions/rate.ts), operation for operation. What depends only on the window's times and
      // count is kept while they repeat, as they do from step to step on series scraped at the step's interval: the
      // same operations on the same operands, so the same bits, without their divisions.
      const firstV = v[lo];
      let result = lastV - firstV;
      if (lastDrop > lo) {
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
        windowFactor = extrapolation(sampledInterval, durationToStart, durationToEnd, perRate, rangeSeconds);
      }
      let factor = windowFactor;
      if (counter && result > 0 && firstV >= 0) {
        const durationToZero = sampledInterval * (firstV / result);
        if (durationToZero < durationToStart) {
          factor = extrapolation(sampledInterval, durationToZero, durationToEnd, perRate, rangeSeconds);
        }
      }
      const f = result * factor;
      np++;
      if (!toCells) {
        outT[np - 1] = ts;
        outK[np - 1] = step;
        outV[np - 1] = f;
        continue;
      }
      if (!settled) {
        if (seen[c] === 0) {
          seen[c] = 1;
          value[c] = f;
          comp[c] = 0;
          drop[c] = dropName ? 1 : 0;
          continue;
        }
        if (dropName) drop[c] = 1;
      }
      // SeriesFold's compensated sum, written out.
      const sum = value[c];
      const sumF = sum + f;
      let cc = comp[c];
      if (sumF === Number.POSITIVE_INFINITY || sumF === Number.NEGATIVE_INFINITY) cc = 0;
      else if (Math.abs(sum) >= Math.abs(f)) cc += sum - sumF + f;
      else cc += f - sumF + sum;
      value[c] = sumF;
      comp[c] = cc;
    }
    if (over >= 0) {
      q.set(over);
      tooManySamples();
    }
    if (!checkDue) break;
    checkDue = false;
    q.check();
  }
  if (pts !== null) pts.n = np;
  totals.loaded = loaded;
  if (highest > totals.peak) totals.peak = highest;
  return np;
}

const EMPTY_F64 = new Float64Array(0);
const EMPTY_I32 = new Int32Array(0);
const EMPTY_U8 = new Uint8Array(0);

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
