// The window loop of irate and idelta over a selected range at a moving step, written out as one loop, as
// rate-steps.ts does for rate, increase and delta: the window's bounds advance with the steps over the series' loaded
// samples and each step's value (from the window's last two samples) goes straight into the series' points or a
// `sum` fold's cells. It computes what the general driver (range-call.ts, seriesWindows) computes through
// instantValue (functions/rate.ts), in the same float operations, so the values are equal to the bit, with the same
// sample accounting.

import { addCompensated } from "./agg-state.ts";
import { type QueryContext, tooManySamples, WORK_PER_CHECK } from "./context.ts";
import type { RateStepGrid, RateStepTarget, RateStepTotals } from "./rate-steps.ts";

/**
 * Computes irate (`isRate`) or idelta of the `n` float samples `t`/`v` (ms, ascending, no stale markers) at every
 * step of `grid` into `out` (see RateStepTarget), with the query's sample accounting as seriesWindows does it: a
 * window's samples count on top of `q.current` and raise `totals.peak`; a window above the query's limit throws.
 * Returns the number of values.
 */
export function instantSteps(
  q: QueryContext,
  t: Float64Array,
  v: Float64Array,
  n: number,
  grid: RateStepGrid,
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
  // Flags as comparisons and the check interval as a local, as in rateSteps.
  const toCells = sums !== null;
  const settled = out.settled === true;
  const dropName = out.dropName === true;
  const perSecond = isRate === true;
  const workPerCheck = WORK_PER_CHECK;
  let c = out.cell - 1;
  // As in rateSteps: the most samples a window held beside the query's others, at most the limit.
  let highest = Math.min(totals.peak, maxSamples);
  let loaded = 0;
  let checkAt = workPerCheck - 1;
  let step = -1;
  let np = 0;
  // The window is [lo, hi) of the samples; firstT is t[lo] and nextT is t[hi] (+Inf past the end).
  let lo = 0;
  let hi = 0;
  let firstT = n > 0 ? t[0] : Number.POSITIVE_INFINITY;
  let nextT = firstT;
  // The value of the last two samples before `valueAt` (−1: none yet), and whether they give one (their times
  // differ); it holds while the window's newest sample does.
  let valueAt = -1;
  let result = 0;
  let valid = false;
  let ts = start;
  // As in rateSteps, the loop makes no call: a deadline check that falls due, or a window above the sample limit,
  // leaves it for the code after it.
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
      if (hi !== valueAt) {
        // instantValue (functions/rate.ts), operation for operation.
        valueAt = hi;
        const sampled = t[hi - 1] - t[hi - 2];
        valid = sampled !== 0;
        const last = v[hi - 1];
        const prev = v[hi - 2];
        result = last;
        if (!perSecond || !(last < prev)) result = last - prev;
        if (perSecond) result /= sampled / 1000;
      }
      if (!valid) continue;
      const f = result;
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
      addCompensated(value, comp, c, f);
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
