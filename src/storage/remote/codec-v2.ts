// Remote-Write 2.0's `io.prometheus.write.v2.Request` (prompb/io/prometheus/write/v2/types.proto):
//
//   Request    { repeated string symbols = 4; repeated TimeSeries timeseries = 5; }   (fields 1-3 reserved)
//   TimeSeries { repeated uint32 labels_refs = 1; repeated Sample samples = 2; repeated Histogram histograms = 3;
//                repeated Exemplar exemplars = 4; Metadata metadata = 5; int64 created_timestamp = 6 (rc versions) }
//   Histogram  (histogram-wire.ts: 1.0's fields, and a start timestamp that is skipped)
//   Sample     { double value = 1; int64 timestamp = 2; int64 start_timestamp = 3; }
//   Metadata   { MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; }
//
// Every string is an index into `symbols`, whose first entry MUST be "". The decoder first walks the top level: it
// notes where each symbol lies (decoding none yet), counts series against the request limits, and refuses a 1.0
// body (fields 1-3, which 2.0 reserves) or a symbol table that does not start with "". It then reads each series:
// label refs, samples, metadata. Symbols are decoded when a valid series first uses them, after their length was
// checked against the limits, so an unused or oversized symbol costs nothing. A series whose refs are out of range
// or whose labels are invalid is refused on its own; the rest of the request stays usable (partial write).

import { ContrailError } from "../../model/errors.ts";
import { compareStrings, Labels, METRIC_NAME } from "../../model/labels.ts";
import { quoteGo } from "../../model/quote.ts";
import { decodeHistograms } from "./codec-v1.ts";
import { writeWireHistogram } from "./histogram-wire.ts";
import { ProtoReader, ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";
import {
  checkSampleCount,
  checkSeriesCount,
  type MetadataRefusal,
  metadataText,
  otherVersion,
} from "./request-checks.ts";
import {
  type DecodeLimits,
  METRIC_TYPES,
  metricTypeNumber,
  type SeriesCounts,
  type WriteRequestData,
  type WriteSink,
} from "./types.ts";
import { asBuffer, LabelProblem, PREVIEW_LABELS, previewText, rawLabelsText, wireString } from "./wire-strings.ts";

const KEY_SAMPLE_VALUE = (1 << 3) | WIRE_FIXED64;
const KEY_SAMPLE_TIMESTAMP = (2 << 3) | WIRE_VARINT;
const KEY_SAMPLE_START = (3 << 3) | WIRE_VARINT;

/**
 * Symbols a series may use besides its labels' names and values: help and unit, and its exemplars' labels (which
 * OpenMetrics caps at 128 characters, a few labels). Bounds the symbol table a request may bring.
 */
const EXTRA_SYMBOLS_PER_SERIES = 16;

/** The most symbols a request within `limits` can need: "" and, per series, its label names and values and extras. */
export function maxSymbols(limits: DecodeLimits): number {
  return 1 + limits.maxSeriesPerWrite * (2 * limits.maxLabelNamesPerSeries + EXTRA_SYMBOLS_PER_SERIES);
}

const newRefs = (n: number) => new Uint32Array(n);
const newRanges = (n: number) => new Int32Array(n);

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
  private histogramRanges: Int32Array = new Int32Array(16);
  // Symbol i lies at text[symbolRanges[2i], symbolRanges[2i+1]).
  private symbolRanges: Int32Array = new Int32Array(256);
  private readonly counts: SeriesCounts = { samples: 0, histograms: 0, exemplars: 0 };
  // Per `decode` call: the body, its symbol count, the symbols decoded so far (null: not valid UTF-8), the limits.
  private text: Buffer = Buffer.alloc(0);
  private nSymbols = 0;
  private decoded: (string | null | undefined)[] = [];
  private limits: DecodeLimits | null = null;
  private samplesSeen = 0;

  /**
   * Decodes the whole message `body` into `sink` under `limits`. Invalid series (or over a label limit) go to
   * `sink.invalidSeries`. Throws ContrailError "too_large" for a request over a count limit and "bad_data" for a
   * message that is not valid protobuf, is a 1.0 WriteRequest, or has a symbol table not starting with ""; all but
   * protobuf errors inside a series come before any series reaches the sink.
   */
  decode(body: Uint8Array, sink: WriteSink, limits: DecodeLimits): void {
    const r = new ProtoReader(body);
    this.text = asBuffer(body);
    this.limits = limits;
    this.samplesSeen = 0;
    try {
      const series = this.scanTopLevel(r, limits);
      this.decoded = new Array(this.nSymbols);
      if (this.nSymbols > 0 && this.symbolRanges[1] !== this.symbolRanges[0]) {
        throw new ContrailError(
          "bad_data",
          `symbols[0] must be the empty string, got ${quoteGo(this.preview(0))}: not a valid Remote-Write 2.0 request`,
        );
      }
      if (series > 0 && this.nSymbols === 0) {
        throw new ContrailError("bad_data", `the request has ${series} series but no symbols table`);
      }
      r.pos = 0;
      while (!r.done()) {
        const key = r.tag();
        if (key >>> 3 !== 5) {
          r.skip(key & 7);
          continue;
        }
        const end = r.lengthDelimited();
        this.series(r, end, sink);
        r.pos = end;
        r.end = body.length;
      }
    } finally {
      this.decoded = [];
      this.text = Buffer.alloc(0);
      this.limits = null;
    }
  }

  // Notes the symbols' places and counts the series; refuses 1.0's fields and counts over the limits. Returns the
  // number of series.
  private scanTopLevel(r: ProtoReader, limits: DecodeLimits): number {
    const symbolLimit = maxSymbols(limits);
    let series = 0;
    let n = 0;
    while (!r.done()) {
      const key = r.tag();
      const field = key >>> 3;
      if (field === 4) {
        r.expect(key, WIRE_LEN, "Request.symbols");
        const end = r.lengthDelimited();
        if (n >= symbolLimit) {
          throw new ContrailError(
            "too_large",
            `the request has more than ${symbolLimit} symbols, more than ${limits.maxSeriesPerWrite} series with ` +
              `${limits.maxLabelNamesPerSeries} labels each can use (max_series_per_write, max_label_names_per_series)`,
          );
        }
        this.symbolRanges = ensure(this.symbolRanges, 2 * n + 2, newRanges);
        this.symbolRanges[2 * n] = r.pos;
        this.symbolRanges[2 * n + 1] = end;
        n++;
        r.pos = end;
      } else if (field === 5) {
        r.expect(key, WIRE_LEN, "Request.timeseries");
        checkSeriesCount(++series, limits.maxSeriesPerWrite);
        r.skip(WIRE_LEN);
      } else if ((field === 1 || field === 3) && (key & 7) === WIRE_LEN) {
        // 1.0's timeseries and metadata; 2.0 reserves these numbers so that a 1.0 body is recognised.
        throw otherVersion("v1", field);
      } else r.skip(key & 7);
    }
    this.nSymbols = n;
    return series;
  }

  // Symbol `i` (in range) decoded once per request; null when it is not valid UTF-8.
  private symbol(i: number): string | null {
    let s = this.decoded[i];
    if (s === undefined) {
      s = wireString(this.text, this.symbolRanges[2 * i], this.symbolRanges[2 * i + 1]);
      this.decoded[i] = s;
    }
    return s;
  }

  private symbolBytes(i: number): number {
    return this.symbolRanges[2 * i + 1] - this.symbolRanges[2 * i];
  }

  // Symbol `ref` as text for an error message, whatever its length or validity.
  private preview(ref: number): string {
    if (ref >= this.nSymbols) return `<ref ${ref}>`;
    return previewText(this.text, this.symbolRanges[2 * ref], this.symbolRanges[2 * ref + 1]);
  }

  // Keeps `ref` as ref number `n` when under `max`; returns the new count.
  private addRef(n: number, max: number, ref: number): number {
    if (n < max) {
      if (n >= this.refs.length) this.refs = ensure(this.refs, n + 1, newRefs);
      this.refs[n] = ref;
    }
    return n + 1;
  }

  private series(r: ProtoReader, end: number, sink: WriteSink): void {
    const limits = this.limits!;
    // Refs past the label limit are counted, not kept (but for the few an error message quotes): the series is
    // refused without looking at them.
    const maxRefs = 2 * Math.max(limits.maxLabelNamesPerSeries, PREVIEW_LABELS);
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
            while (r.pos < e) nRefs = this.addRef(nRefs, maxRefs, r.uint32());
            if (r.pos !== e) r.fail("packed labels_refs overrun");
          } else {
            r.expect(key, WIRE_VARINT, "TimeSeries.labels_refs");
            nRefs = this.addRef(nRefs, maxRefs, r.uint32());
          }
          break;
        case 2: {
          r.expect(key, WIRE_LEN, "TimeSeries.samples");
          checkSampleCount(++this.samplesSeen, limits.maxSamplesPerWrite);
          const e = r.lengthDelimited();
          this.sampleRanges = ensure(this.sampleRanges, 2 * nSamples + 2, newRanges);
          this.sampleRanges[2 * nSamples] = r.pos;
          this.sampleRanges[2 * nSamples + 1] = e;
          nSamples++;
          r.pos = e;
          break;
        }
        case 3: {
          r.expect(key, WIRE_LEN, "TimeSeries.histograms");
          checkSampleCount(++this.samplesSeen, limits.maxSamplesPerWrite);
          const e = r.lengthDelimited();
          this.histogramRanges = ensure(this.histogramRanges, 2 * histograms + 2, newRanges);
          this.histogramRanges[2 * histograms] = r.pos;
          this.histogramRanges[2 * histograms + 1] = e;
          histograms++;
          r.pos = e;
          break;
        }
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
    const badRef =
      helpRef >= this.nSymbols ? `help_ref ${helpRef}` : unitRef >= this.nSymbols ? `unit_ref ${unitRef}` : "";
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
      if (histograms > 0) decodeHistograms(r, this.histogramRanges, histograms, labels, sink);
    }
    if (type !== 0 || helpRef !== 0 || unitRef !== 0) this.metadata(labels, type, helpRef, unitRef, sink);
  }

  // Hands a series' metadata to the sink: help cut to the length limit, a unit over it refused, invalid UTF-8 skipped.
  private metadata(labels: Labels, type: number, helpRef: number, unitRef: number, sink: WriteSink): void {
    const help = this.metadataText(helpRef, "help");
    const unit = this.metadataText(unitRef, "unit");
    if (help === null || unit === null) return;
    if (typeof help !== "string" || typeof unit !== "string") {
      const refused = typeof help !== "string" ? help.refused : (unit as MetadataRefusal).refused;
      sink.invalidMetadata(`series ${labels.toString()}: ${refused}`);
      return;
    }
    sink.metadata(labels.metricName(), METRIC_TYPES[type] ?? "unknown", help, unit);
  }

  // A help or unit symbol under the metadata length limit. Within it (always, from real senders) the symbol is
  // decoded once per request and shared.
  private metadataText(ref: number, what: "help" | "unit"): string | null | MetadataRefusal {
    const max = this.limits!.maxMetadataLength;
    if (this.symbolBytes(ref) <= max) return this.symbol(ref);
    return metadataText(this.text, this.symbolRanges[2 * ref], this.symbolRanges[2 * ref + 1], what, max);
  }

  // The refused series' text and `problem`: at most PREVIEW_LABELS labels of its `n` refs, as previews.
  private labelsProblem(n: number, problem: string): string {
    const raw: string[] = [];
    for (let i = 0; i < Math.min(n, 2 * PREVIEW_LABELS); i++) raw.push(this.preview(this.refs[i]));
    if (raw.length % 2 !== 0) raw.push("");
    return `series ${rawLabelsText(raw, Math.ceil(n / 2))}: ${problem}`;
  }

  // The series' labels from `refs[0, n)`, validated; a string saying what is wrong otherwise.
  private labels(n: number): Labels | string {
    const limits = this.limits!;
    const refs = this.refs;
    if (n > 2 * limits.maxLabelNamesPerSeries) {
      return this.labelsProblem(n, LabelProblem.tooMany(Math.ceil(n / 2), limits.maxLabelNamesPerSeries));
    }
    if (n % 2 !== 0) return this.labelsProblem(n, `odd number of label refs (${n})`);
    for (let i = 0; i < n; i++) {
      if (refs[i] >= this.nSymbols) {
        return this.labelsProblem(n, `label ref ${refs[i]} out of range (${this.nSymbols} symbols)`);
      }
    }
    const flat: string[] = [];
    let hasName = false;
    let prev = "";
    for (let i = 0; i < n; i += 2) {
      const problem = this.labelProblem(refs[i], refs[i + 1], i > 0 ? prev : null);
      if (problem !== null) return this.labelsProblem(n, problem);
      const name = this.symbol(refs[i])!;
      const value = this.symbol(refs[i + 1])!;
      prev = name;
      if (value === "") continue;
      flat.push(name, value);
      if (name === METRIC_NAME) hasName = true;
    }
    if (!hasName) return this.labelsProblem(n, LabelProblem.noMetricName());
    return Labels.fromSortedUnchecked(flat);
  }

  // What is wrong with the label of symbols `nameRef` and `valueRef` following the name `prev` (null for the
  // first), lengths checked before anything is decoded; null when nothing is.
  private labelProblem(nameRef: number, valueRef: number, prev: string | null): string | null {
    const limits = this.limits!;
    const nameBytes = this.symbolBytes(nameRef);
    const valueBytes = this.symbolBytes(valueRef);
    if (nameBytes === 0) return LabelProblem.emptyName();
    if (nameBytes > limits.maxLabelNameLength) {
      return LabelProblem.nameTooLong(this.preview(nameRef), nameBytes, limits.maxLabelNameLength);
    }
    if (valueBytes > limits.maxLabelValueLength) {
      return LabelProblem.valueTooLong(this.preview(nameRef), valueBytes, limits.maxLabelValueLength);
    }
    const name = this.symbol(nameRef);
    if (name === null) return LabelProblem.notUtf8("name", this.preview(nameRef));
    if (this.symbol(valueRef) === null) return LabelProblem.notUtf8("value", this.preview(valueRef));
    if (prev === null) return null;
    const c = compareStrings(prev, name);
    if (c === 0) return LabelProblem.duplicate(name);
    return c > 0 ? LabelProblem.unsorted(prev, name) : null;
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
    for (const h of s.histograms ?? []) writeWireHistogram(w, 3, h.t, h.h);
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
