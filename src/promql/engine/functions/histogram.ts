// Quantiles and fractions of classic histograms: series that differ only in their `le` label form one histogram
// per step. Grouping, bound parsing and output labels are worked out once per input series. Native histogram
// samples of the argument are computed one by one, unless a classic histogram of the same labels has buckets at
// the step: then both are left out with a warning, as in Prometheus.

import type { Histogram } from "../../../model/histogram.ts";
import {
  histogramFraction as nativeFraction,
  histogramQuantile as nativeQuantile,
} from "../../../model/histogram-stats.ts";
import { type Labels, LabelsBuilder } from "../../../model/labels.ts";
import {
  badBucketLabelWarning,
  histogramQuantileForcedMonotonicityInfo,
  invalidQuantileWarning,
  mixedClassicNativeHistogramsWarning,
  nativeHistogramFractionNaNsInfo,
  nativeHistogramQuantileNaNResultInfo,
  nativeHistogramQuantileNaNSkewInfo,
} from "../annotations.ts";
import type { Collector } from "../collector.ts";
import type { StepBody } from "../evaluator.ts";
import { formatOpenMetricsFloat } from "../format.ts";
import type { StepVector } from "../value.ts";
import { droppedName } from "./math.ts";
import { SeriesSlots } from "./native-histogram.ts";
import type { VectorFn, VectorSetup } from "./types.ts";

/** One bucket: upper bound and cumulative count. */
export interface Bucket {
  upper: number;
  count: number;
}

const MIN_NORMAL = 2.2250738585072014e-308;

function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

// Sorts by upper bound and merges buckets with equal bounds.
function coalesce(buckets: Bucket[]): Bucket[] {
  buckets.sort((a, b) => (a.upper < b.upper ? -1 : a.upper > b.upper ? 1 : 0));
  const out: Bucket[] = [];
  for (const b of buckets) {
    const last = out[out.length - 1];
    if (last !== undefined && last.upper === b.upper) last.count += b.count;
    else out.push({ upper: b.upper, count: b.count });
  }
  return out;
}

/** What forcing monotonicity changed: the range of bucket bounds touched and the largest decrease. */
export interface MonotonicityFix {
  forced: boolean;
  minBucket: number;
  maxBucket: number;
  maxDiff: number;
}

// Makes counts non-decreasing; differences below `tolerance` (relative) count as equal.
function ensureMonotonic(buckets: Bucket[], tolerance: number): MonotonicityFix {
  const fix: MonotonicityFix = {
    forced: false,
    minBucket: Number.POSITIVE_INFINITY,
    maxBucket: Number.NEGATIVE_INFINITY,
    maxDiff: 0,
  };
  let prev = buckets[0].count;
  for (let i = 1; i < buckets.length; i++) {
    const curr = buckets[i].count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, tolerance)) {
      buckets[i].count = prev;
      continue;
    }
    if (curr < prev) {
      buckets[i].count = prev;
      fix.forced = true;
      fix.minBucket = Math.min(fix.minBucket, buckets[i].upper);
      fix.maxBucket = Math.max(fix.maxBucket, buckets[i].upper);
      fix.maxDiff = Math.max(fix.maxDiff, prev - curr);
      continue;
    }
    prev = curr;
  }
  return fix;
}

/** The φ-quantile of classic buckets (Prometheus's BucketQuantile); `fix` reports a monotonicity repair. */
export function bucketQuantile(q: number, input: Bucket[]): { value: number; fix: MonotonicityFix | null } {
  if (Number.isNaN(q)) return { value: Number.NaN, fix: null };
  if (q < 0) return { value: Number.NEGATIVE_INFINITY, fix: null };
  if (q > 1) return { value: Number.POSITIVE_INFINITY, fix: null };
  let buckets = input.slice().sort((a, b) => (a.upper < b.upper ? -1 : a.upper > b.upper ? 1 : 0));
  if (buckets[buckets.length - 1].upper !== Number.POSITIVE_INFINITY) return { value: Number.NaN, fix: null };
  buckets = coalesce(buckets);
  const fix = ensureMonotonic(buckets, 1e-12);
  if (buckets.length < 2) return { value: Number.NaN, fix };
  const observations = buckets[buckets.length - 1].count;
  if (observations === 0) return { value: Number.NaN, fix };
  let rank = q * observations;
  // First bucket (excluding +Inf) whose count reaches the rank.
  let b = 0;
  let hi = buckets.length - 1;
  while (b < hi) {
    const mid = (b + hi) >>> 1;
    if (!(buckets[mid].count >= rank)) b = mid + 1;
    else hi = mid;
  }
  let value: number;
  if (b === buckets.length - 1) value = buckets[buckets.length - 2].upper;
  else if (b === 0 && buckets[0].upper <= 0) value = buckets[0].upper;
  else {
    let bucketStart = 0;
    const bucketEnd = buckets[b].upper;
    let count = buckets[b].count;
    if (b > 0) {
      bucketStart = buckets[b - 1].upper;
      count -= buckets[b - 1].count;
      rank -= buckets[b - 1].count;
    }
    value = bucketStart + (bucketEnd - bucketStart) * (rank / count);
  }
  return { value, fix };
}

/** The fraction of observations between `lower` and `upper` in classic buckets (Prometheus's BucketFraction). */
export function bucketFraction(lower: number, upper: number, input: Bucket[]): number {
  let buckets = input.slice().sort((a, b) => (a.upper < b.upper ? -1 : a.upper > b.upper ? 1 : 0));
  if (buckets[buckets.length - 1].upper !== Number.POSITIVE_INFINITY) return Number.NaN;
  buckets = coalesce(buckets);
  const count = buckets[buckets.length - 1].count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return Number.NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let lowerBound = buckets[0].upper <= 0 ? Number.NEGATIVE_INFINITY : 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i];
    if (i > 0) lowerBound = buckets[i - 1].upper;
    const upperBound = b.upper;
    const interpolate = (v: number) =>
      lowerBound === Number.NEGATIVE_INFINITY
        ? b.count
        : rank + ((b.count - rank) * (v - lowerBound)) / (upperBound - lowerBound);
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = interpolate(lower);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = interpolate(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}

/** Go's strconv.ParseFloat for a bucket bound: decimal or hex floats, Inf/Infinity/NaN in any case; null if invalid. */
export function parseBound(s: string): number | null {
  const t = s.replaceAll("_", "");
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t[0] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^nan$/i.test(t)) return Number.NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(t);
  if (hex !== null && (hex[2] !== "" || hex[3] !== "")) {
    const mant = Number.parseInt(hex[2] || "0", 16) + (hex[3] ? Number.parseInt(hex[3], 16) / 16 ** hex[3].length : 0);
    const v = mant * 2 ** Number(hex[4]);
    return hex[1] === "-" ? -v : v;
  }
  return null;
}

// Per input series of a classic-histogram argument: its group (by labels without `le`) and its bound.
class BucketGroups {
  readonly groupOf: Int32Array;
  readonly bound: Float64Array;
  readonly labels: Labels[] = [];
  readonly names: string[] = [];
  readonly buckets: Bucket[][] = [];
  /** Native histogram samples of the last `gather`: input series and histogram. */
  readonly natives: { id: number; h: Histogram }[] = [];
  private readonly rawLe: string[];
  private readonly index = new Map<string, number>();
  private readonly slots: SeriesSlots;

  constructor(setup: VectorSetup, argIndex: number) {
    const m = setup.args[argIndex]!;
    this.groupOf = new Int32Array(m.length);
    this.bound = new Float64Array(m.length);
    this.rawLe = new Array(m.length);
    this.slots = new SeriesSlots(setup, argIndex);
    const index = this.index;
    for (let i = 0; i < m.length; i++) {
      const l = m[i].labels;
      const le = l.get("le");
      const b = parseBound(le);
      this.rawLe[i] = le;
      if (b === null) {
        this.groupOf[i] = -1;
        continue;
      }
      this.bound[i] = b;
      const withoutLe = new LabelsBuilder(l).del("le").labels();
      const key = withoutLe.hash();
      let g = index.get(key);
      if (g === undefined) {
        g = this.labels.length;
        index.set(key, g);
        this.labels.push(withoutLe);
        this.names.push(withoutLe.metricName());
        this.buckets.push([]);
      }
      this.groupOf[i] = g;
    }
  }

  /** Fills each group's buckets from the step's points; reports malformed bounds. Returns groups with buckets. */
  gather(vec: StepVector, setup: VectorSetup, argIndex: number): number[] {
    for (const b of this.buckets) b.length = 0;
    this.natives.length = 0;
    const touched: number[] = [];
    const m = setup.args[argIndex]!;
    for (let i = 0; i < vec.n; i++) {
      const id = vec.ids[i];
      const h = vec.histAt(i);
      if (h !== undefined) {
        this.natives.push({ id, h });
        continue;
      }
      const g = this.groupOf[id];
      if (g < 0) {
        const name = setup.ev.q.settings.enableDelayedNameRemoval ? m[id].labels.metricName() : "";
        setup.ev.q.annotations.add(badBucketLabelWarning(name, this.rawLe[id], setup.node.args[argIndex].pos));
        continue;
      }
      if (this.buckets[g].length === 0) touched.push(g);
      this.buckets[g].push({ upper: this.bound[id], count: vec.f[i] });
    }
    touched.sort((a, b) => a - b);
    if (this.natives.length === 0) return touched;
    // A native histogram with the labels of a classic one that has buckets now: both are left out.
    const clash = new Set<number>();
    const keep = this.natives.filter(({ id }) => {
      const g = this.index.get(m[id].labels.hash());
      if (g === undefined || this.buckets[g].length === 0) return true;
      const name = setup.ev.q.settings.enableDelayedNameRemoval ? m[id].labels.metricName() : "";
      setup.ev.q.annotations.add(mixedClassicNativeHistogramsWarning(name, setup.node.args[argIndex].pos));
      clash.add(g);
      return false;
    });
    this.natives.length = 0;
    this.natives.push(...keep);
    return clash.size === 0 ? touched : touched.filter((g) => !clash.has(g));
  }

  /** Output slot of native histogram series `id`. */
  nativeSlot(out: Collector, id: number): number {
    return this.slots.slot(out, id);
  }

  /** Labels of native histogram series `id`. */
  nativeLabels(id: number): Labels {
    return this.slots.labels(id);
  }

  /** Metric name of native histogram series `id` for annotations (empty unless name removal is delayed). */
  nativeName(setup: VectorSetup, id: number): string {
    return setup.ev.q.settings.enableDelayedNameRemoval ? this.slots.labels(id).metricName() : "";
  }
}

// histogram_quantile of one native histogram sample, with its NaN annotations.
function quantileOfNative(
  setup: VectorSetup,
  groups: BucketGroups,
  argIndex: number,
  q: number,
  id: number,
  h: Histogram,
): number {
  const { value, note } = nativeQuantile(q, h);
  if (note !== "none") {
    const name = groups.nativeName(setup, id);
    const pos = setup.node.args[argIndex].pos;
    setup.ev.q.annotations.add(
      note === "nan-result"
        ? nativeHistogramQuantileNaNResultInfo(name, pos)
        : nativeHistogramQuantileNaNSkewInfo(name, pos),
    );
  }
  return value;
}

function scalarAt(v: StepVector | null): number {
  return v !== null && v.n > 0 ? v.f[0] : Number.NaN;
}

/** histogram_quantile(φ, v): the φ-quantile of each classic histogram. */
export const histogramQuantile: VectorFn = (setup) => {
  const groups = new BucketGroups(setup, 1);
  const slots = new Int32Array(groups.labels.length).fill(-1);
  const body: StepBody = (ts, inputs, out) => {
    const q = scalarAt(inputs[0]);
    if (inputs[0] === null || inputs[0].n === 0) return;
    const annotations = setup.ev.q.annotations;
    if (Number.isNaN(q) || q < 0 || q > 1) annotations.add(invalidQuantileWarning(q, setup.node.args[0].pos));
    const touched = groups.gather(inputs[1]!, setup, 1);
    for (const { id, h } of groups.natives) {
      out.add(groups.nativeSlot(out, id), ts, quantileOfNative(setup, groups, 1, q, id, h));
    }
    for (const g of touched) {
      const { value, fix } = bucketQuantile(q, groups.buckets[g]);
      if (fix?.forced) {
        const name = setup.ev.q.settings.enableDelayedNameRemoval ? groups.names[g] : "";
        annotations.add(
          histogramQuantileForcedMonotonicityInfo(
            name,
            setup.node.args[1].pos,
            ts,
            fix.minBucket,
            fix.maxBucket,
            fix.maxDiff,
          ),
        );
      }
      if (slots[g] < 0 || setup.ev.instant) slots[g] = out.slot(droppedName(setup.ev, groups.labels[g]), true);
      out.add(slots[g], ts, value);
    }
  };
  return body;
};

/** histogram_quantiles(v, label, φ...): one output series per φ, labelled with it. */
export const histogramQuantiles: VectorFn = (setup) => {
  const groups = new BucketGroups(setup, 0);
  const label = setup.node.args[1].kind === "string" ? setup.node.args[1].value : "quantile";
  const slots = new Map<string, number>();
  const body: StepBody = (ts, inputs, out) => {
    const qs: number[] = [];
    for (let i = 2; i < inputs.length; i++) {
      const q = scalarAt(inputs[i]);
      if (Number.isNaN(q) || q < 0 || q > 1)
        setup.ev.q.annotations.add(invalidQuantileWarning(q, setup.node.args[i].pos));
      qs.push(q);
    }
    const touched = groups.gather(inputs[0]!, setup, 0);
    for (const q of qs) {
      const qs2 = formatOpenMetricsFloat(q);
      for (const { id, h } of groups.natives) {
        const key = `n${id}\u0000${qs2}`;
        let slot = setup.ev.instant ? undefined : slots.get(key);
        if (slot === undefined) {
          const labels = new LabelsBuilder(droppedName(setup.ev, groups.nativeLabels(id))).set(label, qs2).labels();
          slot = out.slot(labels, true);
          slots.set(key, slot);
        }
        out.add(slot, ts, quantileOfNative(setup, groups, 0, q, id, h));
      }
      for (const g of touched) {
        const { value, fix } = bucketQuantile(q, groups.buckets[g]);
        if (fix?.forced) {
          const name = setup.ev.q.settings.enableDelayedNameRemoval ? groups.names[g] : "";
          setup.ev.q.annotations.add(
            histogramQuantileForcedMonotonicityInfo(
              name,
              setup.node.args[0].pos,
              ts,
              fix.minBucket,
              fix.maxBucket,
              fix.maxDiff,
            ),
          );
        }
        const qs2 = formatOpenMetricsFloat(q);
        const key = `${g}\u0000${qs2}`;
        let slot = setup.ev.instant ? undefined : slots.get(key);
        if (slot === undefined) {
          const labels = new LabelsBuilder(droppedName(setup.ev, groups.labels[g])).set(label, qs2).labels();
          slot = out.slot(labels, true);
          slots.set(key, slot);
        }
        out.add(slot, ts, value);
      }
    }
  };
  return body;
};

/** histogram_fraction(lower, upper, v): the share of observations between the bounds. */
export const histogramFraction: VectorFn = (setup) => {
  const groups = new BucketGroups(setup, 2);
  const slots = new Int32Array(groups.labels.length).fill(-1);
  const body: StepBody = (ts, inputs, out) => {
    if (inputs[0] === null || inputs[0].n === 0 || inputs[1] === null || inputs[1].n === 0) return;
    const lower = scalarAt(inputs[0]);
    const upper = scalarAt(inputs[1]);
    const touched = groups.gather(inputs[2]!, setup, 2);
    for (const { id, h } of groups.natives) {
      const { value, nanExcluded } = nativeFraction(lower, upper, h);
      if (nanExcluded) {
        setup.ev.q.annotations.add(
          nativeHistogramFractionNaNsInfo(groups.nativeName(setup, id), setup.node.args[2].pos),
        );
      }
      out.add(groups.nativeSlot(out, id), ts, value);
    }
    for (const g of touched) {
      if (slots[g] < 0 || setup.ev.instant) slots[g] = out.slot(droppedName(setup.ev, groups.labels[g]), true);
      out.add(slots[g], ts, bucketFraction(lower, upper, groups.buckets[g]));
    }
  };
  return body;
};
