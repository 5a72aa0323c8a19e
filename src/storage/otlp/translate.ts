// Translates a decoded OTLP request into Prometheus series, as Prometheus 3's OTLP receiver does by default:
// - names: names.ts (legacy charset with underscores, unit and type suffixes);
// - labels: the point's attributes (keys escaped; keys that escape to the same name have their values joined with
//   ";" in key order), then `job` (`service.namespace/service.name`, or `service.name`) and `instance`
//   (`service.instance.id`) from the resource, then `__name__` and `le`/`quantile`;
// - the resource's other attributes on one `target_info` series (value 1, at the resource's newest point);
// - gauges and non-monotonic sums: gauges; monotonic sums: counters (`_total`); histograms: `_bucket{le}` (cumulative,
//   `+Inf` holding the count), `_sum` (when sent), `_count`; summaries: `{quantile}`, `_sum`, `_count`; exponential
//   histograms: native histograms (exphist.ts);
// - sums and histograms of delta (or unspecified) temporality are refused, as Prometheus 3 does unless its
//   delta-to-cumulative feature is on: a delta cannot be stored as a Prometheus counter without the receiver keeping
//   state per series;
// - a point flagged "no recorded value" is a staleness marker; exemplars are dropped (counted); scope name and
//   version are not labels (Prometheus 3's default).
// Refusals are per data point, with the reason for the sender; the rest of the request is still translated.

import type { MetricType } from "../../exposition/types.ts";
import type { Histogram } from "../../model/histogram.ts";
import { compareStrings, isWellFormed, Labels } from "../../model/labels.ts";
import { limitName, type OrgLimits } from "../../model/limits.ts";
import { STALE_NAN } from "../../model/sample.ts";
import { nativeHistogram } from "./exphist.ts";
import {
  type Attribute,
  type ExportRequest,
  FLAG_NO_RECORDED_VALUE,
  type HistogramPoint,
  type Metric,
  type PointBase,
  type SummaryPoint,
  Temporality,
} from "./model.ts";
import { formatPlain, labelName, metricName, type NameType, unitName } from "./names.ts";

/** The limits translation enforces (model/limits.ts): per series, and metadata texts. */
export type TranslateLimits = Pick<
  OrgLimits,
  "maxLabelNamesPerSeries" | "maxLabelNameLength" | "maxLabelValueLength" | "maxMetadataLength"
>;

/**
 * Receives the translated series. Calls for one data point come together after its `point()`; a point refused by
 * the translator gets `refuse` instead. Labels are valid: names escaped, values well-formed, within the limits.
 */
export interface TranslateSink {
  /** A data point starts (for counting the points the sink refuses). */
  point(): void;
  /** A float sample (ms) of series `labels`. */
  float(labels: Labels, t: number, v: number): void;
  /** A native histogram sample (ms) of series `labels`; the sink may keep `h`. */
  histogram(labels: Labels, t: number, h: Histogram): void;
  /** `points` data points refused, with the reason (for people). */
  refuse(points: number, reason: string): void;
  /** Metadata of the metric family `name` (help already cut to the metadata length limit). */
  metadata(name: string, type: MetricType, help: string, unit: string): void;
  /** Exemplars received and dropped. */
  exemplars(n: number): void;
}

/** The resource attributes that become `job` and `instance` instead of `target_info` labels. */
const SERVICE_NAME = "service.name";
const SERVICE_NAMESPACE = "service.namespace";
const SERVICE_INSTANCE_ID = "service.instance.id";
const IDENTIFYING = new Set([SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_INSTANCE_ID]);

/** Name of the series holding a resource's attributes. */
export const TARGET_INFO = "target_info";

const utf8Length = (s: string) => Buffer.byteLength(s, "utf8");

/** Translates one request; limits are the org's. Never throws for anything in the request. */
export function translateRequest(req: ExportRequest, sink: TranslateSink, limits: TranslateLimits): void {
  const t = new Translator(sink, limits);
  for (const r of req.resources) {
    t.resource(
      r.attributes,
      r.scopes.flatMap((s) => s.metrics),
    );
  }
}

class Translator {
  private readonly sink: TranslateSink;
  private readonly limits: TranslateLimits;
  /** Attribute keys as label names ("" when nothing is left of one), per request. */
  private readonly names = new Map<string, string>();
  private job = "";
  private instance = "";
  private newest = Number.NEGATIVE_INFINITY;
  /** The base labels of the point last begun. */
  private pointBase: ReadonlyMap<string, string> = new Map();

  constructor(sink: TranslateSink, limits: TranslateLimits) {
    this.sink = sink;
    this.limits = limits;
  }

  private labelNameOf(key: string): string {
    let n = this.names.get(key);
    if (n === undefined) {
      n = labelName(key);
      this.names.set(key, n);
    }
    return n;
  }

  resource(attributes: readonly Attribute[], metrics: readonly Metric[]): void {
    const attr = (k: string) => attributes.find((a) => a[0] === k)?.[1] ?? "";
    const service = attr(SERVICE_NAME);
    const namespace = attr(SERVICE_NAMESPACE);
    this.job = service === "" ? "" : namespace === "" ? service : `${namespace}/${service}`;
    this.instance = attr(SERVICE_INSTANCE_ID);
    this.newest = Number.NEGATIVE_INFINITY;
    for (const m of metrics) this.metric(m);
    const others = attributes.filter((a) => !IDENTIFYING.has(a[0]));
    if (others.length === 0 || this.newest === Number.NEGATIVE_INFINITY) return;
    // target_info is not an OTLP data point: its refusal (a label limit) is reported, not counted as a point.
    const base = this.baseOf(others);
    const labels = typeof base === "string" ? base : this.finish(base, TARGET_INFO);
    if (typeof labels === "string") this.sink.refuse(0, labels);
    else this.sink.float(labels, this.newest, 1);
  }

  // A point's labels before its name: its attributes (escaped; values of keys escaping alike joined in key order)
  // with the resource's job and instance; or why there are none.
  private baseOf(attrs: readonly Attribute[]): Map<string, string> | string {
    const rec = new Map<string, string>();
    let collided = false;
    for (const [key, value] of attrs) {
      const n = this.labelNameOf(key);
      if (n === "") return `attribute key ${JSON.stringify(key)} leaves no valid label name once escaped`;
      if (rec.has(n)) collided = true;
      rec.set(n, value);
    }
    if (collided) {
      // Rare: redo in key order, joining the values of keys that escape alike.
      rec.clear();
      const sorted = [...attrs].sort((a, b) => compareStrings(a[0], b[0]));
      for (const [key, value] of sorted) {
        const n = this.labelNameOf(key);
        const had = rec.get(n);
        rec.set(n, had === undefined ? value : `${had};${value}`);
      }
    }
    if (this.job !== "") rec.set("job", this.job);
    if (this.instance !== "") rec.set("instance", this.instance);
    return rec;
  }

  // The labels of series `name` (and `extra`, e.g. `le`) over a point's `base`, within the limits; or why not.
  private finish(base: ReadonlyMap<string, string>, name: string, extra?: readonly [string, string]): Labels | string {
    const pairs: [string, string][] = [["__name__", name]];
    if (extra !== undefined) pairs.push([extra[0], extra[1]]);
    for (const [n, v] of base) {
      if (v !== "" && n !== "__name__" && n !== extra?.[0]) pairs.push([n, v]);
    }
    const l = this.limits;
    if (pairs.length > l.maxLabelNamesPerSeries) {
      return `a series of ${name} has ${pairs.length} labels, more than ${l.maxLabelNamesPerSeries} (${limitName("maxLabelNamesPerSeries")})`;
    }
    for (const [n, v] of pairs) {
      // Escaped names are ASCII: their length is their size in bytes.
      if (n.length > l.maxLabelNameLength) {
        return `label name ${JSON.stringify(n.slice(0, 64))} of ${name} is longer than ${l.maxLabelNameLength} bytes (${limitName("maxLabelNameLength")})`;
      }
      // Fast path: a value of n UTF-16 units takes at most 3n bytes.
      if (v.length * 3 > l.maxLabelValueLength && utf8Length(v) > l.maxLabelValueLength) {
        return `label ${n} of ${name} has a value longer than ${l.maxLabelValueLength} bytes (${limitName("maxLabelValueLength")})`;
      }
      if (!isWellFormed(v)) return `label ${n} of ${name} has a value that is not valid UTF-8`;
    }
    pairs.sort((a, b) => compareStrings(a[0], b[0]));
    const flat: string[] = new Array(pairs.length * 2);
    for (let i = 0; i < pairs.length; i++) {
      flat[2 * i] = pairs[i][0];
      flat[2 * i + 1] = pairs[i][1];
    }
    return Labels.fromSortedUnchecked(flat);
  }

  private metric(m: Metric): void {
    const d = m.data;
    const all: readonly PointBase[] = d.kind === "empty" ? [] : d.points;
    const points = all.length;
    for (const p of all) this.sink.exemplars(p.exemplars);
    const nameType: NameType = d.kind === "gauge" ? "gauge" : d.kind === "sum" && d.monotonic ? "counter" : "other";
    const name = metricName(m.name, m.unit, nameType);
    const what = `metric ${JSON.stringify(m.name)}`;
    if (d.kind === "empty") {
      this.sink.refuse(0, `${what} has no data (or a data type this receiver does not know)`);
      return;
    }
    if (name === "") {
      this.sink.refuse(points, `${what}: nothing of its name is left once escaped to the Prometheus charset`);
      return;
    }
    if (d.kind !== "gauge" && d.kind !== "summary" && d.temporality !== Temporality.cumulative) {
      const which = d.temporality === Temporality.delta ? "delta" : `unspecified (${d.temporality})`;
      this.sink.refuse(
        points,
        `${what}: ${which} aggregation temporality is not supported, only cumulative; configure the exporter's ` +
          "temporality preference as cumulative (or use the Collector's deltatocumulative processor)",
      );
      return;
    }
    const type: MetricType =
      d.kind === "gauge"
        ? "gauge"
        : d.kind === "sum"
          ? d.monotonic
            ? "counter"
            : "gauge"
          : d.kind === "summary"
            ? "summary"
            : "histogram";
    this.meta(name, type, m.description, m.unit);
    switch (d.kind) {
      case "gauge":
      case "sum":
        for (const p of d.points) {
          const l = this.begin(p, name);
          if (l !== null) this.sink.float(l, p.timeMs, stale(p) ? STALE_NAN : p.value);
        }
        return;
      case "histogram":
        for (const p of d.points) this.classicHistogram(p, name);
        return;
      case "summary":
        for (const p of d.points) this.summary(p, name);
        return;
      case "exponentialHistogram":
        for (const p of d.points) {
          const h = nativeHistogram(p);
          if ("refused" in h) {
            this.sink.refuse(1, `${what}: ${h.refused}`);
            continue;
          }
          const l = this.begin(p, name);
          if (l !== null) this.sink.histogram(l, p.timeMs, h);
        }
        return;
    }
  }

  // Starts point `p` of `name`: its labels, or null when refused. Its base labels are kept for `emit`.
  private begin(p: PointBase, name: string): Labels | null {
    const base = this.baseOf(p.attributes);
    if (typeof base === "string") {
      this.sink.refuse(1, base);
      return null;
    }
    const l = this.finish(base, name);
    if (typeof l === "string") {
      this.sink.refuse(1, l);
      return null;
    }
    this.pointBase = base;
    this.sink.point();
    if (p.timeMs > this.newest) this.newest = p.timeMs;
    return l;
  }

  private classicHistogram(p: HistogramPoint, name: string): void {
    const bounds = p.explicitBounds;
    if (p.bucketCounts.length !== 0 && p.bucketCounts.length !== bounds.length + 1) {
      this.sink.refuse(
        1,
        `histogram ${name}: ${p.bucketCounts.length} bucket counts for ${bounds.length} explicit bounds (expected ${bounds.length + 1})`,
      );
      return;
    }
    for (let i = 0; i < bounds.length; i++) {
      if (Number.isNaN(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
        this.sink.refuse(1, `histogram ${name}: explicit bounds are not strictly increasing numbers`);
        return;
      }
    }
    const base = this.begin(p, `${name}_count`);
    if (base === null) return;
    const s = stale(p);
    const t = p.timeMs;
    if (p.sum !== undefined) this.emit(p, `${name}_sum`, undefined, s ? STALE_NAN : p.sum);
    this.sink.float(base, t, s ? STALE_NAN : p.count);
    let cumulative = 0;
    for (let i = 0; i < bounds.length && p.bucketCounts.length > 0; i++) {
      cumulative += p.bucketCounts[i];
      this.emit(p, `${name}_bucket`, ["le", formatPlain(bounds[i])], s ? STALE_NAN : cumulative);
    }
    this.emit(p, `${name}_bucket`, ["le", "+Inf"], s ? STALE_NAN : p.count);
  }

  private summary(p: SummaryPoint, name: string): void {
    for (const q of p.quantiles) {
      if (!(q.quantile >= 0 && q.quantile <= 1)) {
        this.sink.refuse(1, `summary ${name}: quantile ${q.quantile} is outside [0, 1]`);
        return;
      }
    }
    const base = this.begin(p, `${name}_count`);
    if (base === null) return;
    const s = stale(p);
    this.emit(p, `${name}_sum`, undefined, s ? STALE_NAN : p.sum);
    this.sink.float(base, p.timeMs, s ? STALE_NAN : p.count);
    for (const q of p.quantiles) {
      this.emit(p, name, ["quantile", formatPlain(q.quantile)], s ? STALE_NAN : q.value);
    }
  }

  // A further series of the point last begun (`_sum`, a bucket, a quantile), over the same base labels.
  private emit(p: PointBase, name: string, extra: readonly [string, string] | undefined, v: number): void {
    const l = this.finish(this.pointBase, name, extra);
    if (typeof l === "string") this.sink.refuse(0, l);
    else this.sink.float(l, p.timeMs, v);
  }

  private meta(name: string, type: MetricType, description: string, unit: string): void {
    const max = this.limits.maxMetadataLength;
    const u = unitName(unit);
    if (utf8Length(name) > max || utf8Length(u) > max) return;
    let help = description;
    if (utf8Length(help) > max) {
      help = Buffer.from(help, "utf8")
        .subarray(0, max)
        .toString("utf8")
        .replace(/\uFFFD$/, "");
    }
    this.sink.metadata(name, type, help, u);
  }
}

function stale(p: PointBase): boolean {
  return (p.flags & FLAG_NO_RECORDED_VALUE) !== 0;
}
