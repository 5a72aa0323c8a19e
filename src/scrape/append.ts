// Turns one parsed scrape body into appends, Prometheus's way: each series line is looked up in the target's cache
// by its raw text; only a miss builds a label set (the platform labels applied, the label limits checked). A sample
// without a timestamp takes the scrape time and is tracked for staleness; one with a timestamp keeps it and is
// not. The first malformed line, violated limit or failed append ends the body with an error: the caller then
// rolls the batch back. Two exceptions leave the rest of the body written: a new series over the org's series limit
// is left out and counted (existing series keep their samples), and so are native histogram samples (protobuf
// scrapes) when the store keeps no histograms. Native histograms go through `appendHistogram` with the same cache,
// limits and staleness as float samples.

import type { ExpositionParser } from "../exposition/index.ts";
import { ContrailError, isContrailError } from "../model/errors.ts";
import type { Histogram } from "../model/histogram.ts";
import { type Labels, LabelsBuilder } from "../model/labels.ts";
import { STALE_NAN } from "../model/sample.ts";
import type { Appender, SeriesRef } from "../storage/interface.ts";
import { NO_REF, type ScrapeCache } from "./cache.ts";
import type { LabelLimits } from "./options.ts";

/** Samples further in the future than this (ms past the scrape time) are out of bounds, as in Prometheus. */
export const MAX_AHEAD_MS = 10 * 60_000;

/**
 * A label builder that sets the platform labels last, so they override the exposed labels of the same names.
 * The parser resets and fills it per series; its `labels()` then returns the final set in one allocation.
 * This follows the platform's catalog ("an app's own metrics that carry any of these label names are
 * overwritten"); Prometheus with `honor_labels: false` would instead keep the app's value as `exported_<name>`.
 */
export class TargetLabelsBuilder extends LabelsBuilder {
  private readonly platform: readonly (readonly [string, string])[];

  /** A builder that always applies `platform` (name/value pairs). */
  constructor(platform: readonly (readonly [string, string])[]) {
    super();
    this.platform = platform;
  }

  /** The label set with the platform labels applied. */
  override labels(): Labels {
    for (const [name, value] of this.platform) this.set(name, value);
    return super.labels();
  }
}

/** What one body contributed. */
export interface BodyResult {
  /** Samples in the body (all series lines, read until the end or the first error). */
  total: number;
  /** Samples handed to the appender (`scrape_samples_post_metric_relabeling`). */
  added: number;
  /** Series new to the cache (`scrape_series_added`). */
  seriesAdded: number;
  /** Label sets built (cache misses). */
  labelsBuilt: number;
  /** Samples left out before the appender: a series repeated in the body, or a time too far ahead. */
  skipped: number;
  /** Samples of new series the store refused for the org's series limit (the rest of the body is still written). */
  seriesLimited: number;
  /** Native histogram samples left out because the store keeps no histograms (the rest is still written). */
  histogramsRefused: number;
  /** The first refusal of either kind, naming the limit or the reason; null when there was none. */
  limitError: ContrailError | null;
  /** Why the body failed, or null. */
  error: ContrailError | null;
}

/** Inputs of `appendBody`. */
export interface AppendBodyInput {
  readonly parser: ExpositionParser;
  readonly app: Appender;
  readonly cache: ScrapeCache;
  readonly builder: LabelsBuilder;
  /** Scrape time, ms: the timestamp of samples without one. */
  readonly t: number;
  readonly sampleLimit: number;
  /** Where the sample limit comes from, for the error message: "" for the platform's own. */
  readonly sampleLimitOrigin?: string;
  readonly labelLimits: LabelLimits;
}

const SERIES_IN_ERROR_MAX = 200;

function shorten(s: string): string {
  return s.length <= SERIES_IN_ERROR_MAX ? s : `${s.slice(0, SERIES_IN_ERROR_MAX)}…`;
}

/** Throws `limit_exceeded` naming the series when it has `count` labels (its name included), over the limit. */
function checkLabelCount(count: number, limits: LabelLimits, series: string): void {
  if (limits.maxLabels > 0 && count > limits.maxLabels) {
    throw new ContrailError(
      "limit_exceeded",
      `label limit exceeded: series ${shorten(series)} has ${count} labels, the limit is ${limits.maxLabels}`,
    );
  }
}

/** Throws `limit_exceeded` naming the series when `labels` breaks a limit. */
function checkLabelLimits(labels: Labels, limits: LabelLimits, series: string): void {
  if (limits.maxLabels > 0 && labels.size > limits.maxLabels) {
    throw new ContrailError(
      "limit_exceeded",
      `label limit exceeded: series ${shorten(series)} has ${labels.size} labels (platform labels included), ` +
        `the limit is ${limits.maxLabels}`,
    );
  }
  if (limits.maxLabelNameLength === 0 && limits.maxLabelValueLength === 0) return;
  labels.forEach((name, value) => {
    if (limits.maxLabelNameLength > 0 && name.length > limits.maxLabelNameLength) {
      throw new ContrailError(
        "limit_exceeded",
        `label name length limit exceeded: series ${shorten(series)} has a label name of ${name.length} ` +
          `characters (${shorten(name)}), the limit is ${limits.maxLabelNameLength}`,
      );
    }
    if (limits.maxLabelValueLength > 0 && value.length > limits.maxLabelValueLength) {
      throw new ContrailError(
        "limit_exceeded",
        `label value length limit exceeded: series ${shorten(series)} has a value of ${value.length} characters ` +
          `for label ${name}, the limit is ${limits.maxLabelValueLength}`,
      );
    }
  });
}

/** Appends a sample for a cached series: by ref when it has one, by labels when it has none or the store no longer
 * knows the ref (its series was garbage-collected, or the database reopened); keeps the entry's ref current. */
function appendEntry(app: Appender, e: { readonly labels: Labels; ref: SeriesRef }, t: number, v: number): void {
  if (e.ref !== NO_REF) {
    try {
      app.appendRef(e.ref, t, v);
      return;
    } catch (err) {
      if (!isContrailError(err, "not_found")) throw err;
    }
  }
  e.ref = app.append(e.labels, t, v);
}

/**
 * `appendEntry`, except that a new series refused by the org's series limit is not an error of the batch: the
 * refusal (`series_limit`) is returned and nothing is appended, so the caller goes on with the other series.
 */
export function appendWithinLimit(
  app: Appender,
  e: { readonly labels: Labels; ref: SeriesRef },
  t: number,
  v: number,
): ContrailError | null {
  try {
    appendEntry(app, e, t, v);
    return null;
  } catch (err) {
    if (isContrailError(err, "series_limit")) return err;
    throw err;
  }
}

/**
 * Appends a native histogram for a cached series, by ref when it has one (as `appendEntry`). Returns the refusal
 * when the store keeps no histograms or its series limit refused a new series, null when appended.
 */
function appendHistogramEntry(
  app: Appender,
  e: { readonly labels: Labels; ref: SeriesRef },
  t: number,
  h: Histogram,
): ContrailError | null {
  if (app.appendHistogram === undefined) {
    return new ContrailError(
      "bad_data",
      `native histogram samples cannot be stored (series ${shorten(e.labels.toString())}): ` +
        "this storage keeps float samples only",
    );
  }
  try {
    if (e.ref !== NO_REF && app.appendHistogramRef !== undefined) {
      try {
        app.appendHistogramRef(e.ref, t, h);
        return null;
      } catch (err) {
        if (!isContrailError(err, "not_found")) throw err;
      }
    }
    e.ref = app.appendHistogram(e.labels, t, h);
    return null;
  } catch (err) {
    if (isContrailError(err, "series_limit")) return err;
    throw err;
  }
}

/** Appends a stale marker for a series that vanished. A series the store no longer knows needs none. */
export function appendStale(app: Appender, e: { readonly ref: SeriesRef }, t: number): void {
  if (e.ref === NO_REF) return;
  try {
    app.appendRef(e.ref, t, STALE_NAN);
  } catch (err) {
    if (!isContrailError(err, "not_found")) throw err;
  }
}

/** Reads the whole body into `app`, using and filling `cache` (whose iteration the caller has begun). */
export function appendBody(input: AppendBodyInput): BodyResult {
  const { parser, app, cache, builder, t, sampleLimit, labelLimits } = input;
  const iter = cache.iter;
  const maxT = t + MAX_AHEAD_MS;
  const r: BodyResult = {
    total: 0,
    added: 0,
    seriesAdded: 0,
    labelsBuilt: 0,
    skipped: 0,
    seriesLimited: 0,
    histogramsRefused: 0,
    limitError: null,
    error: null,
  };
  let limited = false;
  try {
    for (;;) {
      const kind = parser.next();
      if (kind === "eof") break;
      if (kind !== "series" && kind !== "histogram") continue;
      r.total++;
      if (limited) {
        // Read on only to count the samples for the error and the report series.
        r.added++;
        continue;
      }
      const ts = parser.timestamp();
      let e = cache.get(parser.series());
      let isNew = false;
      if (e === undefined) {
        // Counted before anything is built: a line of a million labels is refused at the cost of reading it.
        checkLabelCount(parser.labelCount() + 1, labelLimits, parser.series());
        const key = parser.ownedSeries();
        const labels = parser.labels(builder);
        r.labelsBuilt++;
        checkLabelLimits(labels, labelLimits, key);
        e = cache.add(key, labels);
        isNew = true;
      } else if (e.seen === iter && ts === undefined) {
        // The body repeats a series: a second sample at the same time is a duplicate (Prometheus drops it too).
        r.skipped++;
        continue;
      }
      if (sampleLimit > 0 && r.added >= sampleLimit) {
        limited = true;
        r.added++;
        continue;
      }
      e.seen = iter;
      const st = ts ?? t;
      if (st > maxT) {
        r.skipped++;
        continue;
      }
      const limitError =
        kind === "histogram"
          ? appendHistogramEntry(app, e, st, parser.histogram())
          : appendWithinLimit(app, e, st, parser.value());
      if (limitError !== null) {
        // Not tracked for staleness: the series was never written. The next scrape tries it again.
        if (limitError.code === "series_limit") r.seriesLimited++;
        else r.histogramsRefused++;
        r.limitError ??= limitError;
        continue;
      }
      if (ts === undefined) e.track = true;
      r.added++;
      if (isNew) r.seriesAdded++;
    }
  } catch (err) {
    r.error = isContrailError(err)
      ? err
      : new ContrailError("internal", `scrape append failed: ${(err as Error).message}`, { cause: err });
    return r;
  }
  if (limited) {
    r.error = new ContrailError(
      "limit_exceeded",
      `sample limit exceeded: the scrape exposed ${r.total} samples, the limit is ${sampleLimit}` +
        (input.sampleLimitOrigin ? ` (${input.sampleLimitOrigin})` : ""),
    );
  }
  return r;
}
