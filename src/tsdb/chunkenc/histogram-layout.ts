// Bucket layouts of the histogram chunks: the chunk's layout (schema, zero threshold, spans, custom bounds) as
// written before its first sample, and the comparison of a chunk's layout with a new sample's that decides whether
// the sample fits, needs the chunk recoded with more buckets, or needs a new chunk (Prometheus's appendable rules).

import type { BucketSpan } from "../../model/histogram.ts";
import { CUSTOM_BUCKETS_SCHEMA } from "../../model/histogram.ts";
import type { BitReader, BitWriter } from "../encoding/bstream.ts";
import {
  putCustomBound,
  putVarbitInt,
  putVarbitUint,
  putZeroThreshold,
  readCustomBound,
  readVarbitInt,
  readVarbitUint,
  readZeroThreshold,
} from "./varbit.ts";

/** Bytes of a histogram chunk's header: 2 for the sample count, 1 whose top 2 bits are the counter-reset header. */
export const HISTOGRAM_HEADER_SIZE = 3;
/** Position of the counter-reset header byte. */
export const HISTOGRAM_FLAG_POS = 2;
/** Mask of the counter-reset header bits in that byte. */
export const COUNTER_RESET_MASK = 0b1100_0000;

/** The counter-reset header of a histogram chunk (the top two bits of byte 2). */
export const CounterResetHeader = {
  unknown: 0b0000_0000,
  notCounterReset: 0b0100_0000,
  counterReset: 0b1000_0000,
  gauge: 0b1100_0000,
} as const;

/** One of the {@link CounterResetHeader} values. */
export type CounterResetHeader = (typeof CounterResetHeader)[keyof typeof CounterResetHeader];

/** Most spans or bounds a chunk layout may declare; larger counts are corruption, not data. */
const MAX_LAYOUT_ITEMS = 1 << 16;

/** The part of a histogram fixed for a whole chunk. */
export interface ChunkLayout {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly positiveSpans: readonly BucketSpan[];
  readonly negativeSpans: readonly BucketSpan[];
  /** Custom-buckets schema only; empty otherwise. */
  readonly customValues: readonly number[];
}

/** Writes the layout as Prometheus does before the first sample; bounds only for the custom-buckets schema. */
export function writeLayout(w: BitWriter, l: ChunkLayout): void {
  putZeroThreshold(w, l.zeroThreshold);
  putVarbitInt(w, l.schema);
  writeSpans(w, l.positiveSpans);
  writeSpans(w, l.negativeSpans);
  if (l.schema === CUSTOM_BUCKETS_SCHEMA) {
    putVarbitUint(w, l.customValues.length);
    for (const b of l.customValues) putCustomBound(w, b);
  }
}

function writeSpans(w: BitWriter, spans: readonly BucketSpan[]): void {
  putVarbitUint(w, spans.length);
  for (const s of spans) {
    putVarbitUint(w, s.length);
    putVarbitInt(w, s.offset);
  }
}

/** Reads a layout written by `writeLayout`; null when it is malformed (the reader's error says where). */
export function readLayout(r: BitReader): ChunkLayout | null {
  const zeroThreshold = readZeroThreshold(r);
  const schema = readVarbitInt(r);
  const positiveSpans = readSpans(r);
  const negativeSpans = readSpans(r);
  if (positiveSpans === null || negativeSpans === null) return null;
  const customValues: number[] = [];
  if (schema === CUSTOM_BUCKETS_SCHEMA) {
    const n = readVarbitUint(r);
    if (n > MAX_LAYOUT_ITEMS) return null;
    for (let i = 0; i < n && r.err() === null; i++) customValues.push(readCustomBound(r));
  }
  if (r.err() !== null) return null;
  return { schema, zeroThreshold, positiveSpans, negativeSpans, customValues };
}

function readSpans(r: BitReader): BucketSpan[] | null {
  const n = readVarbitUint(r);
  if (n > MAX_LAYOUT_ITEMS) return null;
  const spans: BucketSpan[] = [];
  for (let i = 0; i < n && r.err() === null; i++) {
    const length = readVarbitUint(r);
    const offset = readVarbitInt(r);
    spans.push({ offset, length });
  }
  return spans;
}

/** Total number of buckets the spans name. */
export function countBuckets(spans: readonly BucketSpan[]): number {
  let n = 0;
  for (const s of spans) n += s.length;
  return n;
}

/** The absolute bucket index of each bucket the spans name, in order. */
export function bucketIndices(spans: readonly BucketSpan[]): number[] {
  const out: number[] = [];
  let idx = 0;
  for (let i = 0; i < spans.length; i++) {
    idx += spans[i].offset;
    for (let j = 0; j < spans[i].length; j++) out.push(idx++);
  }
  return out;
}

/** Spans naming exactly the sorted absolute `indices`, adjacent buckets merged (Prometheus's addBucket). */
export function spansOf(indices: readonly number[]): BucketSpan[] {
  const out: { offset: number; length: number }[] = [];
  let last = 0;
  for (const b of indices) {
    const gap = b - last - 1;
    const cur = out[out.length - 1];
    if (gap === 0 && cur !== undefined) cur.length++;
    else out.push({ offset: out.length === 0 ? gap + 1 : gap, length: 1 });
    last = b;
  }
  return out;
}

/** How one side's buckets of a new sample relate to the chunk's. */
export interface SideExpansion {
  /** The chunk lacks buckets the sample has: the chunk must be recoded with more buckets. */
  readonly forward: boolean;
  /** The sample lacks buckets the chunk has: the sample gets them as zeros. */
  readonly backward: boolean;
  /** Sorted absolute indices of the buckets of both. */
  readonly union: readonly number[];
}

/**
 * Compares one side of the chunk (spans `a`, absolute counts `aCounts`) with the sample's (`b`, `bCounts`). For a
 * counter (`gauge` false) returns null on a reset: a bucket's count went down, or a non-empty bucket disappeared.
 */
export function expandSide(
  a: readonly BucketSpan[],
  b: readonly BucketSpan[],
  aCounts: readonly number[],
  bCounts: readonly number[],
  gauge: boolean,
): SideExpansion | null {
  const ai = bucketIndices(a);
  const bi = bucketIndices(b);
  const union: number[] = [];
  let forward = false;
  let backward = false;
  let i = 0;
  let j = 0;
  while (i < ai.length || j < bi.length) {
    if (j >= bi.length || (i < ai.length && ai[i] < bi[j])) {
      // Only in the chunk: fine when empty (or for gauges); the sample gets a zero bucket there.
      if (!gauge && aCounts[i] !== 0) return null;
      backward = true;
      union.push(ai[i++]);
    } else if (i >= ai.length || bi[j] < ai[i]) {
      forward = true;
      union.push(bi[j++]);
    } else {
      if (!gauge && aCounts[i] > bCounts[j]) return null;
      union.push(ai[i]);
      i++;
      j++;
    }
  }
  return { forward, backward, union };
}

/**
 * The counts of `counts` (laid out by `from`) laid out by `to`, which names a superset of its buckets; the new
 * buckets are 0.
 */
export function relayout(counts: readonly number[], from: readonly BucketSpan[], to: readonly BucketSpan[]): number[] {
  const fi = bucketIndices(from);
  const ti = bucketIndices(to);
  const out = new Array<number>(ti.length).fill(0);
  let k = 0;
  for (let i = 0; i < ti.length && k < fi.length; i++) {
    if (ti[i] === fi[k]) out[i] = counts[k++];
  }
  return out;
}

/** True when two custom-bound lists are equal. */
export function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
