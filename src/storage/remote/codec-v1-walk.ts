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
    const walked = walk(new ProtoReader(body), limits);
    return keys === null ? walked : numberKeys(body, walked, keys);
  } catch {
    // A protobuf error, or NOT_PLAIN: the full decoder says which, and where.
    return null;
  }
}

// Numbers each series' label bytes in `keys`, adding those it has not seen. When `keys` fills up and starts over
// (a new generation), the series numbered before in this request lose their numbers: they were of the old one.
function numberKeys(body: Uint8Array, walked: WalkedV1, keys: SeriesCache): WalkedV1 {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
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

function walk(r: ProtoReader, limits: WalkLimits): WalkedV1 {
  let count = 0;
  while (!r.done()) {
    if (r.tag() !== KEY_TIMESERIES) throw NOT_PLAIN;
    r.pos = r.lengthDelimited();
    count++;
  }
  if (count > limits.maxSeriesPerWrite) throw NOT_PLAIN;
  const series = new Int32Array(WALK_STRIDE * count);
  let samples = new Float64Array(2 * count);
  let nSamples = 0;
  const total = r.end;
  r.pos = 0;
  for (let s = 0; s < count; s++) {
    r.tag();
    const end = r.lengthDelimited();
    r.end = end;
    let labelsFrom = -1;
    let labelsTo = -1;
    let labels = 0;
    let own = 0;
    while (!r.done()) {
      const fieldStart = r.pos;
      const key = r.tag();
      if (key === KEY_LABEL) {
        const e = r.lengthDelimited();
        if (labelsFrom < 0) labelsFrom = fieldStart;
        else if (labelsTo !== fieldStart) throw NOT_PLAIN;
        labelsTo = e;
        // The label's own fields are read on the storage's thread, on a cache miss only: a hit's bytes are those
        // of a set read before, and a malformed label fails there with the full decoder's error, in order.
        r.pos = e;
        labels++;
      } else if (key === KEY_SAMPLE) {
        const e = r.lengthDelimited();
        if (nSamples >= limits.maxSamplesPerWrite) throw NOT_PLAIN;
        if (2 * nSamples + 2 > samples.length) {
          const grown = new Float64Array(2 * samples.length + 2);
          grown.set(samples);
          samples = grown;
        }
        readSample(r, e, samples, 2 * nSamples);
        nSamples++;
        own++;
      } else if (key >>> 3 <= 4) throw NOT_PLAIN;
      else r.skip(key & 7);
    }
    if (labels === 0 || labels > limits.maxLabelNamesPerSeries) throw NOT_PLAIN;
    const at = WALK_STRIDE * s;
    series[at] = labelsFrom;
    series[at + 1] = labelsTo;
    series[at + 2] = labels;
    series[at + 3] = own;
    series[at + WALK_KEY] = NO_ENTRY;
    r.pos = end;
    r.end = total;
  }
  const used = nSamples * 2 === samples.length ? samples : samples.slice(0, 2 * nSamples);
  return { series, samples: used, generation: -1 };
}

// One Sample message [r.pos, end) into `out[at]` (time, ms) and `out[at + 1]` (value); missing fields are zero.
function readSample(r: ProtoReader, end: number, out: Float64Array, at: number): void {
  const outer = r.end;
  r.end = end;
  let t = 0;
  let v = 0;
  while (!r.done()) {
    const key = r.tag();
    if (key === KEY_SAMPLE_VALUE) v = r.double();
    else if (key === KEY_SAMPLE_TIMESTAMP) t = r.int64();
    else if (key >>> 3 === 1 || key >>> 3 === 2) throw NOT_PLAIN;
    else r.skip(key & 7);
  }
  out[at] = t;
  out[at + 1] = v;
  r.end = outer;
}
