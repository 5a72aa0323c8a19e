// Histogram values as the histogram chunks give them back: the hint a sample gets from its chunk's counter-reset
// header, and the stale marker (a histogram whose sum is Prometheus's StaleNaN and nothing else).

import type { Histogram } from "../../model/histogram.ts";
import { CounterResetHint } from "../../model/histogram.ts";
import type { ChunkLayout } from "./histogram-layout.ts";
import { CounterResetHeader } from "./histogram-layout.ts";

/** The layout a chunk gets when its first sample is a stale marker: schema 0, no zero bucket, no buckets. */
export const STALE_LAYOUT: ChunkLayout = {
  schema: 0,
  zeroThreshold: 0,
  positiveSpans: [],
  negativeSpans: [],
  customValues: [],
};

/** A stale histogram marker with the sum `staleSum` (a StaleNaN); `integer` says which chunk kind it came from. */
export function staleHistogram(staleSum: number, integer: boolean): Histogram {
  return {
    integer,
    counterResetHint: CounterResetHint.unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    sum: staleSum,
    positiveSpans: [],
    negativeSpans: [],
    positiveBuckets: [],
    negativeBuckets: [],
    customValues: [],
  };
}

/**
 * The hint of the `read`-th sample (1-based) of a chunk with header `crh`, as Prometheus 3 gives it: gauge chunks
 * hold gauges, samples after the first cannot follow a reset, and the first is "unknown" whatever the header says
 * (the previous chunk may be gone, or added later out of order).
 */
export function hintOf(crh: CounterResetHeader, read: number): CounterResetHint {
  if (crh === CounterResetHeader.gauge) return CounterResetHint.gauge;
  if (read > 1) return CounterResetHint.notCounterReset;
  return CounterResetHint.unknown;
}
