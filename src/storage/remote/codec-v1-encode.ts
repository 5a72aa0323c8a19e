// Encodes Remote-Write 1.0's `prometheus.WriteRequest` (the message is drawn in codec-v1.ts, whose decoder reads it)
// the way Go's generated code does: fields in number order, zero scalars and empty strings left out. Used by the
// remote-write sender, the remote-read answer and the tests and benchmarks that build requests.

import type { Labels } from "../../model/labels.ts";
import { isPositiveZero, writeWireHistogram } from "./histogram-wire.ts";
import { ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";
import { metricTypeNumber, type WriteRequestData } from "./types.ts";

/** Writes `labels` as repeated Label messages (name 1, value 2) in field `field`, empty strings left out. */
export function writeLabels(w: ProtoWriter, field: number, labels: Labels): void {
  labels.forEach((name, value) => {
    const m = w.begin(field);
    if (name !== "") {
      w.tag(1, WIRE_LEN);
      w.string(name);
    }
    if (value !== "") {
      w.tag(2, WIRE_LEN);
      w.string(value);
    }
    w.end(m);
  });
}

/**
 * Encodes `req` as a `prometheus.WriteRequest` the way Go's generated code does (fields in number order, zero
 * scalars left out). `series[].metadata` is ignored (1.0 sends `req.metadata`). Returns a view into `w`, valid until
 * `w` is used again; pass a writer to reuse its buffer.
 */
export function encodeWriteRequestV1(req: WriteRequestData, w: ProtoWriter = new ProtoWriter()): Uint8Array {
  w.reset();
  for (const s of req.series) {
    const ts = w.begin(1);
    writeLabels(w, 1, s.labels);
    for (const x of s.samples) writeSample(w, x.t, x.v);
    for (const e of s.exemplars ?? []) {
      const m = w.begin(3);
      writeLabels(w, 1, e.labels);
      if (!isPositiveZero(e.v)) {
        w.tag(2, WIRE_FIXED64);
        w.double(e.v);
      }
      if (e.t !== 0) {
        w.tag(3, WIRE_VARINT);
        w.int64(e.t);
      }
      w.end(m);
    }
    for (const h of s.histograms ?? []) writeWireHistogram(w, 4, h.t, h.h);
    w.end(ts);
  }
  for (const m of req.metadata ?? []) {
    const mark = w.begin(3);
    const type = metricTypeNumber(m.type);
    if (type > 0) {
      w.tag(1, WIRE_VARINT);
      w.uint32(type);
    }
    for (const [field, text] of [
      [2, m.name],
      [4, m.help],
      [5, m.unit],
    ] as const) {
      if (text === "") continue;
      w.tag(field, WIRE_LEN);
      w.string(text);
    }
    w.end(mark);
  }
  return w.finish();
}

/** Writes a TimeSeries' Sample (field 2): value and time in ms, +0 and a zero time left out as Go's encoder does. */
export function writeSample(w: ProtoWriter, t: number, v: number): void {
  const m = w.begin(2);
  if (!isPositiveZero(v)) {
    w.tag(1, WIRE_FIXED64);
    w.double(v);
  }
  if (t !== 0) {
    w.tag(2, WIRE_VARINT);
    w.int64(t);
  }
  w.end(m);
}
