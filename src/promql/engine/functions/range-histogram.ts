// Range functions over series that hold native histograms. The range-call driver uses these only for such series
// (float series keep the fast path): rate, increase and delta of counter and gauge histograms with Prometheus's
// extrapolation, irate and idelta, resets and changes across floats and histograms, sum/avg/first/last_over_time of
// histograms, and for the functions that read floats only, the floats of the window with the histograms left out
// (with Prometheus's info when both kinds were in the range).

import { CounterResetHint, type Histogram } from "../../../model/histogram.ts";
import {
  addHistograms,
  detectReset,
  divHistogram,
  histogramsEqual,
  mulHistogram,
  withHint,
} from "../../../model/histogram-arith.ts";
import { compact, emptyHistogram, usesCustomBuckets } from "../../../model/histogram-buckets.ts";
import { HistogramKahanSum, HistogramMean } from "../../../model/histogram-kahan.ts";
import {
  type Annotation,
  histogramCounterResetCollisionWarning,
  histogramIgnoredInMixedRangeInfo,
  mismatchedCustomBucketsHistogramsInfo,
  mixedExponentialCustomHistogramsWarning,
  mixedFloatsHistogramsWarning,
  nativeHistogramNotCounterWarning,
  nativeHistogramNotGaugeWarning,
} from "../annotations.ts";
import { interpolateHistograms } from "../histogram-interpolate.ts";
import { firstIndex, searchTimes } from "./rate.ts";
import type { RangeCall, RangeFn } from "./types.ts";

/** Functions that look only at timestamps or sample counts: they run unchanged over any kind of sample. */
const KIND_BLIND = new Set([
  "count_over_time",
  "present_over_time",
  "absent_over_time",
  "ts_of_first_over_time",
  "ts_of_last_over_time",
]);

/** Float-only functions that say so (an info) when they left histograms out of a range holding floats too. */
const MIXED_INFO = new Set([
  "min_over_time",
  "max_over_time",
  "ts_of_min_over_time",
  "ts_of_max_over_time",
  "quantile_over_time",
  "stddev_over_time",
  "stdvar_over_time",
  "mad_over_time",
]);

function metricOf(c: RangeCall): string {
  return c.labels.metricName();
}

function rangePos(c: RangeCall) {
  return c.node.args[0]?.pos ?? null;
}

function histAt(c: RangeCall, i: number): Histogram | undefined {
  return c.h === null ? undefined : c.h[i];
}

function countKinds(c: RangeCall, from: number): { floats: number; hists: number } {
  let hists = 0;
  for (let i = from; i < c.hi; i++) if (histAt(c, i) !== undefined) hists++;
  return { floats: c.hi - from - hists, hists };
}

// The floats of a window, reused from call to call (evaluation is synchronous).
let scratchT = new Float64Array(64);
let scratchV = new Float64Array(64);

// Runs `fn` over the floats of the window only (histograms left out); restores the call afterwards.
function overFloats(c: RangeCall, fn: RangeFn): boolean {
  const size = c.hi - c.lo;
  if (scratchT.length < size) {
    scratchT = new Float64Array(size * 2);
    scratchV = new Float64Array(size * 2);
  }
  const t = scratchT;
  const v = scratchV;
  let k = 0;
  for (let i = c.lo; i < c.hi; i++) {
    if (histAt(c, i) !== undefined) continue;
    t[k] = c.t[i];
    v[k++] = c.v[i];
  }
  const saved = { t: c.t, v: c.v, lo: c.lo, hi: c.hi, n: c.n, drops: c.drops, h: c.h };
  c.t = t;
  c.v = v;
  c.lo = 0;
  c.hi = k;
  c.n = k;
  c.drops = -1;
  c.h = null;
  try {
    return k > 0 && fn(c);
  } finally {
    c.t = saved.t;
    c.v = saved.v;
    c.lo = saved.lo;
    c.hi = saved.hi;
    c.n = saved.n;
    c.drops = saved.drops;
    c.h = saved.h;
  }
}

// The result of histogram arithmetic, with its annotations; null (after a warning) for incompatible schemas.
function combine(c: RangeCall, a: Histogram, b: Histogram, subtract: boolean): Histogram | null {
  const r = addHistograms(a, b, subtract);
  if (r === null) {
    c.annotate(mixedExponentialCustomHistogramsWarning(metricOf(c), rangePos(c)));
    return null;
  }
  if (r.nhcbBoundsReconciled) {
    c.annotate(mismatchedCustomBucketsHistogramsInfo(subtract ? "subtraction" : "addition", rangePos(c)));
  }
  return r.h;
}

// Prometheus's histogramRate: the increase from the first to the last histogram of the window, corrected for
// counter resets (isCounter), as a gauge histogram; null when it cannot be computed (annotated).
function histogramIncrease(c: RangeCall, isCounter: boolean): Histogram | null {
  const lo = c.lo;
  const hi = c.hi;
  const metric = metricOf(c);
  const pos = rangePos(c);
  const first = histAt(c, lo) as Histogram;
  const last = histAt(c, hi - 1) as Histogram;
  if (
    isCounter &&
    (first.counterResetHint === CounterResetHint.gauge || last.counterResetHint === CounterResetHint.gauge)
  ) {
    c.annotate(nativeHistogramNotCounterWarning(metric, pos));
  }
  let prev = first;
  let custom = usesCustomBuckets(prev);
  if (isCounter) {
    const second = histAt(c, lo + 1) as Histogram;
    if (detectReset(second, prev)) {
      prev = emptyHistogram(second.schema, second.customValues);
      custom = usesCustomBuckets(second);
    }
  }
  if (usesCustomBuckets(last) !== custom) {
    c.annotate(mixedExponentialCustomHistogramsWarning(metric, pos));
    return null;
  }
  for (let i = lo + 1; i < hi - 1; i++) {
    const curr = histAt(c, i) as Histogram;
    if (!isCounter) continue;
    if (curr.counterResetHint === CounterResetHint.gauge) c.annotate(nativeHistogramNotCounterWarning(metric, pos));
    if (usesCustomBuckets(curr) !== custom) {
      c.annotate(mixedExponentialCustomHistogramsWarning(metric, pos));
      return null;
    }
  }
  let h = combine(c, last, prev, true);
  if (h === null) return null;
  if (isCounter) {
    for (let i = lo + 1; i < hi; i++) {
      const curr = histAt(c, i) as Histogram;
      if (detectReset(curr, prev)) {
        h = combine(c, h, prev, false);
        if (h === null) return null;
      }
      prev = curr;
    }
  } else if (first.counterResetHint !== CounterResetHint.gauge || last.counterResetHint !== CounterResetHint.gauge) {
    c.annotate(nativeHistogramNotGaugeWarning(metric, pos));
  }
  return withHint(h, CounterResetHint.gauge);
}

// rate/increase/delta over a window of histograms, extrapolated as for floats (durationToZero from the counts).
function histogramRate(c: RangeCall, isCounter: boolean, isRate: boolean): boolean {
  const count = c.hi - c.lo;
  if (count < 2) return false;
  const result = histogramIncrease(c, isCounter);
  if (result === null) return false;
  const firstT = c.t[c.lo];
  const lastT = c.t[c.hi - 1];
  let durationToStart = (firstT - c.rangeStart) / 1000;
  let durationToEnd = (c.rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (count - 1);
  const threshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= threshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    const first = histAt(c, c.lo) as Histogram;
    let durationToZero = durationToStart;
    if (result.count > 0 && first.count >= 0) durationToZero = sampledInterval * (first.count / result.count);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = 1;
  if (sampledInterval !== 0) factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= c.range / 1000;
  c.resultH = mulHistogram(result, factor);
  return true;
}

function rateLike(isCounter: boolean, isRate: boolean, floatFn: RangeFn): RangeFn {
  return (c) => {
    const { floats, hists } = countKinds(c, c.lo);
    if (floats > 0 && hists > 0) {
      c.annotate(mixedFloatsHistogramsWarning(metricOf(c), rangePos(c)));
      return false;
    }
    if (hists === 0) return floatFn(c);
    if (c.anchored || c.smoothed) return extendedHistogramRate(c, isCounter, isRate);
    return histogramRate(c, isCounter, isRate);
  };
}

// irate/idelta: the last two samples of the window.
function instantLike(isRate: boolean, floatFn: RangeFn): RangeFn {
  return (c) => {
    if (c.hi - c.lo < 2) return false;
    const a = histAt(c, c.hi - 2);
    const b = histAt(c, c.hi - 1);
    if (a === undefined && b === undefined) return floatFn(c);
    const metric = metricOf(c);
    const pos = rangePos(c);
    if (a === undefined || b === undefined) {
      c.annotate(mixedFloatsHistogramsWarning(metric, pos));
      return false;
    }
    const interval = c.t[c.hi - 1] - c.t[c.hi - 2];
    if (interval === 0) return false;
    const gauges = a.counterResetHint === CounterResetHint.gauge || b.counterResetHint === CounterResetHint.gauge;
    if (isRate && gauges) c.annotate(nativeHistogramNotCounterWarning(metric, pos));
    const bothGauges = a.counterResetHint === CounterResetHint.gauge && b.counterResetHint === CounterResetHint.gauge;
    if (!isRate && !bothGauges) c.annotate(nativeHistogramNotGaugeWarning(metric, pos));
    let result: Histogram = b;
    if (!isRate || !detectReset(b, a)) {
      const diff = combine(c, b, a, true);
      if (diff === null) return false;
      result = diff;
    }
    result = withHint(result, CounterResetHint.gauge);
    c.resultH = isRate ? divHistogram(result, interval / 1000) : result;
    return true;
  };
}

// resets/changes over floats and histograms in time order.
function transitions(
  counting: (prevF: number, prevH: Histogram | undefined, f: number, h: Histogram | undefined) => boolean,
): RangeFn {
  return (c) => {
    if (c.hi === c.lo) return false;
    const first = firstIndex(c);
    if (first < 0) return false;
    let n = 0;
    for (let i = first + 1; i < c.hi; i++) {
      if (counting(c.v[i - 1], histAt(c, i - 1), c.v[i], histAt(c, i))) n++;
    }
    c.result = n;
    return true;
  };
}

const resetsH = transitions((pf, ph, f, h) => {
  if (ph === undefined && h === undefined) return f < pf;
  if (ph === undefined || h === undefined) return true;
  return detectReset(h, ph);
});

const changesH = transitions((pf, ph, f, h) => {
  if (ph === undefined && h === undefined) return f !== pf && !(Number.isNaN(f) && Number.isNaN(pf));
  if (ph === undefined || h === undefined) return true;
  return !histogramsEqual(ph, h);
});

// sum_over_time / avg_over_time of histograms.
function sumLike(average: boolean, floatFn: RangeFn): RangeFn {
  return (c) => {
    const { floats, hists } = countKinds(c, c.lo);
    if (floats > 0 && hists > 0) {
      c.annotate(mixedFloatsHistogramsWarning(metricOf(c), rangePos(c)));
      return false;
    }
    if (hists === 0) return floatFn(c);
    const acc = average ? new HistogramMean() : new HistogramKahanSum();
    let reset = false;
    let notReset = false;
    let reconciled = false;
    for (let i = c.lo; i < c.hi; i++) {
      const h = histAt(c, i) as Histogram;
      if (h.counterResetHint === CounterResetHint.counterReset) reset = true;
      if (h.counterResetHint === CounterResetHint.notCounterReset) notReset = true;
      const r = acc.add(h);
      if (r.incompatible) {
        c.annotate(mixedExponentialCustomHistogramsWarning(metricOf(c), rangePos(c)));
        return false;
      }
      if (r.reconciled) reconciled = true;
    }
    if (reset && notReset) c.annotate(histogramCounterResetCollisionWarning("aggregation", rangePos(c)));
    if (reconciled) c.annotate(mismatchedCustomBucketsHistogramsInfo("aggregation", rangePos(c)));
    c.resultH = acc.result();
    return true;
  };
}

// first_over_time / last_over_time (and MetricsQL's default rollup): the sample itself, whatever its kind.
function pickLike(last: boolean): RangeFn {
  return (c) => {
    if (c.hi === c.lo) return false;
    const i = last ? c.hi - 1 : c.lo;
    const h = histAt(c, i);
    if (h === undefined) c.result = c.v[i];
    else c.resultH = h;
    return true;
  };
}

// A float-only function: the floats of the window, the histograms left out (with the info where Prometheus gives it).
function floatsOnly(name: string, fn: RangeFn): RangeFn {
  const regression = name === "deriv" || name === "predict_linear" || name === "double_exponential_smoothing";
  const info = MIXED_INFO.has(name);
  return (c) => {
    const { floats, hists } = countKinds(c, c.lo);
    if (floats === 0) return false;
    if (hists > 0 && (info || (regression && floats >= 1))) {
      c.annotate(histogramIgnoredInMixedRangeInfo(metricOf(c), rangePos(c)));
    }
    return overFloats(c, fn);
  };
}

/** The implementation of range function `name` (whose float implementation is `fn`) for series with histograms. */
export function histogramRangeFn(name: string, fn: RangeFn): RangeFn {
  if (KIND_BLIND.has(name)) return fn;
  switch (name) {
    case "rate":
      return rateLike(true, true, fn);
    case "increase":
      return rateLike(true, false, fn);
    case "delta":
      return rateLike(false, false, fn);
    case "irate":
      return instantLike(true, fn);
    case "idelta":
      return instantLike(false, fn);
    case "resets":
      return resetsH;
    case "changes":
      return changesH;
    case "sum_over_time":
      return sumLike(false, fn);
    case "avg_over_time":
      return sumLike(true, fn);
    case "first_over_time":
      return pickLike(false);
    case "last_over_time":
    case "default_rollup":
      return pickLike(true);
    default:
      return floatsOnly(name, fn);
  }
}

// rate/increase/delta of histograms over an anchored or smoothed range (Prometheus's extendedHistogramRate).
function extendedHistogramRate(c: RangeCall, isCounter: boolean, isRate: boolean): boolean {
  const { t, lo, rangeStart, rangeEnd, smoothed } = c;
  const metric = metricOf(c);
  const pos = rangePos(c);
  const note = (a: Annotation) => c.annotate(a);
  const hAt = (i: number) => histAt(c, i) as Histogram;
  let last = c.hi - 1;
  const first = Math.max(lo, searchTimes(t, lo, last, rangeStart, true) - 1);
  if (smoothed) last = searchTimes(t, lo, last, rangeEnd, false);
  if (t[last] <= rangeStart) return false;
  if (smoothed && t[first] > rangeEnd) return false;
  const custom = usesCustomBuckets(hAt(first));
  for (let i = first; i <= last; i++) {
    if (usesCustomBuckets(hAt(i)) !== custom) {
      note(mixedExponentialCustomHistogramsWarning(metric, pos));
      return false;
    }
    if (isCounter && hAt(i).counterResetHint === CounterResetHint.gauge)
      note(nativeHistogramNotCounterWarning(metric, pos));
  }
  const left =
    smoothed && t[first] < rangeStart
      ? interpolateHistograms(
          hAt(first),
          t[first],
          hAt(first + 1),
          t[first + 1],
          rangeStart,
          isCounter,
          note,
          metric,
          pos,
        )
      : hAt(first);
  if (left === null) return false;
  const right =
    smoothed && last > lo && t[last] > rangeEnd
      ? interpolateHistograms(hAt(last - 1), t[last - 1], hAt(last), t[last], rangeEnd, isCounter, note, metric, pos)
      : hAt(last);
  if (right === null) return false;
  if (
    !isCounter &&
    (left.counterResetHint !== CounterResetHint.gauge || right.counterResetHint !== CounterResetHint.gauge)
  ) {
    note(nativeHistogramNotGaugeWarning(metric, pos));
  }
  let result = combine(c, right, left, true);
  if (result === null) return false;
  if (isCounter) {
    // Resets between the boundary values: each adds the value before it back (left stands for `first`, right for
    // `last`, so neither sample is compared with itself).
    let from = first + 1;
    let prev = left;
    if (smoothed && t[first] < rangeStart && detectReset(hAt(first + 1), hAt(first))) {
      prev = hAt(first + 1);
      from++;
    }
    if (from <= last) {
      let correction: Histogram | null = null;
      const addCorrection = (h: Histogram): boolean => {
        correction = correction === null ? h : combine(c, correction, h, false);
        return correction !== null;
      };
      for (let i = from; i < last; i++) {
        if (detectReset(hAt(i), prev) && !addCorrection(prev)) return false;
        prev = hAt(i);
      }
      if (detectReset(right, prev) && !addCorrection(prev)) return false;
      if (correction !== null) {
        result = combine(c, result, correction, false);
        if (result === null) return false;
      }
    }
  }
  if (isRate) result = divHistogram(result, c.range / 1000);
  c.resultH = compact(withHint(result, CounterResetHint.gauge));
  return true;
}
