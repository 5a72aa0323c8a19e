// The messages of Prometheus's remote read protocol (prompb/remote.proto and types.proto), as Contrail serves it:
//
//   ReadRequest         { repeated Query queries = 1; repeated ResponseType accepted_response_types = 2; }
//   Query               { int64 start_timestamp_ms = 1; int64 end_timestamp_ms = 2;
//                         repeated LabelMatcher matchers = 3; ReadHints hints = 4; }
//   LabelMatcher        { Type type = 1 (EQ 0, NEQ 1, RE 2, NRE 3); string name = 2; string value = 3; }
//   ReadHints           { int64 step_ms = 1; string func = 2; int64 start_ms = 3; int64 end_ms = 4; … }
//   ReadResponse        { repeated QueryResult results = 1; }   QueryResult { repeated TimeSeries timeseries = 1; }
//   TimeSeries          { repeated Label labels = 1; repeated Sample samples = 2; repeated Histogram histograms = 4; }
//   ChunkedReadResponse { repeated ChunkedSeries chunked_series = 1; int64 query_index = 2; }
//   ChunkedSeries       { repeated Label labels = 1; repeated Chunk chunks = 2; }
//   Chunk               { int64 min_time_ms = 1; int64 max_time_ms = 2; Encoding type = 3; bytes data = 4; }
//
// A request is decoded with its counts bounded as it is read; responses are written the way Go's generated code
// writes them (fields in number order, zero scalars left out). A streamed response is a sequence of frames, each
// the message's length as a uvarint, its CRC32 (Castagnoli) as 4 big-endian bytes, then the message.

import { ContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import { type Matcher, type MatchType, newMatcher } from "../../model/matcher.ts";
import { ProtoReader, ProtoWriter, WIRE_LEN, WIRE_VARINT } from "../../model/protobuf.ts";
import type { SampleBuffer } from "../../model/sample.ts";
import { writeLabels, writeSample } from "../../storage/remote/codec-v1-encode.ts";
import { writeWireHistogram } from "../../storage/remote/histogram-wire.ts";
import { crc32c } from "../../tsdb/encoding/crc32c.ts";

/** The response types of `accepted_response_types`, as Prometheus numbers them. */
export const ResponseType = { samples: 0, streamedXorChunks: 1 } as const;
/** One of the {@link ResponseType} numbers. */
export type ResponseType = (typeof ResponseType)[keyof typeof ResponseType];

/** The matcher types of LabelMatcher.type, by their numbers. */
const MATCH_TYPES: readonly MatchType[] = ["=", "!=", "=~", "!~"];

/** The hints of a query that Contrail's store reads: the time range and the function (ms; func may be ""). */
export interface ReadHints {
  readonly start: number;
  readonly end: number;
  readonly func: string;
}

/** One query of a read request: an inclusive time range (ms), its matchers, and its hints when sent. */
export interface ReadQuery {
  readonly start: number;
  readonly end: number;
  readonly matchers: readonly Matcher[];
  readonly hints: ReadHints | null;
}

/** A decoded read request. `accepted` keeps the client's order and any unknown numbers. */
export interface ReadRequest {
  readonly queries: readonly ReadQuery[];
  readonly accepted: readonly number[];
}

/** Bounds checked while a request is decoded. */
export interface ReadRequestBounds {
  /** Most queries in one request. */
  readonly maxQueries: number;
  /** Most matchers in one query. */
  readonly maxMatchers: number;
}

const strict = new TextDecoder("utf-8", { fatal: true });

function text(r: ProtoReader, what: string): string {
  const end = r.lengthDelimited();
  try {
    return strict.decode(r.buf.subarray(r.pos, end));
  } catch {
    return r.fail(`${what} is not valid UTF-8`);
  } finally {
    r.pos = end;
  }
}

// Reads one LabelMatcher message ending at `end`.
function matcher(r: ProtoReader, end: number): Matcher {
  let type = 0;
  let name = "";
  let value = "";
  while (r.pos < end) {
    const key = r.tag();
    const field = key >>> 3;
    if (field === 1 && (key & 7) === WIRE_VARINT) type = r.uint32();
    else if (field === 2 && (key & 7) === WIRE_LEN) name = text(r, "LabelMatcher.name");
    else if (field === 3 && (key & 7) === WIRE_LEN) value = text(r, "LabelMatcher.value");
    else r.skip(key & 7);
  }
  const t = MATCH_TYPES[type];
  if (t === undefined) throw new ContrailError("bad_data", `invalid matcher type ${type}: expected 0 to 3`);
  return newMatcher(t, name, value);
}

// Reads one ReadHints message ending at `end`; step, grouping, by and range are skipped (the store ignores them).
function hints(r: ProtoReader, end: number): ReadHints {
  let start = 0;
  let stop = 0;
  let func = "";
  while (r.pos < end) {
    const key = r.tag();
    const field = key >>> 3;
    if (field === 2 && (key & 7) === WIRE_LEN) func = text(r, "ReadHints.func");
    else if (field === 3 && (key & 7) === WIRE_VARINT) start = r.int64();
    else if (field === 4 && (key & 7) === WIRE_VARINT) stop = r.int64();
    else r.skip(key & 7);
  }
  return { start, end: stop, func };
}

// Reads one Query message ending at `end`.
function query(r: ProtoReader, end: number, bounds: ReadRequestBounds): ReadQuery {
  let start = 0;
  let stop = 0;
  const matchers: Matcher[] = [];
  let hinted: ReadHints | null = null;
  while (r.pos < end) {
    const key = r.tag();
    const field = key >>> 3;
    if (field === 1 && (key & 7) === WIRE_VARINT) start = r.int64();
    else if (field === 2 && (key & 7) === WIRE_VARINT) stop = r.int64();
    else if (field === 3 && (key & 7) === WIRE_LEN) {
      if (matchers.length >= bounds.maxMatchers) {
        throw new ContrailError("too_large", `a query holds more than ${bounds.maxMatchers} matchers, the limit`);
      }
      const m = r.lengthDelimited();
      matchers.push(matcher(r, m));
      r.pos = m;
    } else if (field === 4 && (key & 7) === WIRE_LEN) {
      const h = r.lengthDelimited();
      hinted = hints(r, h);
      r.pos = h;
    } else r.skip(key & 7);
  }
  return { start, end: stop, matchers, hints: hinted };
}

/** Decodes a ReadRequest message (already decompressed). Throws ContrailError bad_data, invalid_regex, too_large. */
export function decodeReadRequest(body: Uint8Array, bounds: ReadRequestBounds): ReadRequest {
  const r = new ProtoReader(body);
  const queries: ReadQuery[] = [];
  const accepted: number[] = [];
  while (!r.done()) {
    const key = r.tag();
    const field = key >>> 3;
    if (field === 1 && (key & 7) === WIRE_LEN) {
      if (queries.length >= bounds.maxQueries) {
        throw new ContrailError("too_large", `the request holds more than ${bounds.maxQueries} queries, the limit`);
      }
      const end = r.lengthDelimited();
      queries.push(query(r, end, bounds));
      r.pos = end;
    } else if (field === 2 && (key & 7) === WIRE_VARINT) accepted.push(r.uint32());
    else if (field === 2 && (key & 7) === WIRE_LEN) {
      // Packed, as proto3 encoders write repeated enums; the body bounds how many.
      const end = r.lengthDelimited();
      while (r.pos < end) accepted.push(r.uint32());
      r.pos = end;
    } else r.skip(key & 7);
  }
  return { queries, accepted };
}

/**
 * The response type to answer with, as Prometheus negotiates it: the first of the client's accepted types that is
 * served, SAMPLES when it lists none; an error naming them when none is served.
 */
export function negotiateResponseType(accepted: readonly number[]): ResponseType {
  if (accepted.length === 0) return ResponseType.samples;
  for (const t of accepted) {
    if (t === ResponseType.samples || t === ResponseType.streamedXorChunks) return t;
  }
  throw new ContrailError(
    "bad_data",
    `server does not support any of the requested response types: [${accepted.join(" ")}]; ` +
      "supported: SAMPLES (0), STREAMED_XOR_CHUNKS (1)",
  );
}

/** 2^32, to split a timestamp into the 32-bit halves of its varint. */
const TWO_32 = 2 ** 32;
/** Most bytes one Sample message takes with its key and length: 2 + 9 (value) + 11 (timestamp). */
const MAX_SAMPLE_MESSAGE_BYTES = 22;

/** A protobuf writer that also writes runs of float samples straight into its buffer. */
class SampleRunWriter extends ProtoWriter {
  /**
   * Writes samples `from` to `to` (exclusive) of `buf` as Sample messages (field 2 of a TimeSeries), byte for byte
   * what `writeSample` writes: a +0 value and a 0 timestamp are left out, as Go leaves zero scalars out.
   */
  samples(buf: SampleBuffer, from: number, to: number): void {
    this.grow((to - from) * MAX_SAMPLE_MESSAGE_BYTES);
    const b = this.buf;
    const view = this.view;
    const ts = buf.t;
    const vs = buf.v;
    let p = this.len;
    for (let i = from; i < to; i++) {
      const t = ts[i];
      const v = vs[i];
      if (t < 0 || t >= Number.MAX_SAFE_INTEGER) {
        // Rare: negative timestamps take the general varint path.
        this.len = p;
        writeSample(this, t, v);
        p = this.len;
        continue;
      }
      b[p] = 0x12; // field 2, length-delimited
      const lenAt = p + 1;
      p += 2;
      if (!Object.is(v, 0)) {
        b[p] = 0x09; // field 1, fixed64
        view.setFloat64(p + 1, v, true);
        p += 9;
      }
      if (t !== 0) {
        b[p++] = 0x10; // field 2, varint
        let hi = (t / TWO_32) >>> 0;
        let lo = (t - hi * TWO_32) >>> 0;
        while (hi !== 0 || lo >= 0x80) {
          b[p++] = (lo & 0x7f) | 0x80;
          lo = ((lo >>> 7) | (hi << 25)) >>> 0;
          hi >>>= 7;
        }
        b[p++] = lo;
      }
      b[lenAt] = p - lenAt - 1;
    }
    this.len = p;
  }
}

/**
 * Writes a ReadResponse one query result and one series at a time, as pieces it owns: each series is built in a
 * reused buffer and copied out when it ends, so no message is moved as a whole when its length becomes known. Call
 * `result()` once per query, in order, then for each of its series `beginSeries`, its samples, `endSeries`;
 * `finish()` gives the message's pieces.
 */
export class ReadResponseWriter {
  private readonly w = new SampleRunWriter(64 * 1024);
  private readonly head = new ProtoWriter(16);
  private readonly pieces: Uint8Array[] = [];
  /** Index in `pieces` of the open result's prefix, and the bytes of its series so far. */
  private prefixAt = -1;
  private resultBytes = 0;
  private bytes = 0;
  private mark = 0;

  /** Bytes of the message so far, the open series included. */
  get length(): number {
    return this.bytes + this.w.length;
  }

  /** Starts the QueryResult of the next query (ending the previous one). */
  result(): void {
    this.closeResult();
    this.prefixAt = this.pieces.length;
    this.pieces.push(new Uint8Array(0));
    this.resultBytes = 0;
  }

  /** Starts a TimeSeries of `labels` in the current result; its samples follow, then `endSeries()`. */
  beginSeries(labels: Labels): void {
    this.w.reset();
    this.mark = this.w.begin(1);
    writeLabels(this.w, 1, labels);
  }

  /** Adds a float sample (ms) to the open series. */
  sample(t: number, v: number): void {
    writeSample(this.w, t, v);
  }

  /** Adds float samples `from` to `to` (exclusive) of `buf` to the open series, in order. */
  samples(buf: SampleBuffer, from: number, to: number): void {
    this.w.samples(buf, from, to);
  }

  /** Adds a native histogram sample (ms) to the open series; samples and histograms may come in any order. */
  histogram(t: number, h: Histogram): void {
    writeWireHistogram(this.w, 4, t, h);
  }

  /** Ends the open series. */
  endSeries(): void {
    this.w.end(this.mark);
    const piece = this.w.finish().slice();
    this.w.reset();
    this.pieces.push(piece);
    this.resultBytes += piece.length;
    this.bytes += piece.length;
  }

  /** The ReadResponse message in pieces, in order; the caller owns them. */
  finish(): Uint8Array[] {
    this.closeResult();
    return this.pieces;
  }

  // Writes the open result's key and length before its series.
  private closeResult(): void {
    if (this.prefixAt < 0) return;
    this.head.reset();
    this.head.tag(1, WIRE_LEN);
    this.head.uint32(this.resultBytes);
    const prefix = this.head.finish().slice();
    this.pieces[this.prefixAt] = prefix;
    this.bytes += prefix.length;
    this.prefixAt = -1;
  }
}

/** One chunk of a streamed series: its inclusive time range (ms), Prometheus encoding number and bytes. */
export interface WireChunk {
  readonly mint: number;
  readonly maxt: number;
  readonly encoding: number;
  readonly data: Uint8Array;
}

/** Bytes a Chunk message of `c` takes inside a ChunkedSeries, its key and length prefix included (an estimate). */
export function chunkMessageBytes(c: WireChunk): number {
  // Two int64 times and the type take at most 11 bytes each with their keys; the data's key and length up to 6.
  return c.data.length + 3 * 11 + 6 + 2;
}

/** Bytes the label pairs of `labels` take in a ChunkedSeries (estimated as for chunks). */
export function labelMessageBytes(labels: Labels): number {
  let n = 0;
  labels.forEach((name, value) => {
    n += Buffer.byteLength(name) + Buffer.byteLength(value) + 8;
  });
  return n;
}

/** Writes frames of a streamed response: one ChunkedReadResponse with one series per frame. Owns its buffer. */
export class ChunkedFrameWriter {
  private readonly w = new ProtoWriter(64 * 1024);

  /** The frame (length, CRC32C, ChunkedReadResponse) of `labels` with `chunks` for query `queryIndex`; a new array. */
  frame(labels: Labels, chunks: readonly WireChunk[], queryIndex: number): Uint8Array {
    const w = this.w;
    w.reset();
    const s = w.begin(1);
    writeLabels(w, 1, labels);
    for (const c of chunks) {
      const m = w.begin(2);
      if (c.mint !== 0) {
        w.tag(1, WIRE_VARINT);
        w.int64(c.mint);
      }
      if (c.maxt !== 0) {
        w.tag(2, WIRE_VARINT);
        w.int64(c.maxt);
      }
      if (c.encoding !== 0) {
        w.tag(3, WIRE_VARINT);
        w.uint32(c.encoding);
      }
      if (c.data.length > 0) {
        w.tag(4, WIRE_LEN);
        w.bytes(c.data);
      }
      w.end(m);
    }
    w.end(s);
    if (queryIndex !== 0) {
      w.tag(2, WIRE_VARINT);
      w.int64(queryIndex);
    }
    const msg = w.finish();
    const head = new ProtoWriter(16);
    head.uint32(msg.length);
    const prefix = head.finish();
    const out = new Uint8Array(prefix.length + 4 + msg.length);
    out.set(prefix, 0);
    new DataView(out.buffer).setUint32(prefix.length, crc32c(msg), false);
    out.set(msg, prefix.length + 4);
    return out;
  }
}
