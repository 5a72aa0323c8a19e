// The decoded OTLP metrics request (opentelemetry-proto's ExportMetricsServiceRequest) as plain data, the one shape
// both decoders (protobuf and JSON) produce and the translator reads. Only what the translation to Prometheus uses
// is kept: attributes are already reduced to their string form, exemplars and scope attributes are counted, not
// kept. Times are milliseconds since the epoch (OTLP's nanoseconds, floored). Counts are exact integers below
// 2^53; the decoders refuse larger ones.
// Reference: https://github.com/open-telemetry/opentelemetry-proto/blob/main/opentelemetry/proto/metrics/v1/metrics.proto

/** An attribute: its key and its value as text (AnyValue's string form, see attributes.ts). */
export type Attribute = readonly [key: string, value: string];

/** OTLP's AggregationTemporality enum values. */
export const Temporality = { unspecified: 0, delta: 1, cumulative: 2 } as const;

/** DataPointFlags: the point has no value (the series went away): a staleness marker. */
export const FLAG_NO_RECORDED_VALUE = 1;

/** What every data point has: attributes, times (ms) and flags. */
export interface PointBase {
  readonly attributes: readonly Attribute[];
  /** Start of the aggregation period, ms; 0 when not sent. */
  readonly startMs: number;
  /** Time of the point, ms. */
  readonly timeMs: number;
  readonly flags: number;
  /** Exemplars the point carried (dropped: Contrail keeps no exemplars). */
  readonly exemplars: number;
}

/** A gauge or sum point: `value` from `as_double` or `as_int`. */
export interface NumberPoint extends PointBase {
  readonly value: number;
}

/** A classic histogram point: per-bucket (not cumulative) counts, one more than the explicit upper bounds. */
export interface HistogramPoint extends PointBase {
  readonly count: number;
  /** Absent when the sender did not set it (it is optional in OTLP). */
  readonly sum: number | undefined;
  readonly bucketCounts: readonly number[];
  readonly explicitBounds: readonly number[];
}

/** One side of an exponential histogram: the index of the first bucket, then the counts of consecutive buckets. */
export interface ExpBuckets {
  readonly offset: number;
  readonly counts: readonly number[];
}

/** An exponential histogram point: bucket `i` of a side covers (base^i, base^(i+1)], base = 2^(2^-scale). */
export interface ExpHistogramPoint extends PointBase {
  readonly count: number;
  readonly sum: number | undefined;
  readonly scale: number;
  readonly zeroCount: number;
  /** Width of the zero bucket, >= 0 (0 when not sent). */
  readonly zeroThreshold: number;
  readonly positive: ExpBuckets;
  readonly negative: ExpBuckets;
}

/** One quantile of a summary point. */
export interface Quantile {
  readonly quantile: number;
  readonly value: number;
}

/** A summary point. */
export interface SummaryPoint extends PointBase {
  readonly count: number;
  readonly sum: number;
  readonly quantiles: readonly Quantile[];
}

/** A metric's data, by type (the `data` oneof of Metric). */
export type MetricData =
  | { readonly kind: "gauge"; readonly points: readonly NumberPoint[] }
  | {
      readonly kind: "sum";
      readonly temporality: number;
      readonly monotonic: boolean;
      readonly points: readonly NumberPoint[];
    }
  | { readonly kind: "histogram"; readonly temporality: number; readonly points: readonly HistogramPoint[] }
  | {
      readonly kind: "exponentialHistogram";
      readonly temporality: number;
      readonly points: readonly ExpHistogramPoint[];
    }
  | { readonly kind: "summary"; readonly points: readonly SummaryPoint[] }
  /** A metric with no data field (or one this receiver does not know): refused with a reason. */
  | { readonly kind: "empty" };

/** One metric: its OTLP name, description, UCUM unit and data. */
export interface Metric {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly data: MetricData;
}

/** The metrics of one instrumentation scope (its name and version are not translated, as Prometheus 3's default). */
export interface ScopeMetrics {
  readonly metrics: readonly Metric[];
}

/** The metrics of one resource (an app instance) with the resource's attributes. */
export interface ResourceMetrics {
  readonly attributes: readonly Attribute[];
  readonly scopes: readonly ScopeMetrics[];
}

/** A decoded ExportMetricsServiceRequest. */
export interface ExportRequest {
  readonly resources: readonly ResourceMetrics[];
}
