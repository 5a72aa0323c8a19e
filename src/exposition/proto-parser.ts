// The Prometheus protobuf exposition format (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
// encoding=delimited`): a body of MetricFamily messages, each preceded by its length as a varint. The parser reads
// one metric at a time and hands out its entries as the text parsers do: HELP, TYPE and UNIT first, then one series
// entry per sample, Prometheus's way of flattening:
//   counter, gauge, untyped   `name{labels}`
//   summary                   `name_count`, `name_sum`, `name{quantile="q"}` per quantile
//   histogram                 a native histogram (entry kind "histogram") `name{labels}` when the histogram has
//                             native buckets (spans or a zero bucket); its classic series `name_count`, `name_sum`,
//                             `name_bucket{le="b"}` (with a `+Inf` bucket when the client left it out) when it has no
//                             native part, or when the caller keeps classic buckets too (`classicHistograms`).
// Start (created) timestamps and exemplars are skipped. The series text of an entry is built in one canonical form
// (`name{a="1",b="2"}`, values quoted as Go does), so a scraper can key its cache by it as by a text line.

import { ContrailError } from "../model/errors.ts";
import type { Histogram } from "../model/histogram.ts";
import { histogramProblem } from "../model/histogram-check.ts";
import { Labels, type LabelsBuilder, METRIC_NAME } from "../model/labels.ts";
import { ProtoReader, WIRE_LEN, WIRE_VARINT } from "../model/protobuf.ts";
import { quoteGo } from "../model/quote.ts";
import { formatOpenMetricsFloat } from "./float.ts";
import { decodeMetric, type ProtoMetric, protoString } from "./proto-metric.ts";
import { labelNameProblem } from "./ranges.ts";
import type { EntryKind, Exemplar, ExpositionParser, MetricMetadata, MetricType } from "./types.ts";

/** client_model's MetricType enum, by number. */
const PROTO_TYPES: readonly MetricType[] = ["counter", "gauge", "summary", "unknown", "histogram", "gaugehistogram"];

// MetricFamily's field keys ((field << 3) | wire type): name, help, type, unit; metrics are field 4.
const KEY_NAME = (1 << 3) | WIRE_LEN;
const KEY_HELP = (2 << 3) | WIRE_LEN;
const KEY_TYPE = (3 << 3) | WIRE_VARINT;
const KEY_UNIT = (5 << 3) | WIRE_LEN;

/** One entry of the current family. */
interface Entry {
  readonly kind: EntryKind;
  /** Sample name (family name plus a suffix), or the family name of a metadata entry. */
  readonly name: string;
  /** The metric's own labels, flat. */
  readonly labels: readonly string[];
  /** The same labels as series text (`a="1",b="2"`), shared by the entries of one metric. */
  readonly labelText: string;
  /** `le` or `quantile` with its value, or "" for none. */
  readonly extraName: string;
  readonly extraValue: string;
  readonly value: number;
  readonly timestamp: number | undefined;
  readonly histogram: Histogram | null;
  /** Help or unit text of a metadata entry. */
  readonly text: string;
}

/** Options of the protobuf parser. */
export interface ProtoParserOptions {
  /**
   * Also expose the classic buckets of a histogram that has native buckets (Prometheus's
   * `always_scrape_classic_histograms`, off by default in Prometheus 3: such a histogram is then native only).
   */
  readonly classicHistograms?: boolean;
}

// Entries are built by these two only, with their fields in one order, so every entry has the same shape.
function metadataEntry(kind: EntryKind, name: string, text: string): Entry {
  return {
    kind,
    name,
    labels: NO_LABELS,
    labelText: "",
    extraName: "",
    extraValue: "",
    value: 0,
    timestamp: undefined,
    histogram: null,
    text,
  };
}

function sampleEntry(
  kind: EntryKind,
  name: string,
  m: ProtoMetric,
  labelText: string,
  value: number,
  extraName = "",
  extraValue = "",
  histogram: Histogram | null = null,
): Entry {
  const labels = m.labels;
  return { kind, name, labels, labelText, extraName, extraValue, value, timestamp: m.timestamp, histogram, text: "" };
}

const NO_LABELS: readonly string[] = [];

/** Parses delimited MetricFamily messages; see ExpositionParser for the contract. */
export class ProtobufParser implements ExpositionParser {
  readonly format = "protobuf" as const;
  private readonly r: ProtoReader;
  private readonly classic: boolean;
  private readonly families = new Map<string, MetricMetadata>();
  /** Entries of the metric (or family header) being handed out, and the index of the next one. */
  private readonly queue: Entry[] = [];
  private at = 0;
  /** Where the next family starts in the body; the current family's name, and its unread part [famScan, famEnd). */
  private bodyPos = 0;
  private famName = "";
  private famScan = 0;
  private famEnd = 0;
  private cur: Entry | null = null;
  private curType: MetricType = "unknown";
  private key = "";

  /** A parser over `body` (the parser keeps it for its lifetime). */
  constructor(body: Uint8Array | string, opts: ProtoParserOptions = {}) {
    this.r = new ProtoReader(typeof body === "string" ? new TextEncoder().encode(body) : body);
    this.classic = opts.classicHistograms ?? false;
  }

  next(): EntryKind {
    while (this.at >= this.queue.length) {
      this.queue.length = 0;
      this.at = 0;
      if (this.nextMetric()) continue;
      if (this.bodyPos >= this.r.buf.length) {
        this.cur = null;
        return "eof";
      }
      this.readFamily();
    }
    const e = this.queue[this.at++];
    this.cur = e;
    this.key = e.kind === "series" || e.kind === "histogram" ? seriesKey(e) : "";
    return e.kind;
  }

  // Reads the header of the next delimited MetricFamily (its name, help, type and unit, which may come after its
  // metrics) and queues its metadata entries; its metrics are decoded one at a time by `nextMetric`, so a family of
  // a million metrics never holds more than one metric's entries.
  private readFamily(): void {
    const r = this.r;
    r.pos = this.bodyPos;
    r.end = r.buf.length;
    const end = r.lengthDelimited();
    const start = r.pos;
    r.end = end;
    let name = "";
    let help = "";
    let unit = "";
    let type = 0;
    while (!r.done()) {
      const key = r.tag();
      if (key === KEY_NAME) name = protoString(r);
      else if (key === KEY_HELP) help = protoString(r);
      else if (key === KEY_TYPE) type = r.uint32();
      else if (key === KEY_UNIT) unit = protoString(r);
      else {
        if (key >>> 3 === 4) r.expect(key, WIRE_LEN, "MetricFamily.metric");
        r.skip(key & 7);
      }
    }
    if (name === "") throw new ContrailError("bad_data", "protobuf exposition: a metric family without a name");
    const mtype = PROTO_TYPES[type];
    if (mtype === undefined) {
      throw new ContrailError("bad_data", `protobuf exposition: family ${quoteGo(name)} has unknown type ${type}`);
    }
    this.famName = name;
    this.curType = mtype;
    this.famScan = start;
    this.famEnd = end;
    this.bodyPos = end;
    this.families.set(name, { type: mtype, help, unit });
    if (help !== "") this.queue.push(metadataEntry("help", name, help));
    this.queue.push(metadataEntry("type", name, ""));
    if (unit !== "") this.queue.push(metadataEntry("unit", name, unit));
  }

  // Decodes the current family's next metric into the queue; false when the family has no more.
  private nextMetric(): boolean {
    const r = this.r;
    while (this.famScan < this.famEnd) {
      r.pos = this.famScan;
      r.end = this.famEnd;
      const key = r.tag();
      if (key >>> 3 !== 4) {
        r.skip(key & 7);
        this.famScan = r.pos;
        continue;
      }
      const e = r.lengthDelimited();
      this.famScan = e;
      r.end = e;
      const type = this.curType;
      this.flatten(this.famName, type, decodeMetric(r, type === "gaugehistogram"), this.queue);
      return true;
    }
    return false;
  }

  // The series entries of one metric of family `name`.
  private flatten(name: string, type: MetricType, m: ProtoMetric, q: Entry[]): void {
    const lt = labelText(m.labels);
    switch (type) {
      case "summary":
        q.push(sampleEntry("series", `${name}_count`, m, lt, m.count));
        q.push(sampleEntry("series", `${name}_sum`, m, lt, m.sum));
        for (let i = 0; i < m.quantiles.length; i += 2) {
          q.push(
            sampleEntry("series", name, m, lt, m.quantiles[i + 1], "quantile", formatOpenMetricsFloat(m.quantiles[i])),
          );
        }
        return;
      case "histogram":
      case "gaugehistogram": {
        const h = m.native;
        if (h !== null) {
          const problem = histogramProblem(h);
          if (problem !== null) {
            const text = seriesKey(sampleEntry("histogram", name, m, lt, 0));
            throw new ContrailError(
              "bad_data",
              `protobuf exposition: series ${text}: invalid native histogram: ${problem}`,
            );
          }
          q.push(sampleEntry("histogram", name, m, lt, 0, "", "", h));
          if (!this.classic || m.buckets.length === 0) return;
        }
        q.push(sampleEntry("series", `${name}_count`, m, lt, m.count));
        q.push(sampleEntry("series", `${name}_sum`, m, lt, m.sum));
        let inf = false;
        const bucket = `${name}_bucket`;
        for (const b of m.buckets) {
          q.push(sampleEntry("series", bucket, m, lt, b.count, "le", formatOpenMetricsFloat(b.upperBound)));
          if (b.upperBound === Number.POSITIVE_INFINITY) inf = true;
        }
        if (!inf) q.push(sampleEntry("series", bucket, m, lt, m.count, "le", "+Inf"));
        return;
      }
      default:
        q.push(sampleEntry("series", name, m, lt, m.value));
    }
  }

  private entry(): Entry {
    const e = this.cur;
    if (e === null) throw new ContrailError("internal", "protobuf parser: no current entry");
    return e;
  }

  series(): string {
    return this.key;
  }

  ownedSeries(): string {
    return this.key;
  }

  metricName(): string {
    return this.cur?.name ?? "";
  }

  value(): number {
    return this.entry().value;
  }

  /** Histogram entry: the native histogram (owned by the parser; the appender copies what it keeps). */
  histogram(): Histogram {
    const h = this.entry().histogram;
    if (h === null) throw new ContrailError("internal", "protobuf parser: the current entry is not a histogram");
    return h;
  }

  timestamp(): number | undefined {
    return this.entry().timestamp;
  }

  labels(builder: LabelsBuilder): Labels {
    const e = this.entry();
    const names: string[] = [];
    for (let i = 0; i < e.labels.length; i += 2) names.push(e.labels[i]);
    if (e.extraName !== "") names.push(e.extraName);
    const problem = labelNameProblem(names, METRIC_NAME);
    if (problem !== undefined) {
      throw new ContrailError("bad_data", `protobuf exposition: series ${this.key}: ${problem}`);
    }
    builder.reset(Labels.EMPTY);
    builder.set(METRIC_NAME, e.name);
    for (let i = 0; i < e.labels.length; i += 2) builder.set(e.labels[i], e.labels[i + 1]);
    if (e.extraName !== "") builder.set(e.extraName, e.extraValue);
    return builder.labels();
  }

  labelCount(): number {
    const e = this.cur;
    if (e === null || (e.kind !== "series" && e.kind !== "histogram")) return 0;
    return e.labels.length / 2 + (e.extraName !== "" ? 1 : 0);
  }

  exemplar(): Exemplar | undefined {
    return undefined;
  }

  isCreated(): boolean {
    return false;
  }

  type(): MetricType {
    return this.cur === null ? "unknown" : this.curType;
  }

  help(): string {
    return this.cur?.kind === "help" ? this.cur.text : "";
  }

  unit(): string {
    return this.cur?.kind === "unit" ? this.cur.text : "";
  }

  comment(): string {
    return "";
  }

  metadata(): ReadonlyMap<string, MetricMetadata> {
    return this.families;
  }
}

// Label pairs (flat) as series text: `a="1",b="2"`, values quoted as Go quotes them.
function labelText(labels: readonly string[]): string {
  let s = "";
  for (let i = 0; i < labels.length; i += 2) s += `${i > 0 ? "," : ""}${labels[i]}=${quoteGo(labels[i + 1])}`;
  return s;
}

// The canonical series text of an entry: `name{a="1",le="0.5"}`.
function seriesKey(e: Pick<Entry, "name" | "labelText" | "extraName" | "extraValue">): string {
  if (e.labelText === "" && e.extraName === "") return e.name;
  if (e.extraName === "") return `${e.name}{${e.labelText}}`;
  const sep = e.labelText === "" ? "" : ",";
  return `${e.name}{${e.labelText}${sep}${e.extraName}=${quoteGo(e.extraValue)}}`;
}
