// Remote-Write 2.0's `io.prometheus.write.v2.Request` (prompb/io/prometheus/write/v2/types.proto):
//
//   Request    { repeated string symbols = 4; repeated TimeSeries timeseries = 5; }   (fields 1-3 reserved)
//   TimeSeries { repeated uint32 labels_refs = 1; repeated Sample samples = 2; repeated Histogram histograms = 3;
//                repeated Exemplar exemplars = 4; Metadata metadata = 5; int64 created_timestamp = 6 (rc versions) }
//   Sample     { double value = 1; int64 timestamp = 2; int64 start_timestamp = 3; }
//   Metadata   { MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; }
//
// Every string is an index into `symbols`, whose first entry is "". The decoder reads the symbols first (wherever
// they are in the message), then each series: label refs, samples, metadata. A series whose refs are out of range
// or whose labels are invalid is refused on its own; the rest of the request stays usable (partial write).

import { compareStrings, Labels, METRIC_NAME } from "../../model/labels.ts";
import { decodeUtf8Escaped } from "../../model/utf8.ts";
import { writeHistogram } from "./codec-v1.ts";
import { ProtoReader, ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";
import { METRIC_TYPES, metricTypeNumber, type SeriesCounts, type WriteRequestData, type WriteSink } from "./types.ts";
import { asBuffer, LabelProblem, rawLabelsText, wireString } from "./wire-strings.ts";

const KEY_SAMPLE_VALUE = (1 << 3) | WIRE_FIXED64;
const KEY_SAMPLE_TIMESTAMP = (2 << 3) | WIRE_VARINT;
const KEY_SAMPLE_START = (3 << 3) | WIRE_VARINT;

function ensure<T extends Int32Array | Uint32Array>(a: T, n: number, make: (size: number) => T): T {
  if (n <= a.length) return a;
  const b = make(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

/**
 * Decodes `io.prometheus.write.v2.Request` bodies into a WriteSink. Keeps scratch arrays between calls, so use one
 * decoder per receiver; not re-entrant.
 */
export class RequestV2Decoder {
  private refs: Uint32Array = new Uint32Array(64);
  private sampleRanges: Int32Array = new Int32Array(256);
  private readonly counts: SeriesCounts = { samples: 0, histograms: 0, exemplars: 0 };
  private symbols: string[] = [];
  // Indices of symbols that are not valid UTF-8 (kept with their bytes escaped, for error messages).
  private badSymbols: Set<number> | null = null;

  /**
   * Decodes the whole message `body` into `sink`. Invalid series go to `sink.invalidSeries`; a message that is not
   * valid protobuf throws ContrailError("bad_data"), possibly after some series reached the sink.
   */
  decode(body: Uint8Array, sink: WriteSink): void {
    const r = new ProtoReader(body);
    const b = asBuffer(body);
    const symbols: string[] = [];
    this.symbols = symbols;
    this.badSymbols = null;
    while (!r.done()) {
      const key = r.tag();
      if (key >>> 3 !== 4) {
        r.skip(key & 7);
        continue;
      }
      r.expect(key, WIRE_LEN, "Request.symbols");
      const end = r.lengthDelimited();
      const s = wireString(b, r.pos, end);
      if (s === null) {
        this.badSymbols ??= new Set();
        this.badSymbols.add(symbols.length);
        symbols.push(decodeUtf8Escaped(b.subarray(r.pos, end)));
      } else symbols.push(s);
      r.pos = end;
    }
    r.pos = 0;
    while (!r.done()) {
      const key = r.tag();
      if (key >>> 3 !== 5) {
        r.skip(key & 7);
        continue;
      }
      r.expect(key, WIRE_LEN, "Request.timeseries");
      const end = r.lengthDelimited();
      this.series(r, end, sink);
      r.pos = end;
      r.end = body.length;
    }
    this.symbols = [];
  }

  private series(r: ProtoReader, end: number, sink: WriteSink): void {
    r.end = end;
    let nRefs = 0;
    let nSamples = 0;
    let histograms = 0;
    let exemplars = 0;
    let type = 0;
    let helpRef = 0;
    let unitRef = 0;
    let createdT = 0;
    while (!r.done()) {
      const key = r.tag();
      switch (key >>> 3) {
        case 1:
          if ((key & 7) === WIRE_LEN) {
            // Packed (what every sender writes).
            const e = r.lengthDelimited();
            while (r.pos < e) {
              this.refs = ensure(this.refs, nRefs + 1, (n) => new Uint32Array(n));
              this.refs[nRefs++] = r.uint32();
            }
            if (r.pos !== e) r.fail("packed labels_refs overrun");
          } else {
            r.expect(key, WIRE_VARINT, "TimeSeries.labels_refs");
            this.refs = ensure(this.refs, nRefs + 1, (n) => new Uint32Array(n));
            this.refs[nRefs++] = r.uint32();
          }
          break;
        case 2: {
          r.expect(key, WIRE_LEN, "TimeSeries.samples");
          const e = r.lengthDelimited();
          this.sampleRanges = ensure(this.sampleRanges, 2 * nSamples + 2, (n) => new Int32Array(n));
          this.sampleRanges[2 * nSamples] = r.pos;
          this.sampleRanges[2 * nSamples + 1] = e;
          nSamples++;
          r.pos = e;
          break;
        }
        case 3:
          r.expect(key, WIRE_LEN, "TimeSeries.histograms");
          r.pos = r.lengthDelimited();
          histograms++;
          break;
        case 4:
          r.expect(key, WIRE_LEN, "TimeSeries.exemplars");
          r.pos = r.lengthDelimited();
          exemplars++;
          break;
        case 5: {
          r.expect(key, WIRE_LEN, "TimeSeries.metadata");
          const e = r.lengthDelimited();
          const outer = r.end;
          r.end = e;
          while (!r.done()) {
            const k = r.tag();
            const f = k >>> 3;
            if (f === 1 || f === 3 || f === 4) {
              r.expect(k, WIRE_VARINT, "Metadata field");
              const v = r.uint32();
              if (f === 1) type = v;
              else if (f === 3) helpRef = v;
              else unitRef = v;
            } else r.skip(k & 7);
          }
          r.end = outer;
          break;
        }
        case 6:
          r.expect(key, WIRE_VARINT, "TimeSeries.created_timestamp");
          createdT = r.int64();
          break;
        default:
          r.skip(key & 7);
      }
    }
    const counts = this.counts;
    counts.samples = nSamples;
    counts.histograms = histograms;
    counts.exemplars = exemplars;

    const labels = this.labels(nRefs);
    if (typeof labels === "string") {
      sink.invalidSeries(labels, counts);
      return;
    }
    const symbols = this.symbols;
    const badRef =
      helpRef >= symbols.length ? `help_ref ${helpRef}` : unitRef >= symbols.length ? `unit_ref ${unitRef}` : "";
    if (badRef !== "") {
      sink.invalidSeries(`series ${labels.toString()}: metadata ${badRef} out of range`, counts);
      return;
    }
    if (nSamples === 0 && histograms === 0) {
      sink.invalidSeries(`series ${labels.toString()}: no samples or histograms`, counts);
      return;
    }
    if (sink.series(labels, counts)) {
      const ranges = this.sampleRanges;
      for (let i = 0; i < nSamples; i++) {
        r.pos = ranges[2 * i];
        r.end = ranges[2 * i + 1];
        let t = 0;
        let v = 0;
        let st = createdT;
        while (r.pos < r.end) {
          const key = r.tag();
          if (key === KEY_SAMPLE_VALUE) v = r.double();
          else if (key === KEY_SAMPLE_TIMESTAMP) t = r.int64();
          else if (key === KEY_SAMPLE_START) st = r.int64();
          else if (key >>> 3 <= 3) r.fail(`Sample field ${key >>> 3} has wire type ${key & 7}`);
          else r.skip(key & 7);
        }
        sink.sample(t, v, st);
      }
    }
    const help = symbols[helpRef];
    const unit = symbols[unitRef];
    const bad = this.badSymbols;
    if ((type !== 0 || help !== "" || unit !== "") && (bad === null || (!bad.has(helpRef) && !bad.has(unitRef)))) {
      sink.metadata(labels.metricName(), METRIC_TYPES[type] ?? "unknown", help, unit);
    }
  }

  // The series' labels from `refs[0, n)`, validated; a string saying what is wrong otherwise.
  private labels(n: number): Labels | string {
    const symbols = this.symbols;
    const refs = this.refs;
    const raw: string[] = [];
    for (let i = 0; i < n; i++) raw.push(symbols[refs[i]] ?? `<ref ${refs[i]}>`);
    const fail = (problem: string) => `series ${rawLabelsText(raw)}: ${problem}`;
    if (n % 2 !== 0) return fail(`odd number of label refs (${n})`);
    for (let i = 0; i < n; i++) {
      if (refs[i] >= symbols.length) return fail(`label ref ${refs[i]} out of range (${symbols.length} symbols)`);
    }
    const bad = this.badSymbols;
    const flat: string[] = [];
    let hasName = false;
    for (let i = 0; i < n; i += 2) {
      const name = raw[i];
      const value = raw[i + 1];
      if (name === "") return fail(LabelProblem.emptyName());
      if (bad?.has(refs[i])) return fail(LabelProblem.notUtf8("name", name));
      if (bad?.has(refs[i + 1])) return fail(LabelProblem.notUtf8("value", value));
      if (i > 0) {
        const c = compareStrings(raw[i - 2], name);
        if (c === 0) return fail(LabelProblem.duplicate(name));
        if (c > 0) return fail(LabelProblem.unsorted(raw[i - 2], name));
      }
      if (value === "") continue;
      flat.push(name, value);
      if (name === METRIC_NAME) hasName = true;
    }
    if (!hasName) return fail(LabelProblem.noMetricName());
    return Labels.fromSortedUnchecked(flat);
  }
}

/**
 * Encodes `req` as an `io.prometheus.write.v2.Request`: a symbol table of every string in order of first use
 * (starting with ""), then the series with packed label refs, samples, histograms, exemplars and metadata (always
 * present, as Go's generated code writes it). `req.metadata` (1.0's family list) is ignored. Returns a view into
 * `w`, valid until `w` is used again.
 */
export function encodeRequestV2(req: WriteRequestData, w: ProtoWriter = new ProtoWriter()): Uint8Array {
  const index = new Map<string, number>([["", 0]]);
  const list: string[] = [""];
  const ref = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = list.length;
      index.set(s, i);
      list.push(s);
    }
    return i;
  };
  for (const s of req.series) {
    s.labels.forEach((name, value) => {
      ref(name);
      ref(value);
    });
    for (const e of s.exemplars ?? []) {
      e.labels.forEach((name, value) => {
        ref(name);
        ref(value);
      });
    }
    if (s.metadata !== undefined) {
      ref(s.metadata.help);
      ref(s.metadata.unit);
    }
  }
  w.reset();
  for (const sym of list) {
    w.tag(4, WIRE_LEN);
    w.string(sym);
  }
  const writeRefs = (labels: Labels) => {
    if (labels.isEmpty()) return;
    const m = w.begin(1);
    labels.forEach((name, value) => {
      w.uint32(ref(name));
      w.uint32(ref(value));
    });
    w.end(m);
  };
  for (const s of req.series) {
    const ts = w.begin(5);
    writeRefs(s.labels);
    for (const x of s.samples) {
      const m = w.begin(2);
      if (x.v !== 0 || Object.is(x.v, -0)) {
        w.tag(1, WIRE_FIXED64);
        w.double(x.v);
      }
      if (x.t !== 0) {
        w.tag(2, WIRE_VARINT);
        w.int64(x.t);
      }
      if (x.startT !== undefined && x.startT !== 0) {
        w.tag(3, WIRE_VARINT);
        w.int64(x.startT);
      }
      w.end(m);
    }
    for (const h of s.histograms ?? []) writeHistogram(w, 3, h.t, h.count, h.sum);
    for (const e of s.exemplars ?? []) {
      const m = w.begin(4);
      writeRefs(e.labels);
      if (e.v !== 0 || Object.is(e.v, -0)) {
        w.tag(2, WIRE_FIXED64);
        w.double(e.v);
      }
      if (e.t !== 0) {
        w.tag(3, WIRE_VARINT);
        w.int64(e.t);
      }
      w.end(m);
    }
    const md = w.begin(5);
    const type = s.metadata === undefined ? 0 : metricTypeNumber(s.metadata.type);
    const help = s.metadata === undefined ? 0 : ref(s.metadata.help);
    const unit = s.metadata === undefined ? 0 : ref(s.metadata.unit);
    for (const [field, v] of [
      [1, type],
      [3, help],
      [4, unit],
    ] as const) {
      if (v === 0) continue;
      w.tag(field, WIRE_VARINT);
      w.uint32(v);
    }
    w.end(md);
    w.end(ts);
  }
  return w.finish();
}
