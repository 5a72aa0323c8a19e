// The vocabulary of the remote-write codecs: the two protocol messages, the sink a decoder feeds, and write requests
// as plain data for the encoders (tests, benchmarks, the remote-storage client).

import type { MetricMetadata, MetricType } from "../../exposition/types.ts";
import type { Histogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import type { OrgLimits } from "../../model/limits.ts";
import type { RefSlot } from "./series-cache.ts";

/** The two remote-write messages: 1.0's `prometheus.WriteRequest` and 2.0's `io.prometheus.write.v2.Request`. */
export type WriteProto = "v1" | "v2";

/**
 * The limits a decoder enforces while it reads (model/limits.ts). Counts over a request's limit stop the decoding
 * with ContrailError("too_large"); a series over a label limit is refused on its own (`WriteSink.invalidSeries`).
 */
export type DecodeLimits = Pick<
  OrgLimits,
  | "maxSeriesPerWrite"
  | "maxSamplesPerWrite"
  | "maxLabelNamesPerSeries"
  | "maxLabelNameLength"
  | "maxLabelValueLength"
  | "maxMetadataLength"
>;

/** Fully qualified protobuf names of the messages, as the Content-Type's `proto=` parameter names them. */
export const PROTO_NAMES: Readonly<Record<WriteProto, string>> = {
  v1: "prometheus.WriteRequest",
  v2: "io.prometheus.write.v2.Request",
};

/** Metric types by their enum number, the same in both messages (1.0's MetricType, 2.0's METRIC_TYPE_*). */
export const METRIC_TYPES: readonly MetricType[] = [
  "unknown",
  "counter",
  "gauge",
  "histogram",
  "gaugehistogram",
  "summary",
  "info",
  "stateset",
];

/** The enum number of a metric type in both messages. */
export function metricTypeNumber(t: MetricType): number {
  return METRIC_TYPES.indexOf(t);
}

/** What one decoded TimeSeries carried besides its labels. The decoder reuses one object: read it during the call. */
export interface SeriesCounts {
  /** Float samples. */
  samples: number;
  /** Native histogram samples. */
  histograms: number;
  /** Exemplars (not decoded). */
  exemplars: number;
}

/**
 * Receives a decoded write request, series by series, without per-sample objects. Calls for one series come
 * together: `series` (or `invalidSeries`), then its samples, then (2.0) its metadata.
 */
export interface WriteSink {
  /**
   * A series whose labels are valid: names non-empty, unique, sorted, valid UTF-8, `__name__` present; labels with
   * empty values are dropped. Returns true to be handed the series' float samples through `sample`. `slot`, when
   * given, is where the decoder keeps this series' ref between requests (owned by the decoder's cache; the sink may
   * read and set it during the call). Its histograms, if any, follow its float samples. `labels` is null for a
   * series the decoder's cache knew (a slot is then given): `slot.labels()` decodes them for a sink that needs them
   * (no ref kept in the slot, an error message), so a series appended by its kept ref never builds a label set.
   */
  series(labels: Labels | null, counts: Readonly<SeriesCounts>, slot?: RefSlot): boolean;
  /** A float sample of the current series: time (ms), value, and start (created) time in ms, 0 when not sent. */
  sample(t: number, v: number, startT: number): void;
  /** A valid native histogram sample of the current series at `t` (ms); `h` is the sink's to keep. */
  histogram(t: number, h: Histogram): void;
  /** An invalid histogram sample of the current series, with what is wrong (for people, naming the series). */
  invalidHistogram(reason: string): void;
  /** A series the decoder refused, with the reason (for people) and what it carried; its samples are not read. */
  invalidSeries(reason: string, counts: Readonly<SeriesCounts>): void;
  /**
   * Metadata of the metric family `name` (1.0: the request's metadata list; 2.0: each series' metadata). The help
   * text is already cut to the metadata length limit.
   */
  metadata(name: string, type: MetricType, help: string, unit: string): void;
  /** Metadata the decoder refused (a name or unit over the length limit), with the reason for people. */
  invalidMetadata(reason: string): void;
}

/** A float sample: time in ms since the epoch, value; `startT` (2.0 only): the series' start time in ms. */
export interface WriteSample {
  readonly t: number;
  readonly v: number;
  readonly startT?: number;
}

/** An exemplar: its own labels, value, and time in ms. */
export interface WriteExemplar {
  readonly labels: Labels;
  readonly v: number;
  readonly t: number;
}

/** A native histogram sample: time in ms since the epoch, and its value. */
export interface WriteHistogram {
  readonly t: number;
  readonly h: Histogram;
}

/** One series of a write request as plain data. */
export interface WriteSeries {
  readonly labels: Labels;
  readonly samples: readonly WriteSample[];
  readonly exemplars?: readonly WriteExemplar[];
  readonly histograms?: readonly WriteHistogram[];
  /** 2.0 only: the series' metadata (1.0 carries metadata per family in `WriteRequestData.metadata`). */
  readonly metadata?: MetricMetadata;
}

/** Metadata of one metric family, as 1.0 sends it. */
export interface FamilyMetadata extends MetricMetadata {
  readonly name: string;
}

/** A write request as plain data, encodable as either message. */
export interface WriteRequestData {
  readonly series: readonly WriteSeries[];
  /** 1.0 only: metadata per metric family. */
  readonly metadata?: readonly FamilyMetadata[];
}
