// The exposition module's vocabulary: metric types, parser entries, metadata, exemplars, and the one small
// interface both text parsers (Prometheus text 0.0.4, OpenMetrics 1.0) implement.

import type { Histogram } from "../model/histogram.ts";
import type { Labels, LabelsBuilder } from "../model/labels.ts";

/** The two text formats Contrail reads and writes. */
export type ExpositionFormat = "prometheus" | "openmetrics";

/** Every format a scrape may be answered in: the text formats and the protobuf exposition format. */
export type ScrapeFormat = ExpositionFormat | "protobuf";

/** Metric family types; Prometheus text's `untyped` is read as `unknown`, as Prometheus does. */
export type MetricType =
  | "counter"
  | "gauge"
  | "histogram"
  | "gaugehistogram"
  | "summary"
  | "info"
  | "stateset"
  | "unknown";

/**
 * What `next()` found: a float sample, a native histogram sample (protobuf format only: OpenMetrics 1.0 and
 * Prometheus text define none), a metadata line, a plain comment (Prometheus text only), or the end.
 */
export type EntryKind = "series" | "histogram" | "help" | "type" | "unit" | "comment" | "eof";

/** Metadata of one metric family, as the API's /api/v1/metadata reports it. */
export interface MetricMetadata {
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string;
}

/** An OpenMetrics exemplar: its own labels, value and optional timestamp (ms since the epoch). */
export interface Exemplar {
  readonly labels: Labels;
  readonly value: number;
  readonly timestamp: number | undefined;
}

/**
 * A pull parser over one exposition body. Call `next()` until it returns `"eof"`; after each entry the accessors
 * for that kind are valid until the following `next()`. It throws ContrailError("bad_data") naming the line on
 * malformed input; after a throw the parser must not be used again.
 *
 * A histogram entry is a series entry whose sample is a native histogram: the series accessors (series, labels,
 * timestamp, ...) serve both, `value()` is meaningless for it and `histogram()` gives its value.
 *
 * Hot path contract: `next()` allocates no label set. A scraper looks `series()` up in its cache and calls
 * `labels()` only on a miss.
 */
export interface ExpositionParser {
  /** The format this parser reads. */
  readonly format: ScrapeFormat;

  /** Advances to the next entry; `"eof"` at the end (OpenMetrics: after `# EOF`), and on every later call. */
  next(): EntryKind;

  /** Series entry: the raw `name{labels}` text exactly as written (escapes and spacing kept), a cache key. The
   * string may share memory with the whole body; keep `ownedSeries()` instead when it must outlive the body. */
  series(): string;

  /** Series entry: the same text as `series()` in a string that shares no memory with the body. */
  ownedSeries(): string;

  /** Series entry: the sample's metric name; help, type and unit entries: the metric family name. Unescaped. */
  metricName(): string;

  /** Series entry: the sample value (NaN, ±Inf included). */
  value(): number;

  /** Histogram entry: the native histogram; owned by the parser, valid until the following `next()`. */
  histogram(): Histogram;

  /** Series entry: the sample timestamp in ms since the epoch, or undefined when the line has none. */
  timestamp(): number | undefined;

  /** Series entry: resets `builder`, fills it with `__name__` and the labels (unescaped; OpenMetrics float form
   * for `le` of histograms and `quantile` of summaries, as Prometheus 3 stores them) and returns the label set.
   * Throws bad_data on a duplicate or empty label name. */
  labels(builder: LabelsBuilder): Labels;

  /**
   * Series entry: how many labels the line holds besides its metric name, known without building anything (the
   * scraper's label limit is checked on it first); 0 for other entries.
   */
  labelCount(): number;

  /** Series entry: the exemplar of the line (OpenMetrics only), built on demand; undefined when there is none. */
  exemplar(): Exemplar | undefined;

  /** Series entry: true for a `<family>_created` sample of a counter, histogram or summary family. Its value is
   * the family's start time in seconds since the epoch; it stays an ordinary sample as well. */
  isCreated(): boolean;

  /** Type entry: the declared type. Series entry: the type of the family the sample belongs to (the family of
   * the last metadata line when the sample's name matches it, `unknown` otherwise). */
  type(): MetricType;

  /** Help entry: the help text, unescaped. */
  help(): string;

  /** Unit entry: the unit (OpenMetrics only). */
  unit(): string;

  /** Comment entry: the whole comment line from its `#` (Prometheus text only). */
  comment(): string;

  /** Metadata by metric family name, accumulated from the HELP, TYPE and UNIT lines read so far. The map is
   * owned by the parser and grows as it reads; copy it to keep a snapshot. */
  metadata(): ReadonlyMap<string, MetricMetadata>;
}
