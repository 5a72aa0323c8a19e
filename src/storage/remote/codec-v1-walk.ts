// The storage-free part of decoding a Remote-Write 1.0 `prometheus.WriteRequest` (codec-v1.ts), done where the
// body was decompressed (an ingest decode worker): the protobuf walk. It notes where each series' label fields lie
// and decodes its float samples into one flat array, and, given the worker's key table, numbers each series by its
// label bytes, so the thread owning the storage finds each series by that number (key-index.ts) with no byte compare
// of its own, and appends. Its output is two transferable arrays.
//
// Only plain requests are walked: series with contiguous label fields, float samples and nothing else, within the
// request's count limits, and well-formed (but for the insides of Label messages, which the storage's thread reads
// on a cache miss, as the full decoder does, failing at the same series with the same error). Anything else (metadata, exemplars, native histograms, a 2.0 body, a
// series over the label count limit or without labels, any protobuf error, a request over a count limit) makes the
// walk give up, and the storage's thread decodes the message itself with the full decoder, which says exactly what
// is wrong as it always did. The answers are therefore the full decoder's in every case.

import { ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";
import { NO_ENTRY, SeriesCache } from "./series-cache.ts";
import type { DecodeLimits } from "./types.ts";

/**
 * Ints per series in {@link WalkedV1.series}: label fields' start and end (bytes of the message), labels, samples,
 * and the key number of the label bytes in the walking worker's key table (NO_ENTRY: not numbered).
 */
export const WALK_STRIDE = 5;

/** Where a series' key number is in its {@link WALK_STRIDE} ints. */
export const WALK_KEY = 4;

/**
 * A walked 1.0 request: per series [labelsFrom, labelsTo, labels, samples, key], and every sample as (t ms, value).
 * Key numbers name the same label bytes only within one key table (one worker) and one `generation` of it.
 */
export interface WalkedV1 {
  /** {@link WALK_STRIDE} ints per series, in request order. Owned by the receiver (transferred). */
  readonly series: Int32Array;
  /** Sample times (ms) and values, in series order, two per sample. Owned by the receiver (transferred). */
  readonly samples: Float64Array;
  /** The key table's generation the numbers belong to; -1 when the walk numbered nothing. */
  readonly generation: number;
}

/** The limits the walk needs: a request over them is left to the full decoder, which refuses it. */
export type WalkLimits = Pick<DecodeLimits, "maxSeriesPerWrite" | "maxSamplesPerWrite" | "maxLabelNamesPerSeries">;

const KEY_TIMESERIES = (1 << 3) | WIRE_LEN;
const KEY_LABEL = (1 << 3) | WIRE_LEN;
const KEY_SAMPLE = (2 << 3) | WIRE_LEN;
const KEY_SAMPLE_VALUE = (1 << 3) | WIRE_FIXED64;
const KEY_SAMPLE_TIMESTAMP = (2 << 3) | WIRE_VARINT;

/** Why the walk gives up: the message is left to the full decoder. */
class NotPlain extends Error {}
const NOT_PLAIN = new NotPlain();

/**
 * Walks the 1.0 message `body` under `limits`, numbering its series' label bytes in `keys` when given (a table used
 * for numbering only: its entries' refs and label lengths are not kept). Returns null when the request is not plain
 * (see above): the caller then decodes it with WriteRequestV1Decoder.decode. Never throws.
 */
export function walkWriteRequestV1(
  body: Uint8Array,
  limits: WalkLimits,
  keys: SeriesCache | null = null,
): WalkedV1 | null {
  try {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const walked = walk(body, view, limits);
    return keys === null ? walked : numberKeys(view, walked, keys);
  } catch {
    // A protobuf error, or NOT_PLAIN: the full decoder says which, and where.
    return null;
  }
}

// Numbers each series' label bytes in `keys`, adding those it has not seen. When `keys` fills up and starts over
// (a new generation), the series numbered before in this request lose their numbers: they were of the old one.
function numberKeys(view: DataView, walked: WalkedV1, keys: SeriesCache): WalkedV1 {
  const series = walked.series;
  let generation = keys.generation;
  let prev = NO_ENTRY;
  for (let at = 0; at < series.length; at += WALK_STRIDE) {
    const from = series[at];
    const to = series[at + 1];
    let e = NO_ENTRY;
    if (SeriesCache.cacheable(to - from)) {
      e = keys.find(view, from, to, prev);
      if (e === NO_ENTRY) {
        e = keys.add(view, from, to, keys.lastHash, 0, 0);
        if (keys.generation !== generation) {
          for (let k = WALK_KEY; k < at; k += WALK_STRIDE) series[k] = NO_ENTRY;
          generation = keys.generation;
        }
      }
      if (e !== NO_ENTRY && prev !== NO_ENTRY) keys.follow(prev, e);
    }
    series[at + WALK_KEY] = e;
    if (e !== NO_ENTRY) prev = e;
  }
  return { series, samples: walked.samples, generation };
}

/** Where the contents of the field whose end {@link fieldEnd} returned start (module state: one walk at a time). */
let contentsAt = 0;

/**
 * The end of the contents of the length-delimited field whose length varint is at `b[p]`, within `end`; leaves
 * where the contents start in `contentsAt`. Lengths of more than 4 varint bytes (256 MiB) are left to the full
 * decoder, as is a field running past `end`.
 */
function fieldEnd(b: Uint8Array, p: number, end: number): number {
  let n = 0;
  for (let shift = 0; ; shift += 7) {
    if (p >= end || shift > 21) throw NOT_PLAIN;
    const x = b[p++];
    n |= (x & 0x7f) << shift;
    if (x < 0x80) break;
  }
  if (n > end - p) throw NOT_PLAIN;
  contentsAt = p;
  return p + n;
}

/** Where the varint {@link timestampAt} read ends (module state: one walk at a time). */
let afterTimestamp = 0;
/** Timestamp varints up to this many bytes (49 bits) are summed exactly here; longer ones go through ProtoReader. */
const SHORT_TIMESTAMP_BYTES = 7;

/**
 * The int64 varint at `b[p]`, within `end` (a timestamp, ms), as ProtoReader.int64 reads it; leaves where it ends
 * in `afterTimestamp`.
 */
function timestampAt(b: Uint8Array, p: number, end: number): number {
  let v = 0;
  let scale = 1;
  for (let i = 0; i < SHORT_TIMESTAMP_BYTES; i++, scale *= 128) {
    if (p + i >= end) throw NOT_PLAIN;
    const x = b[p + i];
    v += (x & 0x7f) * scale;
    if (x < 0x80) {
      afterTimestamp = p + i + 1;
      return v;
    }
  }
  // Past 2^49 (negative timestamps are ten bytes): the reader's 64-bit arithmetic and its rounding.
  const r = new ProtoReader(b, p, end);
  v = r.int64();
  afterTimestamp = r.pos;
  return v;
}

// The walk reads the message's bytes directly, with the one-byte field keys of a plain request compared as bytes:
// a key in a longer varint form, a field this walk does not expect (unknown ones included) or an over-long length
// leaves the request to the full decoder, which reads every form and says what is wrong, so the answers stay its
// own. Inlined reads instead of ProtoReader's calls halved the walk's time.
function walk(b: Uint8Array, view: DataView, limits: WalkLimits): WalkedV1 {
  const total = b.length;
  let count = 0;
  for (let p = 0; p < total; count++) {
    if (b[p] !== KEY_TIMESERIES) throw NOT_PLAIN;
    p = fieldEnd(b, p + 1, total);
  }
  if (count > limits.maxSeriesPerWrite) throw NOT_PLAIN;
  const series = new Int32Array(WALK_STRIDE * count);
  let samples = new Float64Array(2 * count);
  let nSamples = 0;
  const maxSamples = limits.maxSamplesPerWrite;
  let p = 0;
  for (let s = 0; s < count; s++) {
    const end = fieldEnd(b, p + 1, total);
    p = contentsAt;
    let labelsFrom = -1;
    let labelsTo = -1;
    let labels = 0;
    let own = 0;
    while (p < end) {
      const key = b[p];
      if (key === KEY_LABEL) {
        // The label's own fields are read on the storage's thread, on a cache miss only: a hit's bytes are those
        // of a set read before, and a malformed label fails there with the full decoder's error, in order.
        if (labelsFrom < 0) labelsFrom = p;
        else if (labelsTo !== p) throw NOT_PLAIN;
        p = fieldEnd(b, p + 1, end);
        labelsTo = p;
        labels++;
      } else if (key === KEY_SAMPLE) {
        const e = fieldEnd(b, p + 1, end);
        p = contentsAt;
        if (nSamples >= maxSamples) throw NOT_PLAIN;
        if (2 * nSamples + 2 > samples.length) {
          const grown = new Float64Array(2 * samples.length + 2);
          grown.set(samples);
          samples = grown;
        }
        // One Sample message: missing fields are zero; a repeated one counts last, as in the full decoder.
        let t = 0;
        let v = 0;
        while (p < e) {
          const k = b[p];
          if (k === KEY_SAMPLE_VALUE) {
            if (p + 9 > e) throw NOT_PLAIN;
            v = view.getFloat64(p + 1, true);
            p += 9;
          } else if (k === KEY_SAMPLE_TIMESTAMP) {
            t = timestampAt(b, p + 1, e);
            p = afterTimestamp;
          } else throw NOT_PLAIN;
        }
        samples[2 * nSamples] = t;
        samples[2 * nSamples + 1] = v;
        nSamples++;
        own++;
      } else throw NOT_PLAIN;
    }
    if (labels === 0 || labels > limits.maxLabelNamesPerSeries) throw NOT_PLAIN;
    const at = WALK_STRIDE * s;
    series[at] = labelsFrom;
    series[at + 1] = labelsTo;
    series[at + 2] = labels;
    series[at + 3] = own;
    series[at + WALK_KEY] = NO_ENTRY;
  }
  const used = nSamples * 2 === samples.length ? samples : samples.slice(0, 2 * nSamples);
  return { series, samples: used, generation: -1 };
}
