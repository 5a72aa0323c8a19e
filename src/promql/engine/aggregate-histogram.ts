// Aggregations over inputs that hold native histograms, step by step as Prometheus's aggregation does: sum and avg
// add histograms (a group holding both floats and histograms has no output, with a warning), count and group count
// every sample, and min, max, stddev, stdvar and quantile leave histograms out with an info. The float-only
// aggregations keep their own fast paths (aggregate.ts, agg-state.ts); this one is used when a histogram is present.

import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { HistogramKahanSum, HistogramMean } from "../../model/histogram-kahan.ts";
import type { Labels } from "../../model/labels.ts";
import {
  histogramCounterResetCollisionWarning,
  histogramIgnoredInAggregationInfo,
  mismatchedCustomBucketsHistogramsInfo,
  mixedExponentialCustomHistogramsWarning,
  mixedFloatsHistogramsAggWarning,
} from "./annotations.ts";
import { Collector } from "./collector.ts";
import type { Evaluator } from "./evaluator.ts";
import type { AggregateNode } from "./plan.ts";
import { kahanInc, quantile } from "./quantile.ts";
import { type Matrix, MatrixCursor } from "./value.ts";

/** The state of one group at one step. */
interface Group {
  seen: boolean;
  f: number;
  comp: number;
  mean: number;
  count: number;
  h: HistogramKahanSum | HistogramMean | null;
  hasFloat: boolean;
  hasHistogram: boolean;
  incompatible: boolean;
  resetSeen: boolean;
  notResetSeen: boolean;
  dropName: boolean;
  values: number[];
}

function freshGroup(): Group {
  return {
    seen: false,
    f: 0,
    comp: 0,
    mean: 0,
    count: 0,
    h: null,
    hasFloat: false,
    hasHistogram: false,
    incompatible: false,
    resetSeen: false,
    notResetSeen: false,
    dropName: false,
    values: [],
  };
}

const IGNORES_HISTOGRAMS = new Set(["min", "max", "stddev", "stdvar", "quantile"]);

const kb = new Float64Array(2);

/**
 * Aggregates `input` (which holds histograms) into the groups `groupOf` maps its series to, labelled `labels`.
 * `q` gives the quantile parameter at each step index.
 */
export function aggregateWithHistograms(
  ev: Evaluator,
  n: AggregateNode,
  input: Matrix,
  groupOf: Int32Array,
  labels: readonly Labels[],
  q: (step: number) => number,
): Matrix {
  const qc = ev.q;
  const op = n.op;
  const pos = n.expr.pos;
  const out = new Collector(ev.instant, ev.numSteps());
  const slots = labels.map((l) => out.slot(l, false));
  const groups = labels.map(freshGroup);
  const cursor = new MatrixCursor(input);
  const trackHint = (g: Group, h: Histogram) => {
    if (h.counterResetHint === CounterResetHint.counterReset) g.resetSeen = true;
    if (h.counterResetHint === CounterResetHint.notCounterReset) g.notResetSeen = true;
  };
  const addTo = (g: Group, h: Histogram, metric: string) => {
    if (g.h === null) g.h = op === "avg" ? new HistogramMean() : new HistogramKahanSum();
    const r = g.h.add(h);
    if (r.incompatible) {
      qc.annotations.add(mixedExponentialCustomHistogramsWarning(metric, pos));
      g.incompatible = true;
      return;
    }
    if (r.reconciled) qc.annotations.add(mismatchedCustomBucketsHistogramsInfo("aggregation", pos));
  };
  let step = -1;
  for (let ts = ev.start; ts <= ev.end; ts += ev.interval) {
    step++;
    qc.tick(1 + input.length);
    for (const g of groups) Object.assign(g, freshGroup());
    for (let si = 0; si < input.length; si++) {
      if (!cursor.next(si, ts)) continue;
      const g = groups[groupOf[si]];
      const f = cursor.value;
      const h = cursor.hist;
      if (h !== undefined && IGNORES_HISTOGRAMS.has(op)) {
        qc.annotations.add(histogramIgnoredInAggregationInfo(op, pos));
        continue;
      }
      if (g.incompatible) continue;
      const first = !g.seen;
      g.seen = true;
      if (input[si].dropName) g.dropName = true;
      g.count++;
      if (h === undefined) {
        g.hasFloat = true;
        switch (op) {
          case "sum":
          case "avg":
            kahanInc(f, g.f, g.comp, kb);
            g.f = kb[0];
            g.comp = kb[1];
            break;
          case "max":
            if (first || g.f < f || Number.isNaN(g.f)) g.f = f;
            break;
          case "min":
            if (first || g.f > f || Number.isNaN(g.f)) g.f = f;
            break;
          case "stddev":
          case "stdvar": {
            if (first) g.f = Number.isNaN(f) || !Number.isFinite(f) ? Number.NaN : 0;
            const delta = f - g.mean;
            g.mean += delta / g.count;
            g.f += delta * (f - g.mean);
            break;
          }
          case "quantile":
            g.values.push(f);
            break;
          default:
            break;
        }
      } else {
        g.hasHistogram = true;
        trackHint(g, h);
        if (op === "sum" || op === "avg") addTo(g, h, input[si].labels.metricName());
      }
    }
    for (let gi = 0; gi < groups.length; gi++) {
      const g = groups[gi];
      if (!g.seen) continue;
      let value = 0;
      let hist: Histogram | null = null;
      switch (op) {
        case "sum":
        case "avg":
          if (g.hasFloat && g.hasHistogram) {
            qc.annotations.add(mixedFloatsHistogramsAggWarning(pos));
            continue;
          }
          if (g.incompatible) continue;
          if (g.hasHistogram) hist = (g.h as HistogramKahanSum | HistogramMean).result();
          else value = op === "avg" ? g.f / g.count + g.comp / g.count : g.f + g.comp;
          break;
        case "count":
          value = g.count;
          break;
        case "group":
          value = 1;
          break;
        case "stdvar":
          value = g.f / g.count;
          break;
        case "stddev":
          value = Math.sqrt(g.f / g.count);
          break;
        case "quantile":
          value = quantile(q(step), g.values);
          break;
        default:
          value = g.f;
      }
      if (g.resetSeen && g.notResetSeen) qc.annotations.add(histogramCounterResetCollisionWarning("aggregation", pos));
      out.setDropName(slots[gi], g.dropName);
      if (hist !== null) out.addH(slots[gi], ts, hist);
      else out.add(slots[gi], ts, value);
    }
  }
  return out.result();
}
