// A native histogram as alert templates see it: Prometheus 3 hands templates the sample's *histogram.FloatHistogram
// as `$value` (and as `.Value` of a `query` result), so its fields read as `$value.Count`, `$value.Sum`..., it
// prints through its String method (`{count:5, sum:12.5, (1,2]:3, (2,4]:2}`), and functions that need a number
// (`humanize`, comparisons) fail on it as they do there.

import type { BucketSpan, Histogram } from "../../model/histogram.ts";
import { allBuckets } from "../../model/histogram-buckets.ts";
import { formatFloat, TStruct, type TValue } from "./values.ts";

/** Go's type name of a histogram value. */
export const HISTOGRAM_TYPE = "*histogram.FloatHistogram";

function spans(list: readonly BucketSpan[]): TValue[] {
  return list.map(
    (s) =>
      new TStruct(
        "histogram.Span",
        new Map<string, TValue>([
          ["Offset", BigInt(s.offset)],
          ["Length", BigInt(s.length)],
        ]),
      ),
  );
}

/** FloatHistogram's String: count, sum, then each populated bucket in ascending order as `(lower,upper]:count`. */
export function histogramText(h: Histogram): string {
  let s = `{count:${formatFloat(h.count)}, sum:${formatFloat(h.sum)}`;
  for (const b of allBuckets(h, true)) {
    const open = b.lowerInclusive ? "[" : "(";
    const close = b.upperInclusive ? "]" : ")";
    s += `, ${open}${formatFloat(b.lower)},${formatFloat(b.upper)}${close}:${formatFloat(b.count)}`;
  }
  return `${s}}`;
}

/** `h` as a template value: the exported fields of Go's FloatHistogram, printed through its String method. */
export function histogramValue(h: Histogram): TStruct {
  return new TStruct(
    HISTOGRAM_TYPE,
    new Map<string, TValue>([
      ["CounterResetHint", BigInt(h.counterResetHint)],
      ["Schema", BigInt(h.schema)],
      ["ZeroThreshold", h.zeroThreshold],
      ["ZeroCount", h.zeroCount],
      ["Count", h.count],
      ["Sum", h.sum],
      ["PositiveSpans", spans(h.positiveSpans)],
      ["NegativeSpans", spans(h.negativeSpans)],
      ["PositiveBuckets", [...h.positiveBuckets]],
      ["NegativeBuckets", [...h.negativeBuckets]],
      ["CustomValues", [...h.customValues]],
    ]),
    histogramText(h),
  );
}
