// What a native histogram weighs in a query's sample limit and sample statistics, as Prometheus 3 counts it: not
// one sample but its in-memory size in units of a float sample (a 16-byte timestamp and value). Prometheus weighs
// a histogram by the size of its float histogram struct, so two rules exist, both kept here exactly: the weight of
// a point held in a series or a window (HPoint.size), and the weight of a sample in an instant vector a step
// produced (Vector.TotalSamples).

import type { Histogram } from "./histogram.ts";

/** Bytes of a float sample (timestamp and value): the unit histogram sizes are counted in. */
const FLOAT_SAMPLE_BYTES = 16;
/** Bytes of a histogram point's timestamp. */
const TIMESTAMP_BYTES = 8;
/** Bytes of Prometheus's float histogram struct without its slices' contents (hint, schema, zero threshold and
 * count, count, sum and five slice headers). */
const HISTOGRAM_STRUCT_BYTES = 168;
/** Bytes of one span (offset and length), one bucket count and one custom bound. */
const ELEMENT_BYTES = 8;

/** The in-memory size (bytes) Prometheus gives histogram `h`: the struct plus 8 bytes per span, bucket count and
 * custom bound. At least 168. */
export function histogramBytes(h: Histogram): number {
  const elements =
    h.positiveSpans.length +
    h.negativeSpans.length +
    h.positiveBuckets.length +
    h.negativeBuckets.length +
    h.customValues.length;
  return HISTOGRAM_STRUCT_BYTES + ELEMENT_BYTES * elements;
}

/** Float samples a histogram point (with its timestamp) weighs when held in a series or a window: its bytes and
 * timestamp in float samples, rounded down (at least 11). */
export function histogramPointSamples(h: Histogram): number {
  return Math.floor((histogramBytes(h) + TIMESTAMP_BYTES) / FLOAT_SAMPLE_BYTES);
}

/** Float samples a histogram weighs in the instant vector of one step: one sample plus its bytes in float samples,
 * rounded down. One more than {@link histogramPointSamples} when the bytes are an odd multiple of 8. */
export function histogramVectorSamples(h: Histogram): number {
  return 1 + Math.floor(histogramBytes(h) / FLOAT_SAMPLE_BYTES);
}
