// The functions of native histograms: histogram_count, _sum, _avg, _stddev and _stdvar read one number out of each
// histogram sample and ignore float samples; the native part of histogram_quantile, _quantiles and _fraction lives
// here too (histogram.ts has the classic part and combines both).

import type { Histogram } from "../../../model/histogram.ts";
import { type BucketWithBounds, negativeBuckets, positiveBuckets } from "../../../model/histogram-buckets.ts";
import { histogramVariance } from "../../../model/histogram-stats.ts";
import type { Labels } from "../../../model/labels.ts";
import type { Collector } from "../collector.ts";
import type { StepBody } from "../evaluator.ts";
import { formatG } from "../format.ts";
import type { StepVector } from "../value.ts";
import { droppedName } from "./math.ts";
import type { VectorFn, VectorSetup } from "./types.ts";

/** Output slots of the series of one argument, one per input series, created on first use. */
export class SeriesSlots {
  private readonly slots: Int32Array;
  private readonly setup: VectorSetup;
  private readonly arg: number;

  /** Slots for the series of argument `arg` of `setup`. */
  constructor(setup: VectorSetup, arg: number) {
    this.setup = setup;
    this.arg = arg;
    this.slots = new Int32Array(setup.args[arg]?.length ?? 0).fill(-1);
  }

  /** The slot of input series `id` (labels without the name unless its removal is delayed). */
  slot(out: Collector, id: number): number {
    let s = this.slots[id];
    if (s < 0 || this.setup.ev.instant) {
      s = out.slot(droppedName(this.setup.ev, this.labels(id)), true);
      this.slots[id] = s;
    }
    return s;
  }

  /** Labels of input series `id`. */
  labels(id: number): Labels {
    return this.setup.args[this.arg]![id].labels;
  }
}

// A function of one histogram argument giving one float per histogram sample.
function perHistogram(f: (h: Histogram) => number): VectorFn {
  return (setup) => {
    const slots = new SeriesSlots(setup, 0);
    const body: StepBody = (ts, [vec], out) => {
      const v = vec as StepVector;
      if (!v.anyH) return;
      for (let i = 0; i < v.n; i++) {
        const h = v.h[i];
        if (h !== undefined) out.add(slots.slot(out, v.ids[i]), ts, f(h));
      }
    };
    return body;
  };
}

/** histogram_count(v): the number of observations of each histogram. */
export const histogramCount: VectorFn = perHistogram((h) => h.count);
/** histogram_sum(v): the sum of observations of each histogram. */
export const histogramSum: VectorFn = perHistogram((h) => h.sum);
/** histogram_avg(v): the mean observation of each histogram. */
export const histogramAvg: VectorFn = perHistogram((h) => h.sum / h.count);
/** histogram_stdvar(v): the estimated variance of the observations of each histogram. */
export const histogramStdvar: VectorFn = perHistogram(histogramVariance);
/** histogram_stddev(v): the estimated standard deviation of the observations of each histogram. */
export const histogramStddev: VectorFn = perHistogram((h) => Math.sqrt(histogramVariance(h)));

function bucketString(b: BucketWithBounds, count: (c: number) => string): string {
  return `${b.lowerInclusive ? "[" : "("}${formatG(b.lower)},${formatG(b.upper)}${b.upperInclusive ? "]" : ")"}:${count(b.count)}`;
}

// A whole count as Go prints an unsigned integer (`%d`): every digit, never an exponent.
function wholeCount(c: number): string {
  return Number.isInteger(c) ? BigInt(c).toString() : formatG(c);
}

/**
 * `h` as Prometheus's FloatHistogram.String prints it (count_values labels a histogram sample with it), or with
 * `integerCounts` as its Histogram.String prints an integer histogram: the counts as whole numbers (`%d`), never
 * in exponent form.
 */
export function histogramString(h: Histogram, integerCounts = false): string {
  const count = integerCounts ? wholeCount : formatG;
  const parts = [`{count:${count(h.count)}, sum:${formatG(h.sum)}`];
  const neg = negativeBuckets(h).filter((b) => b.count !== 0);
  for (let i = neg.length - 1; i >= 0; i--) parts.push(bucketString(neg[i], count));
  if (h.zeroCount !== 0) {
    const z = h.zeroThreshold;
    const zero = { lower: -z, upper: z, lowerInclusive: true, upperInclusive: true, count: h.zeroCount };
    parts.push(bucketString(zero, count));
  }
  for (const b of positiveBuckets(h)) if (b.count !== 0) parts.push(bucketString(b, count));
  return `${parts.join(", ")}}`;
}
