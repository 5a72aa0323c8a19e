// Renders metric families as Prometheus text 0.0.4 or OpenMetrics 1.0, for Contrail's own /metrics and for
// /federate. Output is deterministic: families sorted by name; samples by their labels (without `le` and
// `quantile`), then bucket/quantile series before `_sum`, `_count` and `_created`, then by bound. Floats print
// as Go's strconv.FormatFloat(v, 'g', -1, 64) (OpenMetrics adds `.0` to integral values, as Prometheus does).
//
// The two formats name families differently: Prometheus text names a counter after its sample (`x_total`),
// OpenMetrics after the family (`x`, samples `x_total`). Families here may use either; the writer adapts the
// header names (and, in OpenMetrics, a counter sample named like its family gets `_total`). Prometheus text has
// no info, stateset or gauge histogram types and no `_created` samples; they are written the way client
// libraries write them (gauge, gauge, histogram; `_created` samples as a gauge family of their own).

import { ContrailError } from "../model/errors.ts";
import type { Histogram as NativeHistogram } from "../model/histogram.ts";
import {
  compareStrings,
  isValidLegacyLabelName,
  isValidLegacyMetricName,
  type Labels,
  LabelsBuilder,
  METRIC_NAME,
} from "../model/labels.ts";
import { formatGoFloat, formatOpenMetricsFloat, scanFloat } from "./float.ts";
import type { ExpositionFormat, MetricType } from "./types.ts";

/** One sample of a family. */
export interface FamilySample {
  /**
   * A native histogram sample of a histogram family (named like the family; `value` is its count): written by the
   * protobuf writer only, as the text formats have no native histograms.
   */
  readonly histogram?: NativeHistogram;
  /** Full sample name (`x_bucket`, `x_total`); default: the `__name__` label, else the family name. */
  readonly name?: string;
  /** The sample's labels; a `__name__` label is used only as the default name, never printed as a label. */
  readonly labels: Labels;
  readonly value: number;
  /** Milliseconds since the epoch; omitted when undefined. */
  readonly timestampMs?: number;
}

/** A metric family to write. Samples must belong to the family (the writer does not check their names). */
export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  /** Written when defined (an empty help gives an empty HELP line). */
  readonly help?: string;
  /** OpenMetrics only; must be a suffix `_<unit>` of the family name. */
  readonly unit?: string;
  readonly samples: readonly FamilySample[];
}

const CREATED = "_created";

/** Escapes a label value (and a quoted name, and OpenMetrics help): backslash, double quote, newline. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`)) : v;
}

/** Escapes Prometheus text help: backslash and newline. */
function escapePromHelp(v: string): string {
  return /[\\\n]/.test(v) ? v.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\")) : v;
}

/** A family name as `# HELP` and `# TYPE` lines write it: quoted when it is not a legacy metric name. */
export function headerName(name: string): string {
  return isValidLegacyMetricName(name) ? name : `"${escapeLabelValue(name)}"`;
}

/**
 * The `name{labels}` text of a sample; a name that is not a legacy metric name goes quoted inside the braces.
 * `extra` pairs are written after the labels as given, empty values included (federation's `instance=""`).
 */
export function seriesText(name: string, labels: Labels, extra: readonly (readonly [string, string])[] = []): string {
  const legacy = isValidLegacyMetricName(name);
  let inner = legacy ? "" : `"${escapeLabelValue(name)}"`;
  const add = (n: string, v: string) => {
    if (inner !== "") inner += ",";
    const ln = isValidLegacyLabelName(n) ? n : `"${escapeLabelValue(n)}"`;
    inner += `${ln}="${escapeLabelValue(v)}"`;
  };
  labels.forEach((n, v) => {
    if (n !== METRIC_NAME) add(n, v);
  });
  for (const [n, v] of extra) add(n, v);
  if (legacy) return inner === "" ? name : `${name}{${inner}}`;
  return `{${inner}}`;
}

function sampleName(f: MetricFamily, s: FamilySample): string {
  return s.name ?? (s.labels.metricName() || f.name);
}

// Rank of a sample name within its family: the main series first, then _sum, _count, _created.
function suffixRank(name: string): number {
  if (name.endsWith("_sum") || name.endsWith("_gsum")) return 1;
  if (name.endsWith("_count") || name.endsWith("_gcount")) return 2;
  if (name.endsWith(CREATED)) return 3;
  return 0;
}

interface SortKey {
  readonly sample: FamilySample;
  readonly name: string;
  readonly group: Labels;
  readonly rank: number;
  readonly bound: number;
  readonly boundText: string;
}

/** The family's samples in the writer's deterministic order. */
function sortedSamples(f: MetricFamily): SortKey[] {
  const b = new LabelsBuilder();
  const keys = f.samples
    .filter((s) => s.histogram === undefined)
    .map((sample): SortKey => {
      const name = sampleName(f, sample);
      const boundText = sample.labels.get("le") || sample.labels.get("quantile");
      const bound = boundText === "" ? Number.NaN : (scanFloat(boundText, 0, boundText.length) ?? Number.NaN);
      const group = b.reset(sample.labels).del(METRIC_NAME, "le", "quantile").labels();
      return { sample, name, group, rank: suffixRank(name), bound, boundText };
    });
  keys.sort(
    (x, y) =>
      x.group.compare(y.group) ||
      x.rank - y.rank ||
      compareBounds(x, y) ||
      compareStrings(x.name, y.name) ||
      x.sample.labels.compare(y.sample.labels) ||
      (x.sample.timestampMs ?? 0) - (y.sample.timestampMs ?? 0),
  );
  return keys;
}

// Numeric bounds ascending (+Inf last), non-numeric ones after them by text.
function compareBounds(x: SortKey, y: SortKey): number {
  const xn = Number.isNaN(x.bound);
  const yn = Number.isNaN(y.bound);
  if (!xn && !yn) return x.bound < y.bound ? -1 : x.bound > y.bound ? 1 : 0;
  if (xn !== yn) return xn ? 1 : -1;
  return compareStrings(x.boundText, y.boundText);
}

function sortedFamilies(families: readonly MetricFamily[]): MetricFamily[] {
  return families.slice().sort((a, b) => compareStrings(a.name, b.name));
}

function stripSuffix(name: string, suffix: string): string {
  return name.endsWith(suffix) && name.length > suffix.length ? name.slice(0, -suffix.length) : name;
}

// Prometheus text: the TYPE of a family, and the name its header lines use.
function promHeader(f: MetricFamily, keys: readonly SortKey[]): { name: string; type: string } {
  const named = (suffix: string) => {
    if (f.name.endsWith(suffix)) return f.name;
    return keys.some((k) => k.name === f.name + suffix) ? f.name + suffix : f.name;
  };
  switch (f.type) {
    case "counter":
      return { name: named("_total"), type: "counter" };
    case "info":
      return { name: named("_info"), type: "gauge" };
    case "stateset":
    case "gauge":
      return { name: f.name, type: "gauge" };
    case "gaugehistogram":
    case "histogram":
      return { name: f.name, type: "histogram" };
    case "summary":
      return { name: f.name, type: "summary" };
    case "unknown":
      return { name: f.name, type: "untyped" };
  }
}

function promSample(name: string, s: FamilySample): string {
  const ts = s.timestampMs === undefined ? "" : ` ${Math.trunc(s.timestampMs)}`;
  return `${seriesText(name, s.labels)} ${formatGoFloat(s.value)}${ts}\n`;
}

/** Renders `families` as Prometheus text 0.0.4. */
export function writePrometheusText(families: readonly MetricFamily[]): string {
  let out = "";
  for (const f of sortedFamilies(families)) {
    const keys = sortedSamples(f);
    const header = promHeader(f, keys);
    const hasCreated = f.type === "counter" || f.type === "histogram" || f.type === "summary";
    const help = f.help === undefined ? "" : `# HELP ${headerName(header.name)} ${escapePromHelp(f.help)}\n`;
    out += `${help}# TYPE ${headerName(header.name)} ${header.type}\n`;
    let created = "";
    let createdName = "";
    for (const k of keys) {
      if (hasCreated && k.name.endsWith(CREATED)) {
        createdName = k.name;
        created += promSample(k.name, k.sample);
      } else {
        out += promSample(k.name, k.sample);
      }
    }
    if (created !== "") {
      const createdHelp = f.help === undefined ? "" : `# HELP ${headerName(createdName)} ${escapePromHelp(f.help)}\n`;
      out += `${createdHelp}# TYPE ${headerName(createdName)} gauge\n${created}`;
    }
  }
  return out;
}

// OpenMetrics: the family name its header lines use, and how a sample named like the family is renamed.
function omNames(f: MetricFamily): { family: string; sampleSuffix: string } {
  switch (f.type) {
    case "counter":
      return { family: stripSuffix(f.name, "_total"), sampleSuffix: "_total" };
    case "info":
      return { family: stripSuffix(f.name, "_info"), sampleSuffix: "_info" };
    case "gauge":
    case "histogram":
    case "gaugehistogram":
    case "summary":
    case "stateset":
    case "unknown":
      return { family: f.name, sampleSuffix: "" };
  }
}

/** Renders `families` as OpenMetrics 1.0, ending with `# EOF`. Throws bad_data on a unit that is not a suffix
 * of its family's name. */
export function writeOpenMetrics(families: readonly MetricFamily[]): string {
  let out = "";
  for (const f of sortedFamilies(families)) {
    const { family, sampleSuffix } = omNames(f);
    const name = headerName(family);
    if (f.help !== undefined) out += `# HELP ${name} ${escapeLabelValue(f.help)}\n`;
    out += `# TYPE ${name} ${f.type}\n`;
    if (f.unit !== undefined && f.unit !== "") {
      if (!family.endsWith(`_${f.unit}`)) {
        throw new ContrailError(
          "bad_data",
          `unit ${JSON.stringify(f.unit)} is not a suffix of metric ${JSON.stringify(family)}`,
        );
      }
      out += `# UNIT ${name} ${f.unit}\n`;
    }
    for (const k of sortedSamples(f)) {
      const sampleNameOut = sampleSuffix !== "" && k.name === family ? family + sampleSuffix : k.name;
      const s = k.sample;
      const ts = s.timestampMs === undefined ? "" : ` ${formatOpenMetricsFloat(s.timestampMs / 1000)}`;
      out += `${seriesText(sampleNameOut, s.labels)} ${formatOpenMetricsFloat(s.value)}${ts}\n`;
    }
  }
  return `${out}# EOF\n`;
}

/** Renders `families` in `format`. */
export function writeExposition(format: ExpositionFormat, families: readonly MetricFamily[]): string {
  switch (format) {
    case "prometheus":
      return writePrometheusText(families);
    case "openmetrics":
      return writeOpenMetrics(families);
  }
}
