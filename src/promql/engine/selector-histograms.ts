// How selectors read native histograms beyond passing them on: as counts and sums only (under histogram_count,
// _sum and _avg, as Prometheus's histogram stats iterator reads them) and interpolated for `smoothed` selectors.

import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { detectReset, withHint } from "../../model/histogram-arith.ts";
import { emptyHistogram, usesCustomBuckets } from "../../model/histogram-buckets.ts";
import type { Labels } from "../../model/labels.ts";
import type { SampleBuffer } from "../../model/sample.ts";
import { mixedExponentialCustomHistogramsWarning, mixedFloatsHistogramsWarning } from "./annotations.ts";
import type { Evaluator } from "./evaluator.ts";
import { interpolateHistograms } from "./histogram-interpolate.ts";
import type { SelectorNode } from "./plan.ts";
import type { Window } from "./selectors.ts";

/**
 * Replaces the histograms in `out` by their counts and sums alone, with counter resets detected from one to the
 * next (a histogram of unknown hint after another one is "counter reset" or "not a counter reset"), as
 * Prometheus's histogram stats iterator reads them for histogram_count, _sum and _avg.
 */
export function keepHistogramStats(out: SampleBuffer): void {
  const hs = out.h;
  if (hs === null) return;
  let last: Histogram | null = null;
  for (let i = 0; i < out.n; i++) {
    const h = hs[i];
    if (h === undefined) continue;
    let hint = h.counterResetHint;
    if (hint === CounterResetHint.unknown && last !== null) {
      hint = detectReset(h, last) ? CounterResetHint.counterReset : CounterResetHint.notCounterReset;
    }
    last = hint === h.counterResetHint ? h : { ...h, counterResetHint: hint };
    hs[i] = { ...emptyHistogram(h.schema), counterResetHint: hint, count: h.count, sum: h.sum };
  }
}

/**
 * The value of a `smoothed` selector at `dataTS` when the window around it holds histograms: the histogram there,
 * interpolated between its neighbours, or the last one carried forward (its reset hint dropped); null for no point
 * (and a warning when floats and histograms are mixed); "floats" when the window holds floats only. `i` is the
 * first sample at or after `dataTS`.
 */
export function smoothedHistogram(
  ev: Evaluator,
  node: SelectorNode,
  labels: Labels,
  w: Window,
  i: number,
  dataTS: number,
): Histogram | null | "floats" {
  const hs = w.h as readonly (Histogram | undefined)[];
  let hists = 0;
  for (let k = w.lo; k < w.hi; k++) if (hs[k] !== undefined) hists++;
  if (hists === 0) return "floats";
  const metric = labels.metricName();
  if (hists < w.hi - w.lo) {
    ev.q.annotations.add(mixedFloatsHistogramsWarning(metric, node.pos));
    return null;
  }
  if (i < w.hi && w.t[i] === dataTS) return hs[i] as Histogram;
  if (i > w.lo && i < w.hi) {
    const prev = hs[i - 1] as Histogram;
    const next = hs[i] as Histogram;
    if (usesCustomBuckets(prev) !== usesCustomBuckets(next)) {
      ev.q.annotations.add(mixedExponentialCustomHistogramsWarning(metric, node.pos));
      return null;
    }
    const isCounter =
      prev.counterResetHint !== CounterResetHint.gauge || next.counterResetHint !== CounterResetHint.gauge;
    return interpolateHistograms(
      prev,
      w.t[i - 1],
      next,
      w.t[i],
      dataTS,
      isCounter,
      (a) => ev.q.annotations.add(a),
      metric,
      node.pos,
    );
  }
  if (i > w.lo) return withHint(hs[i - 1] as Histogram, CounterResetHint.unknown);
  return null;
}
