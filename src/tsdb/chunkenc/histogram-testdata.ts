// Histogram sample sequences shared by the chunk tests and the Prometheus interop tests: each walks through what
// the chunk encodings must handle (growing counts, new buckets, a sample lacking an empty bucket, a counter reset,
// a schema change, gauges, a stale marker).

import type { BucketSpan, Histogram } from "../../model/histogram.ts";
import { CounterResetHint } from "../../model/histogram.ts";
import { STALE_NAN } from "../encoding/float-bits.ts";
import { appendHistogramSample, newHistogramAppender } from "./histogram-append.ts";

/** Builds a histogram from the fields that differ between test samples. */
export function hist(o: {
  readonly integer?: boolean;
  readonly hint?: CounterResetHint;
  readonly schema?: number;
  readonly zeroThreshold?: number;
  readonly zeroCount?: number;
  readonly sum: number;
  readonly pos?: readonly BucketSpan[];
  readonly posCounts?: readonly number[];
  readonly neg?: readonly BucketSpan[];
  readonly negCounts?: readonly number[];
  readonly customValues?: readonly number[];
}): Histogram {
  const posCounts = o.posCounts ?? [];
  const negCounts = o.negCounts ?? [];
  const zeroCount = o.zeroCount ?? 0;
  let count = zeroCount;
  for (const c of posCounts) count += c;
  for (const c of negCounts) count += c;
  return {
    integer: o.integer ?? true,
    counterResetHint: o.hint ?? CounterResetHint.unknown,
    schema: o.schema ?? 3,
    zeroThreshold: o.zeroThreshold ?? 2 ** -128,
    zeroCount,
    count,
    sum: o.sum,
    positiveSpans: o.pos ?? [],
    negativeSpans: o.neg ?? [],
    positiveBuckets: posCounts,
    negativeBuckets: negCounts,
    customValues: o.customValues ?? [],
  };
}

/** A stale marker of either kind. */
export function staleMarker(integer: boolean): Histogram {
  return hist({ integer, sum: STALE_NAN });
}

/** A counter histogram's life: growth, a new bucket (recode), a missing empty bucket, a reset, a schema change. */
export function counterSequence(integer: boolean): Histogram[] {
  const pos = [
    { offset: 0, length: 2 },
    { offset: 1, length: 2 },
  ];
  const neg = [{ offset: -2, length: 1 }];
  const wider = [
    { offset: 0, length: 5 },
    { offset: 3, length: 1 },
  ];
  const lacking = [
    { offset: 0, length: 2 },
    { offset: 1, length: 2 },
    { offset: 3, length: 1 },
  ];
  const f = integer ? 1 : 0.25;
  return [
    hist({ integer, sum: 10.5, zeroCount: 1, pos, posCounts: [1, 2, 3, 4], neg, negCounts: [1] }),
    hist({ integer, sum: 12.25, zeroCount: 1, pos, posCounts: [2, 2, 4, 5], neg, negCounts: [1] }),
    hist({ integer, sum: 15, zeroCount: 2, pos, posCounts: [3, 3, 5, 5 + f], neg, negCounts: [2] }),
    // Buckets 2 and 8 are new: the chunk is recoded.
    hist({ integer, sum: 20, zeroCount: 2, pos: wider, posCounts: [4, 3, 0, 6, 7, 1], neg, negCounts: [2] }),
    // Bucket 2 is missing but was empty: the sample gets it as a zero bucket.
    hist({ integer, sum: 26.5, zeroCount: 3, pos: lacking, posCounts: [5, 4, 7, 9, 2], neg, negCounts: [3] }),
    // Counts go down: a counter reset.
    hist({ integer, sum: 1, zeroCount: 0, pos, posCounts: [1, 0, 0, 1], neg, negCounts: [0] }),
    hist({ integer, sum: 3.5, zeroCount: 1, pos, posCounts: [1, 1, 0, 2], neg, negCounts: [0] }),
    // Schema change.
    hist({ integer, schema: 2, sum: 4, zeroCount: 1, pos, posCounts: [2, 1, 0, 2], neg, negCounts: [0] }),
    hist({ integer, schema: 2, sum: 4.5, zeroCount: 1, pos: [{ offset: 0, length: 1 }], posCounts: [3] }),
    staleMarker(integer),
  ];
}

/** A gauge histogram going up and down, losing and gaining buckets. */
export function gaugeSequence(integer: boolean): Histogram[] {
  const g = CounterResetHint.gauge;
  const a = [{ offset: 1, length: 3 }];
  const b = [
    { offset: 0, length: 1 },
    { offset: 1, length: 2 },
  ];
  return [
    hist({ integer, hint: g, sum: 5, pos: a, posCounts: [1, 2, 3] }),
    hist({ integer, hint: g, sum: 2, pos: a, posCounts: [0, 1, 1] }),
    hist({ integer, hint: g, sum: -3, pos: b, posCounts: [4, 1, 0], neg: [{ offset: 0, length: 1 }], negCounts: [2] }),
    hist({ integer, hint: g, sum: 7, pos: a, posCounts: [2, 2, 2] }),
  ];
}

/** The chunks (bytes) a head would build from the samples, cutting only where the encoding demands it. */
export function encodeSequence(samples: readonly (readonly [number, Histogram])[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let app = newHistogramAppender(!(samples[0]?.[1].integer ?? true));
  for (const [t, h] of samples) {
    const o = appendHistogramSample(app, null, t, h);
    if (o.kind === "cut") out.push(app.bytes().slice());
    app = o.appender;
  }
  out.push(app.bytes().slice());
  return out;
}
