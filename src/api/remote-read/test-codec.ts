// Test support: the client's side of remote read, as Prometheus's client writes and reads it: ReadRequest
// encoding, ReadResponse decoding, and the frames of a streamed answer decoded (their CRCs checked) and their chunks
// decoded back to samples. Not imported by production code.

import type { Histogram } from "../../model/histogram.ts";
import type { MatchType } from "../../model/matcher.ts";
import { ProtoReader, ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "../../model/protobuf.ts";
import { decodeWireHistogram } from "../../storage/remote/histogram-wire.ts";
import { Encoding } from "../../tsdb/chunkenc/chunk.ts";
import { FloatHistogramIterator } from "../../tsdb/chunkenc/float-histogram.ts";
import { IntHistogramIterator } from "../../tsdb/chunkenc/histogram.ts";
import { XorIterator } from "../../tsdb/chunkenc/xor.ts";
import { crc32c } from "../../tsdb/encoding/crc32c.ts";
import { SnappyDecoder, SnappyEncoder } from "../../tsdb/encoding/snappy.ts";
import type { WireChunk } from "./codec.ts";

/**
 * Posts a remote-read request body as Prometheus's client does (snappy protobuf, version 0.1.0) to
 * `<base>/prometheus/<org>/api/v1/read`; `token` null sends no Authorization header; `method` GET sends no body.
 */
export function postRead(
  base: string,
  org: string,
  token: string | null,
  body: Uint8Array | string,
  method = "POST",
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/x-protobuf",
    "content-encoding": "snappy",
    "x-prometheus-remote-read-version": "0.1.0",
  };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return fetch(`${base}/prometheus/${org}/api/v1/read`, { method, headers, body: method === "GET" ? undefined : body });
}

/** A query as a test sends it; times in ms. */
export interface TestQuery {
  readonly start: number;
  readonly end: number;
  readonly matchers: readonly (readonly [MatchType, string, string])[];
  readonly hints?: { readonly start: number; readonly end: number; readonly func?: string; readonly step?: number };
}

const TYPE_NUMBER: Readonly<Record<MatchType, number>> = { "=": 0, "!=": 1, "=~": 2, "!~": 3 };

/** The ReadRequest message of `queries` and `accepted` (packed, as Go writes it), uncompressed. */
export function encodeReadRequest(queries: readonly TestQuery[], accepted: readonly number[] = []): Uint8Array {
  const w = new ProtoWriter();
  for (const q of queries) {
    const m = w.begin(1);
    w.tag(1, WIRE_VARINT);
    w.int64(q.start);
    w.tag(2, WIRE_VARINT);
    w.int64(q.end);
    for (const [type, name, value] of q.matchers) {
      const lm = w.begin(3);
      w.tag(1, WIRE_VARINT);
      w.uint32(TYPE_NUMBER[type]);
      w.tag(2, WIRE_LEN);
      w.string(name);
      w.tag(3, WIRE_LEN);
      w.string(value);
      w.end(lm);
    }
    if (q.hints !== undefined) {
      const h = w.begin(4);
      w.tag(1, WIRE_VARINT);
      w.int64(q.hints.step ?? 0);
      w.tag(2, WIRE_LEN);
      w.string(q.hints.func ?? "");
      w.tag(3, WIRE_VARINT);
      w.int64(q.hints.start);
      w.tag(4, WIRE_VARINT);
      w.int64(q.hints.end);
      w.end(h);
    }
    w.end(m);
  }
  if (accepted.length > 0) {
    const p = w.begin(2);
    for (const a of accepted) w.uint32(a);
    w.end(p);
  }
  return w.finish().slice();
}

/** The snappy body of a ReadRequest. */
export function readRequestBody(queries: readonly TestQuery[], accepted: readonly number[] = []): Uint8Array {
  return new SnappyEncoder().encodeCopy(encodeReadRequest(queries, accepted));
}

/** One series of a decoded answer: its labels as a record, float samples and histograms in order. */
export interface TestSeries {
  readonly labels: Record<string, string>;
  readonly samples: [number, number][];
  readonly histograms: [number, Histogram][];
}

function labelPair(r: ProtoReader, end: number, into: Record<string, string>): void {
  let name = "";
  let value = "";
  while (r.pos < end) {
    const key = r.tag();
    const e = r.lengthDelimited();
    const s = Buffer.from(r.buf.subarray(r.pos, e)).toString("utf8");
    if (key >>> 3 === 1) name = s;
    else value = s;
    r.pos = e;
  }
  into[name] = value;
}

function timeSeries(r: ProtoReader, end: number): TestSeries {
  const out: TestSeries = { labels: {}, samples: [], histograms: [] };
  while (r.pos < end) {
    const key = r.tag();
    const e = r.lengthDelimited();
    const field = key >>> 3;
    if (field === 1) labelPair(r, e, out.labels);
    else if (field === 2) {
      let t = 0;
      let v = 0;
      while (r.pos < e) {
        const k = r.tag();
        if (k === ((1 << 3) | WIRE_FIXED64)) v = r.double();
        else t = r.int64();
      }
      out.samples.push([t, v]);
    } else if (field === 4) {
      const saved = r.end;
      const d = decodeWireHistogram(r, r.pos, e);
      r.end = saved;
      if (d.problem !== undefined) throw new Error(d.problem);
      out.histograms.push([d.t, d.h]);
    }
    r.pos = e;
  }
  return out;
}

/** Decodes a SAMPLES answer body (snappy ReadResponse): per query, its series. */
export function decodeReadResponse(body: Uint8Array): TestSeries[][] {
  const raw = new SnappyDecoder().decode(body).slice();
  const r = new ProtoReader(raw);
  const results: TestSeries[][] = [];
  while (!r.done()) {
    r.tag();
    const end = r.lengthDelimited();
    const series: TestSeries[] = [];
    while (r.pos < end) {
      r.tag();
      const e = r.lengthDelimited();
      series.push(timeSeries(r, e));
      r.pos = e;
    }
    results.push(series);
    r.pos = end;
  }
  return results;
}

/** One decoded frame: its query index, series labels and chunks, and its message size in bytes. */
export interface TestFrame {
  readonly queryIndex: number;
  readonly labels: Record<string, string>;
  readonly chunks: WireChunk[];
  readonly bytes: number;
}

function chunk(r: ProtoReader, end: number): WireChunk {
  let mint = 0;
  let maxt = 0;
  let encoding = 0;
  let data = new Uint8Array(0);
  while (r.pos < end) {
    const key = r.tag();
    const field = key >>> 3;
    if (field === 1) mint = r.int64();
    else if (field === 2) maxt = r.int64();
    else if (field === 3) encoding = r.uint32();
    else {
      const e = r.lengthDelimited();
      data = new Uint8Array(r.buf.subarray(r.pos, e));
      r.pos = e;
    }
  }
  return { mint, maxt, encoding, data };
}

/** Decodes the frames of a STREAMED_XOR_CHUNKS body; throws on a bad length or CRC. */
export function decodeFrames(body: Uint8Array): TestFrame[] {
  const frames: TestFrame[] = [];
  let p = 0;
  while (p < body.length) {
    const head = new ProtoReader(body, p);
    const n = head.uint32();
    const crcAt = head.pos;
    const msgAt = crcAt + 4;
    if (msgAt + n > body.length) throw new Error(`frame at ${p} runs past the body`);
    const crc = new DataView(body.buffer, body.byteOffset + crcAt, 4).getUint32(0, false);
    if (crc !== crc32c(body, msgAt, msgAt + n)) throw new Error(`frame at ${p} fails its CRC`);
    const r = new ProtoReader(body, msgAt, msgAt + n);
    const frame: TestFrame = { queryIndex: 0, labels: {}, chunks: [], bytes: n };
    let queryIndex = 0;
    while (!r.done()) {
      const key = r.tag();
      if (key >>> 3 === 2) {
        queryIndex = r.int64();
        continue;
      }
      const end = r.lengthDelimited();
      while (r.pos < end) {
        const k = r.tag();
        const e = r.lengthDelimited();
        if (k >>> 3 === 1) labelPair(r, e, frame.labels);
        else frame.chunks.push(chunk(r, e));
        r.pos = e;
      }
    }
    frames.push({ ...frame, queryIndex });
    p = msgAt + n;
  }
  return frames;
}

/** The samples of `chunks` decoded, floats and histograms apart (histograms copied). */
export function chunkSamples(chunks: readonly WireChunk[]): Pick<TestSeries, "samples" | "histograms"> {
  const out: Pick<TestSeries, "samples" | "histograms"> = { samples: [], histograms: [] };
  for (const c of chunks) {
    if (c.encoding === Encoding.xor) {
      const it = new XorIterator(c.data);
      while (it.next() !== "none") out.samples.push([it.atT(), it.atV()]);
      continue;
    }
    const it =
      c.encoding === Encoding.floatHistogram ? new FloatHistogramIterator(c.data) : new IntHistogramIterator(c.data);
    while (it.next() !== "none") out.histograms.push([it.atT(), structuredClone(it.atH())]);
  }
  return out;
}
