// Remote-Write 1.0's `prometheus.WriteRequest` (prompb/remote.proto, prompb/types.proto):
//
//   WriteRequest   { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
//   TimeSeries     { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3;
//                    repeated Histogram histograms = 4; }            (Histogram: histogram-wire.ts)
//   Label          { string name = 1; string value = 2; }
//   Sample         { double value = 1; int64 timestamp = 2; }
//   MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
//
// The decoder first walks the message's top level: it counts series and metadata entries against the request
// limits and refuses a 2.0 body (fields 4 and 5) before anything is decoded. It then reads each TimeSeries in two
// passes: the first notes where its labels and samples lie (fields may come in any order) and counts them against
// the limits, the second validates the labels (or finds them in the cache) and hands the samples to the sink.
// Nothing is decoded for a series over a limit: its label count and string lengths are known from the first pass.
// Exemplars are counted, not decoded. Native histograms (histogram-wire.ts) are decoded after the series' float
// samples, only for a series the sink takes; a series without them costs the float path nothing more.
// The encoder of the same message is codec-v1-encode.ts.

import { ContrailError } from "../../model/errors.ts";
import { Labels, METRIC_NAME } from "../../model/labels.ts";
import { WALK_KEY, WALK_STRIDE, type WalkedV1 } from "./codec-v1-walk.ts";
import { decodeWireHistogram } from "./histogram-wire.ts";
import { KeyIndex, RowSlot, type SourceRows, type WorkerRoster } from "./key-index.ts";
import { ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";
import { checkSampleCount, checkSeriesCount, metadataText, otherVersion } from "./request-checks.ts";
import { NO_ENTRY, type RefSlot, SeriesCache, type SeriesCacheOptions } from "./series-cache.ts";
import { type DecodeLimits, METRIC_TYPES, type SeriesCounts, type WriteSink } from "./types.ts";
import {
  asBuffer,
  compareBytes,
  LabelProblem,
  PREVIEW_LABELS,
  previewText,
  rawLabelsText,
  wireString,
} from "./wire-strings.ts";

// Field keys ((field << 3) | wire type) of the hot fields.
const KEY_SAMPLE_VALUE = (1 << 3) | WIRE_FIXED64;
const KEY_SAMPLE_TIMESTAMP = (2 << 3) | WIRE_VARINT;
const KEY_LABEL_NAME = (1 << 3) | WIRE_LEN;
const KEY_LABEL_VALUE = (2 << 3) | WIRE_LEN;

const EMPTY = Buffer.alloc(0);
const EMPTY_VIEW: DataView = new DataView(new ArrayBuffer(0));

/** Grows `a` to hold at least `n` entries, keeping its contents. */
function ensure(a: Int32Array, n: number): Int32Array {
  if (n <= a.length) return a;
  const b = new Int32Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

/** A series' labels as parsed: the set, and its longest name and value in bytes (for the cache's limit checks). */
interface ParsedLabels {
  labels: Labels;
  maxNameBytes: number;
  maxValueBytes: number;
}

/**
 * Decodes `prometheus.WriteRequest` bodies into a WriteSink. Keeps scratch arrays and a series cache (by the raw
 * bytes of their labels) between calls, so use one decoder per receiver; not re-entrant.
 */
export class WriteRequestV1Decoder {
  private labelRanges: Int32Array = new Int32Array(64);
  private sampleRanges: Int32Array = new Int32Array(256);
  private histogramRanges: Int32Array = new Int32Array(16);
  private readonly counts: SeriesCounts = { samples: 0, histograms: 0, exemplars: 0 };
  private readonly cache: SeriesCache;
  private readonly parsed: ParsedLabels = { labels: Labels.EMPTY, maxNameBytes: 0, maxValueBytes: 0 };
  // One label's [name start, name end, value start, value end], as `labelAt` reads it.
  private readonly at = new Int32Array(4);
  // Per `decode` call: a Buffer view of the body (for native string decoding), its limits, samples seen so far.
  private text: Buffer = EMPTY;
  private view: DataView = EMPTY_VIEW;
  private limits: DecodeLimits | null = null;
  private samplesSeen = 0;
  // The cache entry of the request's previous series, whose successor is the guess for the next lookup.
  private prev = NO_ENTRY;
  // Series of walked requests by their decode worker's key numbers, and the slot handed out for one of them, whose
  // labels are those of the series `slotFrom`..`slotTo` with `slotLabels` label fields, decoded on demand.
  private readonly keys: KeyIndex;
  private readonly rowSlot = new RowSlot(() => this.slotSeriesLabels());
  private reader: ProtoReader | null = null;
  private slotFrom = 0;
  private slotTo = 0;
  private slotLabels = 0;

  /** A decoder whose series cache has the limits `cache` (its `maxEntries` also bounds each worker's rows). */
  constructor(cache: SeriesCacheOptions = {}) {
    this.cache = new SeriesCache(cache);
    this.keys = new KeyIndex(cache.maxEntries);
  }

  /** Decode workers whose key numbers the decoder keeps rows for (key-index.ts). */
  get indexedWorkers(): number {
    return this.keys.size;
  }

  /** Drops the rows of decode workers of `pool` that ended: see KeyIndex.retain. */
  retainWorkers(pool: WorkerRoster): void {
    this.keys.retain(pool);
  }

  /**
   * Decodes the whole message `body` into `sink` under `limits`. A series with invalid labels, or over a label
   * limit, goes to `sink.invalidSeries`. Throws ContrailError "too_large" for a request over a count limit and
   * "bad_data" for a message that is not valid protobuf or is a 2.0 Request; the count and version checks come
   * before any series reaches the sink, a protobuf error possibly after some did (the caller rolls them back).
   */
  decode(body: Uint8Array, sink: WriteSink, limits: DecodeLimits): void {
    const r = new ProtoReader(body);
    this.text = asBuffer(body);
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.limits = limits;
    this.samplesSeen = 0;
    this.prev = NO_ENTRY;
    try {
      scanTopLevel(r, limits);
      r.pos = 0;
      while (!r.done()) {
        const key = r.tag();
        switch (key >>> 3) {
          case 1: {
            const end = r.lengthDelimited();
            this.series(r, end, sink);
            r.pos = end;
            r.end = body.length;
            break;
          }
          case 3: {
            const end = r.lengthDelimited();
            r.end = end;
            metadata(r, this.text, sink, limits.maxMetadataLength);
            r.pos = end;
            r.end = body.length;
            break;
          }
          default:
            r.skip(key & 7);
        }
      }
    } finally {
      this.prev = NO_ENTRY;
      this.text = EMPTY;
      this.view = EMPTY_VIEW;
      this.limits = null;
    }
  }

  private series(r: ProtoReader, end: number, sink: WriteSink): void {
    const limits = this.limits!;
    const kept = Math.max(limits.maxLabelNamesPerSeries, PREVIEW_LABELS);
    r.end = end;
    let nLabels = 0;
    let nSamples = 0;
    let exemplars = 0;
    let histograms = 0;
    // The label fields' bytes, as a cache key when they are contiguous (they are with every known sender).
    let labelsFrom = -1;
    let labelsTo = -1;
    let contiguous = true;
    while (!r.done()) {
      const fieldStart = r.pos;
      const key = r.tag();
      switch (key >>> 3) {
        case 1: {
          r.expect(key, WIRE_LEN, "TimeSeries.labels");
          const e = r.lengthDelimited();
          if (labelsFrom < 0) labelsFrom = fieldStart;
          else if (labelsTo !== fieldStart) contiguous = false;
          labelsTo = e;
          // Past the limit only the count goes on (and the places of the few an error message quotes): the series
          // is refused, its labels are never decoded.
          if (nLabels < kept) {
            this.labelRanges = ensure(this.labelRanges, 2 * nLabels + 2);
            this.labelRanges[2 * nLabels] = r.pos;
            this.labelRanges[2 * nLabels + 1] = e;
          }
          nLabels++;
          r.pos = e;
          break;
        }
        case 2: {
          r.expect(key, WIRE_LEN, "TimeSeries.samples");
          checkSampleCount(++this.samplesSeen, limits.maxSamplesPerWrite);
          const e = r.lengthDelimited();
          this.sampleRanges = ensure(this.sampleRanges, 2 * nSamples + 2);
          this.sampleRanges[2 * nSamples] = r.pos;
          this.sampleRanges[2 * nSamples + 1] = e;
          nSamples++;
          r.pos = e;
          break;
        }
        case 3:
          r.expect(key, WIRE_LEN, "TimeSeries.exemplars");
          r.pos = r.lengthDelimited();
          exemplars++;
          break;
        case 4: {
          r.expect(key, WIRE_LEN, "TimeSeries.histograms");
          checkSampleCount(++this.samplesSeen, limits.maxSamplesPerWrite);
          const e = r.lengthDelimited();
          this.histogramRanges = ensure(this.histogramRanges, 2 * histograms + 2);
          this.histogramRanges[2 * histograms] = r.pos;
          this.histogramRanges[2 * histograms + 1] = e;
          histograms++;
          r.pos = e;
          break;
        }
        default:
          r.skip(key & 7);
      }
    }
    const counts = this.counts;
    counts.samples = nSamples;
    counts.histograms = histograms;
    counts.exemplars = exemplars;
    const found = this.seriesLabels(r, nLabels, contiguous ? labelsFrom : -1, labelsTo, true, sink);
    if (found === null) return;

    const ranges = this.sampleRanges;
    for (let i = 0; i < nSamples; i++) {
      r.pos = ranges[2 * i];
      r.end = ranges[2 * i + 1];
      let t = 0;
      let v = 0;
      while (r.pos < r.end) {
        const key = r.tag();
        if (key === KEY_SAMPLE_VALUE) v = r.double();
        else if (key === KEY_SAMPLE_TIMESTAMP) t = r.int64();
        else if (key >>> 3 === 1 || key >>> 3 === 2) r.fail(`Sample field ${key >>> 3} has wire type ${key & 7}`);
        else r.skip(key & 7);
      }
      sink.sample(t, v, 0);
    }
    if (histograms > 0) {
      const labels = found instanceof Labels ? found : found.labels();
      decodeHistograms(r, this.histogramRanges, histograms, labels, sink);
    }
  }

  /**
   * Feeds `sink` a request walked by `walkWriteRequestV1` (codec-v1-walk.ts) from the message `body`: the same
   * calls `decode` would make, without walking the message again. `walked` holds plain series only (float samples,
   * contiguous labels within the count limits), so nothing here can meet a protobuf error or a request limit.
   * `source`: the decode worker whose key numbers `walked` carries (see decode-pool.ts), -1 for none.
   */
  decodeWalked(body: Uint8Array, walked: WalkedV1, sink: WriteSink, limits: DecodeLimits, source = -1): void {
    const r = new ProtoReader(body);
    this.reader = r;
    this.text = asBuffer(body);
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.limits = limits;
    this.prev = NO_ENTRY;
    const counts = this.counts;
    counts.histograms = 0;
    counts.exemplars = 0;
    const { series, samples } = walked;
    const numbered = source >= 0 && walked.generation >= 0;
    let rows: SourceRows | null = null;
    let at = 0;
    try {
      for (let i = 0; i < series.length; i += WALK_STRIDE) {
        const n = series[i + 3];
        counts.samples = n;
        const key = numbered ? series[i + WALK_KEY] : NO_ENTRY;
        if (key >= 0) rows ??= this.keys.rows(source, walked.generation);
        const found =
          rows !== null && key >= 0 && rows.fits(key)
            ? this.indexedLabels(r, rows, key, series[i + 2], series[i], series[i + 1], sink)
            : this.seriesLabels(r, series[i + 2], series[i], series[i + 1], false, sink);
        if (found !== null) for (let k = 0; k < n; k++) sink.sample(samples[at + 2 * k], samples[at + 2 * k + 1], 0);
        at += 2 * n;
      }
    } finally {
      this.reader = null;
      this.prev = NO_ENTRY;
      this.text = EMPTY;
      this.view = EMPTY_VIEW;
      this.limits = null;
    }
  }

  // The labels of the current series, whose `nLabels` label fields are the bytes [from, to) of the message (from
  // is -1 when they are not contiguous: no cache), found in the cache or parsed and validated, then announced to
  // the sink with `this.counts`: the label set, or the ref slot of the series' cache entry (whose `labels()` decode
  // it).
  // Null when the series is refused (told to the sink) or the sink wants no samples.
  // `rangesKnown`: `this.labelRanges` already holds the label fields' places; else they are found on a cache miss.
  private seriesLabels(
    r: ProtoReader,
    nLabels: number,
    from: number,
    to: number,
    rangesKnown: boolean,
    sink: WriteSink,
  ): Labels | RefSlot | null {
    const limits = this.limits!;
    const counts = this.counts;
    if (nLabels > limits.maxLabelNamesPerSeries) {
      const preview = this.previewLabels(r, Math.min(nLabels, PREVIEW_LABELS));
      sink.invalidSeries(
        `series ${rawLabelsText(preview, nLabels)}: ${LabelProblem.tooMany(nLabels, limits.maxLabelNamesPerSeries)}`,
        counts,
      );
      return null;
    }
    let cacheable = from >= 0 && SeriesCache.cacheable(to - from);
    const view = this.view;
    const prev = this.prev;
    this.prev = NO_ENTRY;
    const cache = this.cache;
    let entry = cacheable ? cache.find(view, from, to, prev) : NO_ENTRY;
    // A cached set was valid under the limits of the request that added it; this request's may be stricter.
    if (
      entry !== NO_ENTRY &&
      (cache.maxNameBytes(entry) > limits.maxLabelNameLength || cache.maxValueBytes(entry) > limits.maxLabelValueLength)
    ) {
      entry = NO_ENTRY;
      cacheable = false;
    }
    // A series found in the cache is announced with no label set (null): the sink asks the entry when it needs one.
    let labels: Labels | null = null;
    if (entry === NO_ENTRY) {
      if (!rangesKnown) this.findLabelRanges(r, from, to);
      const problem = this.parseLabels(r, nLabels);
      if (problem !== null) {
        sink.invalidSeries(problem, counts);
        return null;
      }
      const p = this.parsed;
      labels = p.labels;
      if (cacheable) entry = cache.add(view, from, to, cache.lastHash, p.maxNameBytes, p.maxValueBytes);
    }
    if (entry !== NO_ENTRY) {
      if (prev !== NO_ENTRY) cache.follow(prev, entry);
      this.prev = entry;
      const slot = cache.slotOf(entry);
      return sink.series(labels, counts, slot) ? slot : null;
    }
    return sink.series(labels, counts) ? (labels as Labels) : null;
  }

  // The labels of a walked series numbered `key` by its worker, whose `nLabels` label fields are the bytes
  // [from, to): by its row when its labels were found valid before (under limits no stricter than this request's),
  // else parsed and validated as on a cache miss. Announced to the sink with the row's slot; as `seriesLabels`.
  private indexedLabels(
    r: ProtoReader,
    rows: SourceRows,
    key: number,
    nLabels: number,
    from: number,
    to: number,
    sink: WriteSink,
  ): Labels | RefSlot | null {
    const limits = this.limits!;
    // Over the label count limit (the walk leaves such series to the full decoder): refused as on a cache miss.
    if (nLabels > limits.maxLabelNamesPerSeries) return this.seriesLabels(r, nLabels, from, to, false, sink);
    const counts = this.counts;
    const slot = this.rowSlot.point(rows, key);
    this.slotFrom = from;
    this.slotTo = to;
    this.slotLabels = nLabels;
    const maxName = rows.maxNameBytes(key);
    if (maxName >= 0 && maxName <= limits.maxLabelNameLength && rows.maxValueBytes(key) <= limits.maxLabelValueLength) {
      return sink.series(null, counts, slot) ? slot : null;
    }
    this.findLabelRanges(r, from, to);
    const problem = this.parseLabels(r, nLabels);
    if (problem !== null) {
      sink.invalidSeries(problem, counts);
      return null;
    }
    const p = this.parsed;
    rows.validated(key, p.maxNameBytes, p.maxValueBytes);
    return sink.series(p.labels, counts, slot) ? slot : null;
  }

  // The labels of the series the row slot was last pointed at, parsed again from the request being read (they were
  // found valid under its limits when the slot was handed out).
  private slotSeriesLabels(): Labels {
    const r = this.reader;
    if (r === null) throw new ContrailError("internal", "a row slot's labels asked for outside its request");
    this.findLabelRanges(r, this.slotFrom, this.slotTo);
    const problem = this.parseLabels(r, this.slotLabels);
    if (problem !== null)
      throw new ContrailError("internal", `labels of an indexed series no longer valid: ${problem}`);
    return this.parsed.labels;
  }

  // Notes the places of the contiguous label fields [from, to) in `this.labelRanges`, as the first pass does.
  private findLabelRanges(r: ProtoReader, from: number, to: number): void {
    r.pos = from;
    r.end = to;
    for (let i = 0; !r.done(); i++) {
      r.tag();
      const e = r.lengthDelimited();
      this.labelRanges = ensure(this.labelRanges, 2 * i + 2);
      this.labelRanges[2 * i] = r.pos;
      this.labelRanges[2 * i + 1] = e;
      r.pos = e;
    }
  }

  // Reads label `i`'s name and value ranges into `into` [nFrom, nTo, vFrom, vTo].
  private labelAt(r: ProtoReader, i: number, into: Int32Array): void {
    r.pos = this.labelRanges[2 * i];
    r.end = this.labelRanges[2 * i + 1];
    into.fill(0);
    while (r.pos < r.end) {
      const key = r.tag();
      if (key === KEY_LABEL_NAME) {
        into[1] = r.lengthDelimited();
        into[0] = r.pos;
        r.pos = into[1];
      } else if (key === KEY_LABEL_VALUE) {
        into[3] = r.lengthDelimited();
        into[2] = r.pos;
        r.pos = into[3];
      } else if (key >>> 3 === 1 || key >>> 3 === 2) r.fail(`Label field ${key >>> 3} has wire type ${key & 7}`);
      else r.skip(key & 7);
    }
  }

  // The first `n` labels as previews (name, value, ...) for an error message.
  private previewLabels(r: ProtoReader, n: number): string[] {
    const b = this.text;
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      this.labelAt(r, i, this.at);
      out.push(previewText(b, this.at[0], this.at[1]), previewText(b, this.at[2], this.at[3]));
    }
    return out;
  }

  // Parses and validates the series' labels into `this.parsed`; returns null, or a string saying what is wrong.
  // Lengths are checked before decoding.
  private parseLabels(r: ProtoReader, nLabels: number): string | null {
    const limits = this.limits!;
    const b = this.text;
    const at = this.at;
    const flat: string[] = [];
    let problem: string | null = null;
    let prevFrom = 0;
    let prevTo = 0;
    let hasName = false;
    let maxName = 0;
    let maxValue = 0;
    for (let i = 0; i < nLabels && problem === null; i++) {
      this.labelAt(r, i, at);
      const [nFrom, nTo, vFrom, vTo] = at;
      if (nTo - nFrom > maxName) maxName = nTo - nFrom;
      if (vTo - vFrom > maxValue) maxValue = vTo - vFrom;
      if (nTo === nFrom) problem = LabelProblem.emptyName();
      else if (nTo - nFrom > limits.maxLabelNameLength) {
        problem = LabelProblem.nameTooLong(previewText(b, nFrom, nTo), nTo - nFrom, limits.maxLabelNameLength);
      } else if (vTo - vFrom > limits.maxLabelValueLength) {
        problem = LabelProblem.valueTooLong(previewText(b, nFrom, nTo), vTo - vFrom, limits.maxLabelValueLength);
      } else if (i > 0 && compareBytes(b, prevFrom, prevTo, nFrom, nTo) >= 0) {
        const name = previewText(b, nFrom, nTo);
        problem =
          compareBytes(b, prevFrom, prevTo, nFrom, nTo) === 0
            ? LabelProblem.duplicate(name)
            : LabelProblem.unsorted(previewText(b, prevFrom, prevTo), name);
      } else {
        const name = wireString(b, nFrom, nTo);
        const value = wireString(b, vFrom, vTo);
        if (name === null) problem = LabelProblem.notUtf8("name", previewText(b, nFrom, nTo));
        else if (value === null) problem = LabelProblem.notUtf8("value", previewText(b, vFrom, vTo));
        else if (value !== "") {
          flat.push(name, value);
          if (name === METRIC_NAME) hasName = true;
        }
      }
      prevFrom = nFrom;
      prevTo = nTo;
    }
    if (problem === null && !hasName) problem = LabelProblem.noMetricName();
    if (problem !== null) {
      return `series ${rawLabelsText(this.previewLabels(r, Math.min(nLabels, PREVIEW_LABELS)), nLabels)}: ${problem}`;
    }
    const p = this.parsed;
    p.labels = Labels.fromSortedUnchecked(flat);
    p.maxNameBytes = maxName;
    p.maxValueBytes = maxValue;
    return null;
  }
}

// The top level of a request, before anything is decoded: series and metadata entries within the request limit,
// and none of 2.0's fields (4 symbols, 5 timeseries, both length-delimited), which 1.0 does not have.
function scanTopLevel(r: ProtoReader, limits: DecodeLimits): void {
  let series = 0;
  let metadata = 0;
  while (!r.done()) {
    const key = r.tag();
    const field = key >>> 3;
    if (field === 1) {
      r.expect(key, WIRE_LEN, "WriteRequest.timeseries");
      checkSeriesCount(++series, limits.maxSeriesPerWrite);
    } else if (field === 3) {
      r.expect(key, WIRE_LEN, "WriteRequest.metadata");
      checkSeriesCount(++metadata, limits.maxSeriesPerWrite);
    } else if ((field === 4 || field === 5) && (key & 7) === WIRE_LEN) throw otherVersion("v2", field);
    r.skip(key & 7);
  }
}

// One MetricMetadata message (the reader is narrowed to it). Entries without a name or with invalid UTF-8 are
// skipped: metadata is advisory, and samples never depend on it. A help text over `maxLength` is cut to it; a name
// or unit over it is refused (told to the sink).
function metadata(r: ProtoReader, b: Buffer, sink: WriteSink, maxLength: number): void {
  let type = 0;
  let name: string | null = "";
  let help: string | null = "";
  let unit: string | null = "";
  let refusal: string | null = null;
  while (!r.done()) {
    const key = r.tag();
    const field = key >>> 3;
    if (field === 1) {
      r.expect(key, WIRE_VARINT, "MetricMetadata.type");
      type = r.uint32();
    } else if (field === 2 || field === 4 || field === 5) {
      r.expect(key, WIRE_LEN, "MetricMetadata string");
      const end = r.lengthDelimited();
      const t = metadataText(b, r.pos, end, field === 2 ? "name" : field === 4 ? "help" : "unit", maxLength);
      r.pos = end;
      const s = t === null || typeof t === "string" ? t : null;
      if (t !== null && typeof t !== "string") refusal ??= t.refused;
      if (field === 2) name = s;
      else if (field === 4) help = s;
      else unit = s;
    } else r.skip(key & 7);
  }
  if (refusal !== null) sink.invalidMetadata(refusal);
  else if (name !== null && name !== "" && help !== null && unit !== null) {
    sink.metadata(name, METRIC_TYPES[type] ?? "unknown", help, unit);
  }
}

/**
 * Decodes the `n` Histogram messages of the series `labels` at `ranges` ([start, end) pairs into `r.buf`) into
 * `sink`: each valid one to `histogram`, each invalid one to `invalidHistogram` naming the series.
 */
export function decodeHistograms(r: ProtoReader, ranges: Int32Array, n: number, labels: Labels, sink: WriteSink): void {
  for (let i = 0; i < n; i++) {
    const d = decodeWireHistogram(r, ranges[2 * i], ranges[2 * i + 1]);
    if (d.problem === undefined) sink.histogram(d.t, d.h);
    else sink.invalidHistogram(`series ${labels.toString()}: invalid native histogram: ${d.problem}`);
  }
}
