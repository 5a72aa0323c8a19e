// The Prometheus protobuf exposition format (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
// encoding=delimited`): a body of MetricFamily messages, each preceded by its length as a varint. The parser reads
// one family at a time and hands out its entries as the text parsers do: HELP, TYPE and UNIT first, then one series
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

/** One entry of the current family. */
interface Entry {
  readonly kind: EntryKind;
  /** Sample name (family name plus a suffix), or the family name of a metadata entry. */
  readonly name: string;
  /** The metric's own labels, flat. */
  readonly labels: readonly string[];
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

function metadataEntry(kind: EntryKind, name: string, text: string): Entry {
  return {
    kind,
    name,
    labels: [],
    extraName: "",
    extraValue: "",
    value: 0,
    timestamp: undefined,
    histogram: null,
    text,
  };
}

/** Parses delimited MetricFamily messages; see ExpositionParser for the contract. */
export class ProtobufParser implements ExpositionParser {
  readonly format = "protobuf" as const;
  private readonly r: ProtoReader;
  private readonly classic: boolean;
  private readonly families = new Map<string, MetricMetadata>();
  private queue: Entry[] = [];
  private at = 0;
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
      if (this.r.pos >= this.r.buf.length) {
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

  // Reads the next delimited MetricFamily into the queue of entries.
  private readFamily(): void {
    const r = this.r;
    r.end = r.buf.length;
    const end = r.lengthDelimited();
    r.end = end;
    let name = "";
    let help = "";
    let unit = "";
    let type = 0;
    const metrics: [number, number][] = [];
    while (!r.done()) {
      const key = r.tag();
      const field = key >>> 3;
      if (key === ((1 << 3) | WIRE_LEN)) name = protoString(r);
      else if (key === ((2 << 3) | WIRE_LEN)) help = protoString(r);
      else if (key === ((3 << 3) | WIRE_VARINT)) type = r.uint32();
      else if (key === ((5 << 3) | WIRE_LEN)) unit = protoString(r);
      else if (field === 4) {
        r.expect(key, WIRE_LEN, "MetricFamily.metric");
        const e = r.lengthDelimited();
        metrics.push([r.pos, e]);
        r.pos = e;
      } else r.skip(key & 7);
    }
    if (name === "") throw new ContrailError("bad_data", "protobuf exposition: a metric family without a name");
    const mtype = PROTO_TYPES[type];
    if (mtype === undefined) {
      throw new ContrailError("bad_data", `protobuf exposition: family ${quoteGo(name)} has unknown type ${type}`);
    }
    this.curType = mtype;
    this.families.set(name, { type: mtype, help, unit });
    const q: Entry[] = [];
    if (help !== "") q.push(metadataEntry("help", name, help));
    q.push(metadataEntry("type", name, ""));
    if (unit !== "") q.push(metadataEntry("unit", name, unit));
    for (const [from, to] of metrics) {
      r.pos = from;
      r.end = to;
      this.flatten(name, mtype, decodeMetric(r, mtype === "gaugehistogram"), q);
    }
    r.pos = end;
    r.end = r.buf.length;
    this.queue = q;
    this.at = 0;
  }

  // The series entries of one metric of family `name`.
  private flatten(name: string, type: MetricType, m: ProtoMetric, q: Entry[]): void {
    const base = { labels: m.labels, timestamp: m.timestamp, histogram: null, text: "", extraName: "", extraValue: "" };
    const series = (suffix: string, value: number, extraName = "", extraValue = ""): void => {
      q.push({ ...base, kind: "series", name: name + suffix, value, extraName, extraValue });
    };
    switch (type) {
      case "summary":
        series("_count", m.count);
        series("_sum", m.sum);
        for (let i = 0; i < m.quantiles.length; i += 2) {
          series("", m.quantiles[i + 1], "quantile", formatOpenMetricsFloat(m.quantiles[i]));
        }
        return;
      case "histogram":
      case "gaugehistogram": {
        const h = m.native;
        if (h !== null) {
          const problem = histogramProblem(h);
          if (problem !== null) {
            const text = seriesKey({ ...base, name });
            throw new ContrailError(
              "bad_data",
              `protobuf exposition: series ${text}: invalid native histogram: ${problem}`,
            );
          }
          q.push({ ...base, kind: "histogram", name, value: 0, histogram: h });
          if (!this.classic || m.buckets.length === 0) return;
        }
        series("_count", m.count);
        series("_sum", m.sum);
        let inf = false;
        for (const b of m.buckets) {
          series("_bucket", b.count, "le", formatOpenMetricsFloat(b.upperBound));
          if (b.upperBound === Number.POSITIVE_INFINITY) inf = true;
        }
        if (!inf) series("_bucket", m.count, "le", "+Inf");
        return;
      }
      default:
        series("", m.value);
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

// The canonical series text of an entry: `name{a="1",le="0.5"}`, label values quoted as Go quotes them.
function seriesKey(e: Pick<Entry, "name" | "labels" | "extraName" | "extraValue">): string {
  let s = e.name;
  const n = e.labels.length;
  if (n === 0 && e.extraName === "") return s;
  s += "{";
  for (let i = 0; i < n; i += 2) s += `${i > 0 ? "," : ""}${e.labels[i]}=${quoteGo(e.labels[i + 1])}`;
  if (e.extraName !== "") s += `${n > 0 ? "," : ""}${e.extraName}=${quoteGo(e.extraValue)}`;
  return `${s}}`;
}
