// An OTLP exponential histogram point as a native histogram (model/histogram.ts), as Prometheus 3's OTLP receiver
// converts it: the scale is the schema, scales above 8 are brought down to 8 by merging 2^(scale-8) buckets into
// one, OTLP's bucket index i (covering (base^i, base^(i+1)]) is Prometheus's index i+1 (Prometheus's bucket j
// covers (base^(j-1), base^j]), and the dense counts become spans, a gap of more than two empty buckets starting a
// new span.
// Counts stay integers. A point with no recorded value becomes a stale histogram (StaleNaN sum).

import {
  type BucketSpan,
  CounterResetHint,
  type Histogram,
  MAX_EXPONENTIAL_SCHEMA,
  MIN_EXPONENTIAL_SCHEMA,
} from "../../model/histogram.ts";
import { STALE_NAN } from "../../model/sample.ts";
import { type ExpBuckets, type ExpHistogramPoint, FLAG_NO_RECORDED_VALUE } from "./model.ts";

/** OTLP's highest scale (opentelemetry-proto: scale is at most 20). */
export const MAX_OTLP_SCALE = 20;

/** Lowest and highest bucket index accepted (OTLP's offsets are sint32). */
const MIN_INDEX = -(2 ** 31);
const MAX_INDEX = 2 ** 31 - 1;

/**
 * Prometheus's zero bucket width when the sender gives none: OTLP's zero bucket holds exact zeros, and Prometheus
 * 3's receiver uses this smallest width for them.
 */
export const DEFAULT_ZERO_THRESHOLD = 1e-128;

/** Most empty buckets kept inside a span: a longer gap starts a new span (as client_golang and Prometheus do). */
const MAX_SPAN_GAP = 2;

interface Side {
  readonly spans: BucketSpan[];
  readonly buckets: number[];
  readonly total: number;
}

// The spans and absolute counts of one side, `scaleDown` halvings coarser, Prometheus's indexes (OTLP's + 1).
function side(b: ExpBuckets, scaleDown: number): Side {
  const spans: BucketSpan[] = [];
  const buckets: number[] = [];
  const div = 2 ** scaleDown;
  let total = 0;
  let last = 0; // Prometheus index of the last bucket appended
  let pendingIdx = 0;
  let pending = 0;
  let havePending = false;
  const flush = () => {
    if (!havePending || pending === 0) return;
    if (buckets.length === 0) spans.push({ offset: pendingIdx, length: 1 });
    else {
      const gap = pendingIdx - last - 1;
      if (gap > MAX_SPAN_GAP) spans.push({ offset: gap, length: 1 });
      else {
        const s = spans[spans.length - 1];
        for (let j = 0; j < gap; j++) buckets.push(0);
        spans[spans.length - 1] = { offset: s.offset, length: s.length + gap + 1 };
      }
    }
    buckets.push(pending);
    last = pendingIdx;
  };
  for (let i = 0; i < b.counts.length; i++) {
    const idx = Math.floor((b.offset + i) / div) + 1;
    if (havePending && idx === pendingIdx) pending += b.counts[i];
    else {
      flush();
      pendingIdx = idx;
      pending = b.counts[i];
      havePending = true;
    }
    total += b.counts[i];
  }
  flush();
  return { spans, buckets, total };
}

/** The native histogram of `p`, or the reason it cannot be one (for the sender, without the series name). */
export function nativeHistogram(p: ExpHistogramPoint): Histogram | { readonly refused: string } {
  if (!Number.isInteger(p.scale) || p.scale < MIN_EXPONENTIAL_SCHEMA || p.scale > MAX_OTLP_SCALE) {
    return {
      refused: `scale ${p.scale} is outside ${MIN_EXPONENTIAL_SCHEMA}..${MAX_OTLP_SCALE} (native histograms go down to schema ${MIN_EXPONENTIAL_SCHEMA})`,
    };
  }
  for (const b of [p.positive, p.negative]) {
    if (!Number.isSafeInteger(b.offset) || b.offset < MIN_INDEX || b.offset + b.counts.length - 1 > MAX_INDEX) {
      return { refused: `bucket offset ${b.offset} is outside the int32 range of bucket indexes` };
    }
  }
  if (!(p.zeroThreshold >= 0) || !Number.isFinite(p.zeroThreshold)) {
    return { refused: `zero threshold ${p.zeroThreshold} is not a finite number >= 0` };
  }
  const scaleDown = Math.max(0, p.scale - MAX_EXPONENTIAL_SCHEMA);
  const pos = side(p.positive, scaleDown);
  const neg = side(p.negative, scaleDown);
  const stale = (p.flags & FLAG_NO_RECORDED_VALUE) !== 0;
  const inBuckets = pos.total + neg.total + p.zeroCount;
  if (!stale && p.count < inBuckets) {
    return { refused: `count ${p.count} is less than the ${inBuckets} observations in its buckets` };
  }
  return {
    integer: true,
    counterResetHint: CounterResetHint.unknown,
    schema: p.scale - scaleDown,
    zeroThreshold: p.zeroThreshold > 0 ? p.zeroThreshold : DEFAULT_ZERO_THRESHOLD,
    zeroCount: stale ? 0 : p.zeroCount,
    count: stale ? 0 : p.count,
    sum: stale ? STALE_NAN : (p.sum ?? 0),
    positiveSpans: stale ? [] : pos.spans,
    negativeSpans: stale ? [] : neg.spans,
    positiveBuckets: stale ? [] : pos.buckets,
    negativeBuckets: stale ? [] : neg.buckets,
    customValues: [],
  };
}
