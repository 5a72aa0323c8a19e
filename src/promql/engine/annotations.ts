// Query annotations: the warnings and infos Prometheus attaches to a result, with its exact texts. A set is keyed by
// the text without position (as upstream keys by error text), so the same problem at many steps is reported once;
// the position suffix ` (line:col)` is added when the set is rendered against the query text.

import { quoteGo as q } from "../../model/quote.ts";
import type { PosRange } from "../parser/ast.ts";
import { formatG } from "./format.ts";

/** Severity of an annotation. */
export type AnnotationLevel = "warning" | "info";

/** One annotation. `merge` combines a repeated occurrence (same key) into the kept one. */
export interface Annotation {
  readonly level: AnnotationLevel;
  /** Text without the position suffix; also the de-duplication key. */
  readonly key: string;
  readonly pos: PosRange | null;
  /** Renders the text for `query`; defaults to `key (line:col)`. */
  render?(query: string): string;
  merge?(previous: Annotation): Annotation;
}

/** The `line:col` of byte offset `pos.start` in `query`, as Prometheus prints it (1-based, columns in bytes). */
export function positionOf(query: string, pos: PosRange | null): string {
  if (query === "" || pos === null) return "unknown position";
  const bytes = Buffer.from(query, "utf8");
  const start = pos.start;
  if (start < 0 || start > bytes.length) return "invalid position";
  let line = 1;
  let lastBreak = -1;
  for (let i = 0; i < start; i++) {
    if (bytes[i] === 10) {
      line++;
      lastBreak = i;
    }
  }
  return `${line}:${start - lastBreak}`;
}

/** A set of annotations of one query. */
export class Annotations {
  private readonly byKey = new Map<string, Annotation>();

  /** Adds `a`, merging it with an earlier one of the same text. */
  add(a: Annotation): void {
    const prev = this.byKey.get(a.key);
    this.byKey.set(a.key, prev !== undefined && a.merge ? a.merge(prev) : a);
  }

  /** Adds every annotation of `other`. */
  merge(other: Annotations): void {
    for (const a of other.byKey.values()) this.add(a);
  }

  /** Number of annotations held. */
  get size(): number {
    return this.byKey.size;
  }

  /** Warning and info texts rendered against `query`. */
  render(query: string): { warnings: string[]; infos: string[] } {
    const warnings: string[] = [];
    const infos: string[] = [];
    for (const a of this.byKey.values()) {
      const text = a.render ? a.render(query) : `${a.key} (${positionOf(query, a.pos)})`;
      (a.level === "info" ? infos : warnings).push(text);
    }
    return { warnings, infos };
  }
}

const WARN = "PromQL warning";
const INFO = "PromQL info";

function simple(level: AnnotationLevel, key: string, pos: PosRange | null): Annotation {
  return { level, key, pos };
}

function withMetricName(text: string, metricName: string): string {
  return metricName === "" ? text : `${text} for metric name ${q(metricName)}`;
}

/** `quantile value should be between 0 and 1, got <q>`. */
export function invalidQuantileWarning(qv: number, pos: PosRange | null): Annotation {
  return simple("warning", `${WARN}: quantile value should be between 0 and 1, got ${formatG(qv)}`, pos);
}

/** `ratio value should be between -1 and 1, got <r>, capping to <to>`. */
export function invalidRatioWarning(r: number, to: number, pos: PosRange | null): Annotation {
  return simple(
    "warning",
    `${WARN}: ratio value should be between -1 and 1, got ${formatG(r)}, capping to ${formatG(to)}`,
    pos,
  );
}

/** A bucket label that is missing or does not parse as a float. */
export function badBucketLabelWarning(metricName: string, label: string, pos: PosRange | null): Annotation {
  const text = `${WARN}: bucket label "le" is missing or has a malformed value of ${q(label)}`;
  return simple("warning", withMetricName(text, metricName), pos);
}

/** rate()/increase() over a metric whose name does not look like a counter. */
export function possibleNonCounterInfo(metricName: string, pos: PosRange | null): Annotation {
  return simple(
    "info",
    `${INFO}: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${q(metricName)}`,
    pos,
  );
}

/** rate()/increase() over a metric whose `__type__` label is not counter or histogram. */
export function possibleNonCounterLabelInfo(metricName: string, typeLabel: string, pos: PosRange | null): Annotation {
  return simple(
    "info",
    `${INFO}: metric might not be a counter, __type__ label is not set to "counter" or "histogram", got ${q(typeLabel)}: ${q(metricName)}`,
    pos,
  );
}

/** sort functions in a range query. */
export function sortInRangeQueryWarning(pos: PosRange | null): Annotation {
  return simple(
    "warning",
    `${WARN}: sort is ineffective for range queries since results are always ordered by labels`,
    pos,
  );
}

/** A float and a histogram met in one binary operation. */
export function incompatibleTypesInBinOpInfo(lhs: string, op: string, rhs: string, pos: PosRange | null): Annotation {
  return simple(
    "info",
    `${INFO}: incompatible sample types encountered for binary operator ${q(op)}: ${lhs} ${op} ${rhs}`,
    pos,
  );
}

/** A histogram ignored by an aggregation that works on floats only. */
export function histogramIgnoredInAggregationInfo(aggregation: string, pos: PosRange | null): Annotation {
  return simple("info", `${INFO}: ignored histogram in ${aggregation} aggregation`, pos);
}

/** Floats and histograms mixed in one aggregation group. */
export function mixedFloatsHistogramsAggWarning(pos: PosRange | null): Annotation {
  return simple("warning", `${WARN}: encountered a mix of histograms and floats for aggregation`, pos);
}

/** Floats and histograms mixed in one range of one series. */
export function mixedFloatsHistogramsWarning(metricName: string, pos: PosRange | null): Annotation {
  return simple("warning", `${WARN}: encountered a mix of histograms and floats for metric name ${q(metricName)}`, pos);
}

const MONOTONICITY =
  "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)";

interface MonotonicityFix {
  minTs: number;
  maxTs: number;
  minBucket: number;
  maxBucket: number;
  maxDiff: number;
  count: number;
}

function rfc3339(ms: number): string {
  const sec = Math.trunc(ms / 1000);
  return new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function monotonicityAnnotation(key: string, pos: PosRange | null, fix: MonotonicityFix): Annotation {
  return {
    level: "info",
    key,
    pos,
    render(query: string): string {
      return `${key}, from buckets ${formatG(fix.minBucket)} to ${formatG(fix.maxBucket)}, with a max diff of ${formatG(fix.maxDiff, 2)}, over ${fix.count + 1} samples from ${rfc3339(fix.minTs)} to ${rfc3339(fix.maxTs)} (${positionOf(query, pos)})`;
    },
    merge(previous: Annotation): Annotation {
      const p = (previous as Annotation & { fix?: MonotonicityFix }).fix;
      if (p === undefined) return this;
      return monotonicityAnnotation(key, previous.pos, {
        minTs: Math.min(p.minTs, fix.minTs),
        maxTs: Math.max(p.maxTs, fix.maxTs),
        minBucket: Math.min(p.minBucket, fix.minBucket),
        maxBucket: Math.max(p.maxBucket, fix.maxBucket),
        maxDiff: Math.max(p.maxDiff, fix.maxDiff),
        count: p.count + fix.count + 1,
      });
    },
    fix,
  } as Annotation;
}

/** Classic buckets of histogram_quantile had to be made monotonic; repeated occurrences are summarised. */
export function histogramQuantileForcedMonotonicityInfo(
  metricName: string,
  pos: PosRange | null,
  ts: number,
  minBucket: number,
  maxBucket: number,
  maxDiff: number,
): Annotation {
  const key = withMetricName(`${INFO}: ${MONOTONICITY}`, metricName);
  return monotonicityAnnotation(key, pos, { minTs: ts, maxTs: ts, minBucket, maxBucket, maxDiff, count: 0 });
}

/** What a histogram operation was doing when it met a problem, as Prometheus names it. */
export type HistogramOperation = "addition" | "subtraction" | "aggregation";

/** Classic and native histograms of the same series met in histogram_quantile / histogram_fraction. */
export function mixedClassicNativeHistogramsWarning(metricName: string, pos: PosRange | null): Annotation {
  return simple(
    "warning",
    withMetricName(`${WARN}: vector contains a mix of classic and native histograms`, metricName),
    pos,
  );
}

/** A gauge histogram where a counter is expected (rate, increase, irate). */
export function nativeHistogramNotCounterWarning(metricName: string, pos: PosRange | null): Annotation {
  return simple("warning", `${WARN}: this native histogram metric is not a counter: ${q(metricName)}`, pos);
}

/** A counter histogram where a gauge is expected (delta, idelta). */
export function nativeHistogramNotGaugeWarning(metricName: string, pos: PosRange | null): Annotation {
  return simple("warning", `${WARN}: this native histogram metric is not a gauge: ${q(metricName)}`, pos);
}

/** Histograms with exponential and with custom buckets met in one operation. */
export function mixedExponentialCustomHistogramsWarning(metricName: string, pos: PosRange | null): Annotation {
  return simple(
    "warning",
    `${WARN}: vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${q(metricName)}`,
    pos,
  );
}

/** Histograms left out of a function over a range that holds floats too. */
export function histogramIgnoredInMixedRangeInfo(metricName: string, pos: PosRange | null): Annotation {
  return simple(
    "info",
    `${INFO}: ignored histograms in a range containing both floats and histograms for metric name ${q(metricName)}`,
    pos,
  );
}

/** Two histograms of incompatible bucket layouts met in a binary operation. */
export function incompatibleBucketLayoutInBinOpWarning(op: string, pos: PosRange | null): Annotation {
  return simple("warning", `${WARN}: incompatible bucket layout encountered for binary operator ${op}`, pos);
}

/** histogram_quantile over a histogram whose NaN observations make the result NaN. */
export function nativeHistogramQuantileNaNResultInfo(metricName: string, pos: PosRange | null): Annotation {
  return simple(
    "info",
    withMetricName(`${INFO}: input to histogram_quantile has NaN observations, result is NaN`, metricName),
    pos,
  );
}

/** histogram_quantile over a histogram whose NaN observations skew the result. */
export function nativeHistogramQuantileNaNSkewInfo(metricName: string, pos: PosRange | null): Annotation {
  return simple(
    "info",
    withMetricName(`${INFO}: input to histogram_quantile has NaN observations, result is skewed higher`, metricName),
    pos,
  );
}

/** histogram_fraction over a histogram with NaN observations. */
export function nativeHistogramFractionNaNsInfo(metricName: string, pos: PosRange | null): Annotation {
  return simple(
    "info",
    withMetricName(
      `${INFO}: input to histogram_fraction has NaN observations, which are excluded from all fractions`,
      metricName,
    ),
    pos,
  );
}

/** Counter histograms with conflicting reset hints added or subtracted. */
export function histogramCounterResetCollisionWarning(op: HistogramOperation, pos: PosRange | null): Annotation {
  return simple("warning", `${WARN}: conflicting counter resets during histogram ${op}`, pos);
}

/** Custom-bucket histograms with different bounds reduced to the bounds they share. */
export function mismatchedCustomBucketsHistogramsInfo(op: HistogramOperation, pos: PosRange | null): Annotation {
  return simple("info", `${INFO}: mismatched custom buckets were reconciled during ${op}`, pos);
}
