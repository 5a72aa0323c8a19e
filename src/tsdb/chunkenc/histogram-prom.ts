// Test support: sending native histograms to a real Prometheus over remote write 1.0 (its prompb.Histogram
// message) and encoding whole sample sequences into chunks the way a head would, for the interop tests.

import type { Histogram } from "../../model/histogram.ts";
import { CounterResetHint } from "../../model/histogram.ts";
import { ProtoWriter, WIRE_FIXED64, WIRE_VARINT } from "../../storage/remote/protobuf.ts";
import { SnappyEncoder } from "../encoding/snappy.ts";
import { appendHistogramSample, newHistogramAppender } from "./histogram-append.ts";

/** One series to send: a metric name and its samples (ms, histogram). */
export interface HistogramSeries {
  readonly name: string;
  readonly samples: readonly (readonly [number, Histogram])[];
}

/** prompb.Histogram.ResetHint values by our hint. */
const RESET_HINT = {
  [CounterResetHint.unknown]: 0,
  [CounterResetHint.counterReset]: 1,
  [CounterResetHint.notCounterReset]: 2,
  [CounterResetHint.gauge]: 3,
} as const;

/** Buckets as prompb wants them: integer histograms as deltas between buckets, float ones as counts. */
function writeBuckets(w: ProtoWriter, h: Histogram, counts: readonly number[], deltaField: number): void {
  if (counts.length === 0) return;
  const mark = w.begin(h.integer ? deltaField : deltaField + 1);
  let prev = 0;
  for (const c of counts) {
    if (h.integer) w.sint64(c - prev);
    else w.double(c);
    prev = c;
  }
  w.end(mark);
}

function writeHistogram(w: ProtoWriter, t: number, h: Histogram): void {
  const m = w.begin(4);
  if (h.integer) {
    w.tag(1, WIRE_VARINT);
    w.int64(h.count);
  } else {
    w.tag(2, WIRE_FIXED64);
    w.double(h.count);
  }
  w.tag(3, WIRE_FIXED64);
  w.double(h.sum);
  w.tag(4, WIRE_VARINT);
  w.sint64(h.schema);
  w.tag(5, WIRE_FIXED64);
  w.double(h.zeroThreshold);
  if (h.integer) {
    w.tag(6, WIRE_VARINT);
    w.int64(h.zeroCount);
  } else {
    w.tag(7, WIRE_FIXED64);
    w.double(h.zeroCount);
  }
  for (const [field, spans] of [
    [8, h.negativeSpans],
    [11, h.positiveSpans],
  ] as const) {
    for (const s of spans) {
      const sm = w.begin(field);
      w.tag(1, WIRE_VARINT);
      w.sint64(s.offset);
      w.tag(2, WIRE_VARINT);
      w.uint32(s.length);
      w.end(sm);
    }
  }
  writeBuckets(w, h, h.negativeBuckets, 9);
  writeBuckets(w, h, h.positiveBuckets, 12);
  w.tag(14, WIRE_VARINT);
  w.uint32(RESET_HINT[h.counterResetHint]);
  w.tag(15, WIRE_VARINT);
  w.int64(t);
  w.end(m);
}

/** A snappy-compressed remote write 1.0 request carrying the series' histograms. */
export function histogramWriteRequest(series: readonly HistogramSeries[]): Uint8Array {
  const w = new ProtoWriter();
  for (const s of series) {
    const ts = w.begin(1);
    const l = w.begin(1);
    w.tag(1, 2);
    w.string("__name__");
    w.tag(2, 2);
    w.string(s.name);
    w.end(l);
    for (const [t, h] of s.samples) writeHistogram(w, t, h);
    w.end(ts);
  }
  return new SnappyEncoder().encode(w.finish()).slice();
}

/** POSTs the series to a Prometheus remote-write receiver at `url`; throws with its answer on failure. */
export async function sendHistograms(url: string, series: readonly HistogramSeries[]): Promise<void> {
  const res = await fetch(`${url}/api/v1/write`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-protobuf",
      "Content-Encoding": "snappy",
      "X-Prometheus-Remote-Write-Version": "0.1.0",
    },
    body: histogramWriteRequest(series),
  });
  if (res.status >= 300) throw new Error(`remote write answered ${res.status}: ${await res.text()}`);
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
