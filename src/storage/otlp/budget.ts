// The bounds a decoder enforces while it reads a request, whatever its encoding: data points against the org's
// max_samples_per_write, and the values a point carries (buckets, bounds, quantiles) per point and per request, so
// a body within the size limit still cannot make the receiver hold an unbounded number of values. Over a bound the
// request is refused whole (413): nothing of it has been written yet.

import { ContrailError } from "../../model/errors.ts";
import { limitName, type OrgLimits } from "../../model/limits.ts";

/**
 * Most values (bucket counts, bounds, quantiles) of one data point. OpenTelemetry SDKs keep 160 exponential buckets
 * per side by default and explicit histograms rarely have more than a few dozen bounds.
 */
export const MAX_VALUES_PER_POINT = 2048;

/** Values (buckets, bounds, quantiles) a request may carry per data point it may carry, on average. */
export const VALUES_PER_POINT_BUDGET = 32;

/** The limits a decoder reads (model/limits.ts). */
export type OtlpDecodeLimits = Pick<OrgLimits, "maxSamplesPerWrite">;

/** Counts what a decoder has read of one request and throws `too_large` past a bound. One per request. */
export class DecodeBudget {
  private points = 0;
  private values = 0;
  private readonly maxPoints: number;
  private readonly maxValues: number;

  /** A budget for one request under `limits`. */
  constructor(limits: OtlpDecodeLimits) {
    this.maxPoints = limits.maxSamplesPerWrite;
    this.maxValues = limits.maxSamplesPerWrite * VALUES_PER_POINT_BUDGET;
  }

  /** Counts one data point. */
  point(): void {
    if (++this.points > this.maxPoints) {
      throw new ContrailError(
        "too_large",
        `the request holds more than ${this.maxPoints} data points, the limit (${limitName("maxSamplesPerWrite")}); ` +
          "export fewer per request (the OpenTelemetry Collector's batch processor: send_batch_max_size)",
      );
    }
  }

  /** Counts `n` values of one list of the current point (`what`: "bucket counts", ...), which already holds `had`. */
  addValues(n: number, had: number, what: string): void {
    if (had + n > MAX_VALUES_PER_POINT) {
      throw new ContrailError(
        "too_large",
        `a data point holds more than ${MAX_VALUES_PER_POINT} ${what}, the most one point may carry`,
      );
    }
    this.values += n;
    if (this.values > this.maxValues) {
      throw new ContrailError(
        "too_large",
        `the request holds more than ${this.maxValues} bucket counts, bounds and quantiles ` +
          `(${VALUES_PER_POINT_BUDGET} per data point allowed by ${limitName("maxSamplesPerWrite")})`,
      );
    }
  }

  /** Data points read so far. */
  get pointCount(): number {
    return this.points;
  }
}
