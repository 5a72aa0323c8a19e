// A query's answer written as JSON straight into UTF-8 bytes: the same text json.ts's formats give (sample values in
// Go's shortest 'f' form, timestamps as decimal seconds, label sets as objects in label order, native histograms as
// Prometheus writes them), without a string rope flattened and then encoded. The bytes go into one growable buffer
// per thread, reused from answer to answer, and are copied out in chunks of about a MiB the caller owns.

import { ContrailError } from "../model/errors.ts";
import type { Histogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";
import type { QueryValue } from "../promql/engine/index.ts";
import { formatFloatF, formatTimestamp, histogramJson, type QueryStatsJson, stringsJson } from "./json.ts";
import { writeShortDecimal } from "./short-decimal.ts";

/** An answer is cut into chunks of about this many bytes (the first at or past it). */
const CHUNK_BYTES = 1024 * 1024;
/** The stop flag is polled each time about this many more bytes are written. */
const CHECK_BYTES = 64 * 1024;
/** Bytes the buffer starts with. */
const INITIAL_BYTES = 64 * 1024;
/** A buffer grown past this by one long text is dropped after the answer instead of kept for the next. */
const KEPT_BYTES = 4 * CHUNK_BYTES;
/** Room for one matrix point: its timestamp's text ({@link STAMP_BYTES}) and a short value text (at most
 * {@link SHORT_VALUE} bytes, as writeShortDecimal's are). */
const POINT_BYTES = 64;
/** Room a timestamp's text before a value takes in the per-index cache (`"],[`, up to 24 characters, `,"`). */
const STAMP_BYTES = 30;
/** Bytes of `"],` that close the previous point, left out before a series' first. */
const CLOSE_BYTES = 3;
/** The value text of a float is short except for huge or tiny magnitudes (Go's 'f' form writes every digit). */
const SHORT_VALUE = 24;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const PRINTABLE_MIN = 0x20;
const PRINTABLE_MAX = 0x7e;

const encoder = new TextEncoder();

/**
 * JSON text written into a growable byte buffer, cut into chunks of about {@link CHUNK_BYTES} the caller owns.
 * Not reentrant: one answer at a time per writer.
 */
export class JsonBytes {
  private buf = new Uint8Array(INITIAL_BYTES);
  private len = 0;
  private nextCheck = CHECK_BYTES;
  private readonly chunks: Uint8Array[] = [];

  /** `poll` is called every {@link CHECK_BYTES} or so bytes written; it throws to stop the answer. */
  constructor(private poll: () => void = () => {}) {}

  /** Sets the stop check polled while writing (throws to stop). */
  watch(poll: () => void): void {
    this.poll = poll;
  }

  /** Makes room for `n` more bytes at the end. */
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Writes `s`, whose characters are all ASCII (checked by the caller's construction, not here). */
  ascii(s: string): void {
    const n = s.length;
    this.reserve(n);
    const buf = this.buf;
    let at = this.len;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.len = at;
  }

  /** Writes any text in UTF-8 (lone surrogates become U+FFFD: give JSON.stringify's output, which has none). */
  text(s: string): void {
    this.reserve(s.length * 3);
    this.len += encoder.encodeInto(s, this.buf.subarray(this.len)).written;
  }

  /** Writes `s` as a JSON string literal, exactly as `JSON.stringify(s)` writes it. */
  jsonString(s: string): void {
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < PRINTABLE_MIN || c > PRINTABLE_MAX || c === QUOTE || c === BACKSLASH) {
        this.text(JSON.stringify(s));
        return;
      }
    }
    this.reserve(n + 2);
    const buf = this.buf;
    let at = this.len;
    buf[at++] = QUOTE;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    buf[at++] = QUOTE;
    this.len = at;
  }

  /** Writes a label set as a JSON object, `{"__name__":"up","job":"x"}`, in label order. */
  labels(labels: Labels): void {
    this.ascii("{");
    let first = true;
    labels.forEach((name, value) => {
      if (!first) this.ascii(",");
      first = false;
      this.jsonString(name);
      this.ascii(":");
      this.jsonString(value);
    });
    this.ascii("}");
  }

  /** Cuts a chunk off when the buffer holds {@link CHUNK_BYTES}, and polls the stop check every so often. */
  mark(): void {
    if (this.len < this.nextCheck) return;
    this.poll();
    if (this.len >= CHUNK_BYTES) {
      this.chunks.push(this.buf.slice(0, this.len));
      this.len = 0;
    }
    this.nextCheck = this.len + CHECK_BYTES;
  }

  /** The text written since the last take, in chunks the caller owns; the writer is empty and reusable after. */
  take(): Uint8Array[] {
    if (this.len > 0 || this.chunks.length === 0) this.chunks.push(this.buf.slice(0, this.len));
    const out = this.chunks.splice(0);
    this.reset();
    return out;
  }

  /** Forgets what was written (after a stop), keeping the buffer unless one long text grew it past the bound. */
  reset(): void {
    this.len = 0;
    this.chunks.length = 0;
    this.nextCheck = CHECK_BYTES;
    if (this.buf.length > KEPT_BYTES) this.buf = new Uint8Array(INITIAL_BYTES);
  }

  /** Writes one matrix point's text before its value, cached by point index, then its value; see writeMatrix. */
  point(stamps: StampCache, j: number, t: number, v: number): void {
    this.reserve(POINT_BYTES);
    const buf = this.buf;
    let at = this.len;
    let base = j * STAMP_BYTES;
    let n = stamps.lens[j];
    if (n === 0 || stamps.times[j] !== t) {
      stamps.fill(j, t);
      n = stamps.lens[j];
    }
    const bytes = stamps.bytes;
    // The first point has no previous point to close: its text starts at the `[`.
    if (j === 0) {
      base += CLOSE_BYTES;
      n -= CLOSE_BYTES;
    }
    for (let i = 0; i < n; i++) buf[at++] = bytes[base + i];
    const end = writeShortDecimal(buf, at, v);
    if (end >= 0) {
      this.len = end;
      return;
    }
    this.len = at;
    const text = formatFloatF(v);
    if (text.length > SHORT_VALUE) {
      this.ascii(text);
      return;
    }
    for (let i = 0; i < text.length; i++) buf[at++] = text.charCodeAt(i);
    this.len = at;
  }
}

/**
 * The text before a matrix value kept by point index (`"],[<seconds>,"`), in bytes: the series of a range result
 * share one step grid, so each timestamp is formatted once for all of them; a series with gaps formats the
 * timestamps it does not share. Kept per thread from answer to answer (an entry is used only for its own time).
 */
export class StampCache {
  /** The time (ms) each entry holds. */
  times = new Float64Array(0);
  /** Each entry's length in bytes; 0 for none. */
  lens = new Uint8Array(0);
  /** {@link STAMP_BYTES} bytes an entry. */
  bytes = new Uint8Array(0);

  /** Makes room for `points` entries. */
  ensure(points: number): void {
    if (this.times.length >= points) return;
    const size = Math.max(points, this.times.length * 2);
    const times = new Float64Array(size);
    const lens = new Uint8Array(size);
    const bytes = new Uint8Array(size * STAMP_BYTES);
    times.set(this.times);
    lens.set(this.lens);
    bytes.set(this.bytes);
    this.times = times;
    this.lens = lens;
    this.bytes = bytes;
  }

  /** Formats entry `j` for time `t` (ms). */
  fill(j: number, t: number): void {
    const text = `"],[${formatTimestamp(t)},"`;
    if (text.length > STAMP_BYTES) throw new ContrailError("internal", `timestamp ${t} out of the API's range`);
    const base = j * STAMP_BYTES;
    for (let i = 0; i < text.length; i++) this.bytes[base + i] = text.charCodeAt(i);
    this.times[j] = t;
    this.lens[j] = text.length;
  }
}

const stamps = new StampCache();

/** The `data` of a query response, `{"resultType":...,"result":...[,"stats":...]}`, written into `w`. */
export function writeQueryData(w: JsonBytes, value: QueryValue, stats: QueryStatsJson | null): void {
  switch (value.type) {
    case "scalar":
      w.ascii(`{"resultType":"scalar","result":[${JSON.stringify(value.t / 1000)},"${formatFloatF(value.v)}"]`);
      break;
    case "string":
      w.ascii(`{"resultType":"string","result":[${JSON.stringify(value.t / 1000)},`);
      w.text(JSON.stringify(value.v));
      w.ascii("]");
      break;
    case "vector":
      w.ascii(`{"resultType":"vector","result":[`);
      for (let i = 0; i < value.samples.length; i++) {
        const s = value.samples[i];
        w.ascii(i > 0 ? `,{"metric":` : `{"metric":`);
        w.labels(s.labels);
        w.ascii(
          s.h === undefined
            ? `,"value":[${formatTimestamp(s.t)},"${formatFloatF(s.v)}"]}`
            : `,"histogram":[${formatTimestamp(s.t)},${histogramJson(s.h)}]}`,
        );
        w.mark();
      }
      w.ascii("]");
      break;
    case "matrix":
      writeMatrix(w, value.series);
      break;
  }
  w.ascii(stats === null ? "}" : `,"stats":${JSON.stringify(stats)}}`);
}

function writeMatrix(w: JsonBytes, series: Extract<QueryValue, { type: "matrix" }>["series"]): void {
  w.ascii(`{"resultType":"matrix","result":[`);
  for (let i = 0; i < series.length; i++) {
    const s = series[i];
    w.ascii(i > 0 ? `,{"metric":` : `{"metric":`);
    w.labels(s.labels);
    if (s.h !== undefined) {
      w.ascii(`${mixedPointsJson(s.t, s.v, s.h)}}`);
      w.mark();
      continue;
    }
    w.ascii(`,"values":[`);
    const n = s.t.length;
    stamps.ensure(n);
    for (let j = 0; j < n; j++) {
      w.point(stamps, j, s.t[j], s.v[j]);
      w.mark();
    }
    w.ascii(n > 0 ? '"]]}' : "]}");
  }
  w.ascii("]");
}

// The points of a matrix series holding histograms: `,"values":[...]` for its floats (when it has any), then
// `,"histograms":[...]` for its histograms.
function mixedPointsJson(t: Float64Array, v: Float64Array, h: readonly (Histogram | undefined)[]): string {
  const floats: string[] = [];
  const hists: string[] = [];
  for (let j = 0; j < t.length; j++) {
    const x = h[j];
    if (x === undefined) floats.push(`[${formatTimestamp(t[j])},"${formatFloatF(v[j])}"]`);
    else hists.push(`[${formatTimestamp(t[j])},${histogramJson(x)}]`);
  }
  let s = "";
  if (floats.length > 0) s += `,"values":[${floats.join(",")}]`;
  if (hists.length > 0) s += `,"histograms":[${hists.join(",")}]`;
  return s;
}

/** Writes the success envelope around what `data` writes, with the answer's warnings and infos when there are any. */
export function writeSuccess(
  w: JsonBytes,
  data: (w: JsonBytes) => void,
  notes: { readonly warnings: readonly string[]; readonly infos: readonly string[] },
): void {
  w.ascii(`{"status":"success","data":`);
  data(w);
  if (notes.warnings.length > 0) {
    w.ascii(`,"warnings":`);
    w.text(stringsJson(notes.warnings));
  }
  if (notes.infos.length > 0) {
    w.ascii(`,"infos":`);
    w.text(stringsJson(notes.infos));
  }
  w.ascii("}");
}
