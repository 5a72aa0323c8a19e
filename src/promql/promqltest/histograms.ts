// Native histograms in the test runner: the reference runner's comparison (both sides compacted, counts and
// buckets within the float epsilon, the counter reset hint only when the expected literal wrote it out), the test
// notation a result histogram is printed in, and the native histograms with custom buckets that `load_with_nhcb`
// builds from classic `_bucket`/`_count`/`_sum` series.

import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA, type Histogram } from "../../model/histogram.ts";
import { customBoundsMatch } from "../../model/histogram-arith.ts";
import { compact, indexed, usesCustomBuckets } from "../../model/histogram-buckets.ts";
import { type Labels, LabelsBuilder, METRIC_NAME } from "../../model/labels.ts";
import { formatG } from "../engine/format.ts";
import { parseGoFloat } from "../parser/literals.ts";
import { almostEqual } from "./almost.ts";

function sameSpans(a: Histogram["positiveSpans"], b: Histogram["positiveSpans"]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].offset !== b[i].offset || a[i].length !== b[i].length) return false;
  return true;
}

function sameBuckets(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!almostEqual(a[i], b[i])) return false;
  return true;
}

/** The reference runner's histogram comparison; `hintSet` when the expected literal gave its counter reset hint. */
export function histogramsMatch(expected: Histogram, actual: Histogram, hintSet: boolean): boolean {
  const e = compact(expected);
  const a = compact(actual);
  if (e.schema !== a.schema || !almostEqual(e.count, a.count) || !almostEqual(e.sum, a.sum)) return false;
  if (usesCustomBuckets(e) && !customBoundsMatch(e.customValues, a.customValues)) return false;
  if (e.zeroThreshold !== a.zeroThreshold || !almostEqual(e.zeroCount, a.zeroCount)) return false;
  if (!sameSpans(e.negativeSpans, a.negativeSpans) || !sameBuckets(e.negativeBuckets, a.negativeBuckets)) return false;
  if (!sameSpans(e.positiveSpans, a.positiveSpans) || !sameBuckets(e.positiveBuckets, a.positiveBuckets)) return false;
  return !hintSet || e.counterResetHint === a.counterResetHint;
}

const HINT_NAMES: Record<CounterResetHint, string> = {
  [CounterResetHint.unknown]: "",
  [CounterResetHint.counterReset]: "reset",
  [CounterResetHint.notCounterReset]: "not_reset",
  [CounterResetHint.gauge]: "gauge",
};

// One side as `offset` and a bucket list with empty buckets written out between populated ones.
function sideText(h: Histogram, positive: boolean): string[] {
  const side = positive ? indexed(h.positiveSpans, h.positiveBuckets) : indexed(h.negativeSpans, h.negativeBuckets);
  if (side.idx.length === 0) return [];
  const first = side.idx[0];
  const counts: number[] = [];
  for (let i = 0; i < side.idx.length; i++) {
    while (first + counts.length < side.idx[i]) counts.push(0);
    counts.push(side.counts[i]);
  }
  const out: string[] = [];
  if (first !== 0) out.push(`${positive ? "offset" : "n_offset"}:${first}`);
  out.push(`${positive ? "buckets" : "n_buckets"}:[${counts.map((c) => formatG(c)).join(" ")}]`);
  return out;
}

/** `h` in the test notation, as Prometheus's TestExpression prints it. */
export function histogramTestExpression(h: Histogram): string {
  const m = compact(h);
  const parts: string[] = [];
  if (m.schema !== 0) parts.push(`schema:${m.schema}`);
  if (m.count !== 0) parts.push(`count:${formatG(m.count)}`);
  if (m.sum !== 0) parts.push(`sum:${formatG(m.sum)}`);
  if (m.zeroCount !== 0) parts.push(`z_bucket:${formatG(m.zeroCount)}`);
  if (m.zeroThreshold !== 0) parts.push(`z_bucket_w:${formatG(m.zeroThreshold)}`);
  if (usesCustomBuckets(m)) parts.push(`custom_values:[${m.customValues.map((c) => formatG(c)).join(" ")}]`);
  if (m.counterResetHint !== CounterResetHint.unknown)
    parts.push(`counter_reset_hint:${HINT_NAMES[m.counterResetHint]}`);
  parts.push(...sideText(m, true), ...sideText(m, false));
  return `{{${parts.join(" ")}}}`;
}

const CLASSIC_SUFFIXES = ["_bucket", "_sum", "_count"] as const;

/** A classic histogram's series at one time: cumulative buckets by upper bound, its count and sum. */
interface ClassicPoint {
  buckets: { le: number; count: number }[];
  count: number | null;
  sum: number;
}

/** Builds the native histograms with custom buckets that `load_with_nhcb` adds for classic histogram series. */
export class NhcbBuilder {
  private readonly byHash = new Map<string, { labels: Labels; points: Map<number, ClassicPoint> }>();

  /** Takes the float samples (ms, value) of one loaded series; series that are no classic histogram part are ignored. */
  add(labels: Labels, samples: readonly { t: number; v: number }[]): void {
    const name = labels.metricName();
    const suffix = CLASSIC_SUFFIXES.find((s) => name.endsWith(s));
    if (suffix === undefined) return;
    let le = 0;
    if (suffix === "_bucket") {
      if (!labels.has("le")) return;
      const parsed = parseGoFloat(labels.get("le"));
      if (typeof parsed !== "number" || Number.isNaN(parsed)) return;
      le = parsed;
    }
    const base = new LabelsBuilder(labels).set(METRIC_NAME, name.slice(0, -suffix.length)).del("le").labels();
    const key = base.hash();
    let entry = this.byHash.get(key);
    if (entry === undefined) {
      entry = { labels: base, points: new Map() };
      this.byHash.set(key, entry);
    }
    for (const s of samples) {
      let p = entry.points.get(s.t);
      if (p === undefined) {
        p = { buckets: [], count: null, sum: 0 };
        entry.points.set(s.t, p);
      }
      if (suffix === "_bucket") {
        if (!p.buckets.some((b) => b.le === le)) p.buckets.push({ le, count: s.v });
      } else if (suffix === "_count") p.count = s.v;
      else p.sum = s.v;
    }
  }

  /** The histogram series built, each with its samples in time order; throws on buckets that are not cumulative. */
  build(): { labels: Labels; samples: { t: number; h: Histogram }[] }[] {
    const out: { labels: Labels; samples: { t: number; h: Histogram }[] }[] = [];
    for (const { labels, points } of this.byHash.values()) {
      const samples = [...points.entries()].sort((a, b) => a[0] - b[0]).map(([t, p]) => ({ t, h: convert(p) }));
      out.push({ labels, samples });
    }
    return out;
  }
}

// A classic histogram point as a native histogram with custom buckets (Prometheus's convertnhcb rules).
function convert(p: ClassicPoint): Histogram {
  const buckets = [...p.buckets].sort((a, b) => a.le - b.le);
  for (let i = 1; i < buckets.length; i++) {
    if (buckets[i].count < buckets[i - 1].count) {
      throw new Error(`histogram bucket counts are not cumulative: ${buckets[i].count} < ${buckets[i - 1].count}`);
    }
  }
  let count = p.count;
  if (count === null) count = buckets.length > 0 ? buckets[buckets.length - 1].count : 0;
  if (buckets.length === 0 || buckets[buckets.length - 1].le !== Number.POSITIVE_INFINITY) {
    buckets.push({ le: Number.POSITIVE_INFINITY, count });
  }
  const last = buckets[buckets.length - 1].count;
  if (count !== last) throw new Error(`histogram count mismatch: count=${count} != +Inf bucket count=${last}`);
  const counts: number[] = [];
  let prev = 0;
  for (const b of buckets) {
    counts.push(b.count - prev);
    prev = b.count;
  }
  const integer = buckets.every((b) => Number.isInteger(b.count)) && Number.isInteger(count);
  return compact({
    integer,
    counterResetHint: CounterResetHint.unknown,
    schema: CUSTOM_BUCKETS_SCHEMA,
    zeroThreshold: 0,
    zeroCount: 0,
    count,
    sum: p.sum,
    positiveSpans: [{ offset: 0, length: counts.length }],
    negativeSpans: [],
    positiveBuckets: counts,
    negativeBuckets: [],
    customValues: buckets.slice(0, -1).map((b) => b.le),
  });
}
