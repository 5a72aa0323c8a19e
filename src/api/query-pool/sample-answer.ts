// The rules' answer of a query worker (`render: { kind: "samples" }`): an instant query's result as whole samples
// in bytes rather than the API's JSON, which has no room for a native histogram's schema, spans and counter reset
// hint, and takes every float and time through decimal text (NaN payloads lost). Recorded values are then bit for
// bit the engine's, with no formatting or parsing on either side.
//
// Layout (all integers Go varints, floats 8-byte big-endian IEEE 754 bit patterns):
//   uvarint  number of samples
//   per sample:
//     uvarint  number of label pairs, then each pair's name and value as uvarint-length UTF-8
//     varint   time, ms
//     byte     kind: 0 float, 1 integer histogram, 2 float histogram
//     float:     float64 value
//     histogram: the histogram as a float histogram samples record holds one (docs/format/records.md), whatever
//                its kind, so no count is rounded; the kind byte restores `integer`

import { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import type { QueryValue } from "../../promql/engine/index.ts";
import type { InstantSample, InstantVector } from "../../rules/types.ts";
import { Decbuf } from "../../tsdb/encoding/decbuf.ts";
import { Encbuf } from "../../tsdb/encoding/encbuf.ts";
import { decodeHistogram, encodeHistogram } from "../../tsdb/record/histograms.ts";
import { checkSeriesCount } from "../limits.ts";

/** The kind byte of a sample. */
const FLOAT = 0;
const INTEGER_HISTOGRAM = 1;
const FLOAT_HISTOGRAM = 2;

/**
 * Bytes reserved up front per sample (labels, time and value of a typical float sample), up to a cap: the writer
 * grows by doubling past it, so a large answer never reserves more than it needs twice over.
 */
const BYTES_PER_SAMPLE = 128;
const MAX_RESERVED_BYTES = 1 << 20;

/**
 * The samples answer of a query's value: a vector, or a scalar as one unlabelled sample. Throws `execution` for a
 * string or matrix value and `limit_exceeded` for a vector of more than `maxSeries` samples, as the API's answer does.
 * Returns a new array the caller owns.
 */
export function encodeSampleAnswer(value: QueryValue, maxSeries: number): Uint8Array {
  let samples: readonly InstantSample[];
  switch (value.type) {
    case "vector":
      checkSeriesCount(value.samples.length, { maxSeries });
      samples = value.samples;
      break;
    case "scalar":
      samples = [{ labels: Labels.EMPTY, t: value.t, v: value.v }];
      break;
    case "string":
    case "matrix":
      throw new ContrailError(
        "execution",
        `rule expression must give an instant vector or a scalar, got a ${value.type}`,
      );
  }
  const out = new Encbuf(Math.min(MAX_RESERVED_BYTES, BYTES_PER_SAMPLE * (samples.length + 1)));
  out.putUvarint(samples.length);
  for (const s of samples) {
    out.putUvarint(s.labels.size);
    s.labels.forEach((name, v) => {
      out.putUvarintStr(name);
      out.putUvarintStr(v);
    });
    out.putVarint(s.t);
    if (s.h === undefined) {
      out.putByte(FLOAT);
      out.putBE64Float(s.v);
    } else {
      out.putByte(s.h.integer ? INTEGER_HISTOGRAM : FLOAT_HISTOGRAM);
      encodeHistogram(out, s.h.integer ? { ...s.h, integer: false } : s.h);
    }
  }
  return out.get();
}

function malformed(why: string): ContrailError {
  return new ContrailError("internal", `malformed samples answer from a query worker: ${why}`);
}

/** Reads a samples answer (its chunks in order); throws `internal` when it is malformed. */
export function decodeSampleAnswer(body: readonly Uint8Array[]): InstantVector {
  const bytes = body.length === 1 ? body[0] : Buffer.concat(body);
  const dec = new Decbuf(bytes);
  const n = dec.uvarint();
  // Every sample takes at least 3 bytes: a label count, a time and a kind.
  if (n > dec.remaining()) throw malformed(`${n} samples in ${bytes.length} bytes`);
  const out: InstantSample[] = [];
  for (let i = 0; i < n && dec.err() === null; i++) {
    const pairs = dec.uvarint();
    if (2 * pairs > dec.remaining()) throw malformed(`${pairs} label pairs in ${dec.remaining()} bytes`);
    const flat: string[] = [];
    for (let k = 0; k < 2 * pairs; k++) flat.push(dec.uvarintStr());
    const labels = Labels.fromSortedUnchecked(flat);
    const t = dec.varint();
    const kind = dec.byte();
    if (kind === FLOAT) {
      out.push({ labels, t, v: dec.be64Float() });
      continue;
    }
    if (kind !== INTEGER_HISTOGRAM && kind !== FLOAT_HISTOGRAM) throw malformed(`sample kind ${kind}`);
    const h = decodeHistogram(dec, false);
    if (h === null) throw malformed(`a histogram of ${labels.toString()}`);
    out.push({ labels, t, v: 0, h: kind === INTEGER_HISTOGRAM ? { ...h, integer: true } : h });
  }
  if (dec.err() !== null) throw malformed(dec.err() ?? "");
  if (dec.remaining() !== 0) throw malformed(`${dec.remaining()} bytes after the last sample`);
  return out;
}
