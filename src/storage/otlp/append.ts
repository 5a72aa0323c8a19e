// The sink of translated OTLP series: appends them to one appender (opened at the first sample, so a request that
// writes nothing never opens the org's storage) and counts what it refuses, per OTLP data point: samples too far in
// the future, new series over the org's series limit (as remote write: refused, the request's other series still
// written), native histograms when the org's store keeps none. Metadata is held until the batch is committed.

import type { MetricType } from "../../exposition/types.ts";
import { type ContrailError, isContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import type { Appender, CommitReport } from "../interface.ts";
import type { MetadataStore } from "../remote/metadata.ts";
import type { TranslateSink } from "./translate.ts";

/** The commit report of a request that appended nothing. */
const NOTHING_COMMITTED: CommitReport = {
  appended: 0,
  outOfOrder: 0,
  duplicate: 0,
  outOfBounds: 0,
  firstRejection: null,
};

/** Appends translated samples of one request; one per request, spent after `commit` or `rollback`. */
export class OtlpAppendSink implements TranslateSink {
  private readonly open: () => Appender;
  private readonly maxT: number;
  private app: Appender | null = null;
  /** Samples appended (float and histogram) and not yet committed. */
  pending = 0;
  /** Data points accepted by the translator. */
  points = 0;
  /** Data points refused, by the translator or here. */
  rejectedPoints = 0;
  /** Series refused by the series limit, samples too new, histograms refused for want of storage. */
  limitedSeries = 0;
  tooNew = 0;
  histogramsRefused = 0;
  exemplarsDropped = 0;
  /** The first refusal, for the sender. */
  firstProblem: string | null = null;
  private firstLimit: ContrailError | null = null;
  private currentRefused = false;
  private readonly meta: [string, MetricType, string, string][] = [];
  /** Data points the translator refused (never handed to `point`). */
  refusedByTranslator = 0;
  /** Translator refusals that were not data points (target_info, metadata-less metrics): reported, not counted. */
  notes = 0;

  /** A sink opening its appender with `open`; samples later than `maxT` (ms) are refused. */
  constructor(open: () => Appender, maxT: number) {
    this.open = open;
    this.maxT = maxT;
  }

  point(): void {
    this.points++;
    this.currentRefused = false;
  }

  private refuseCurrent(reason: string): void {
    this.firstProblem ??= reason;
    if (this.currentRefused) return;
    this.currentRefused = true;
    this.rejectedPoints++;
  }

  private admitted(labels: Labels, t: number): Appender | null {
    if (t > this.maxT || !Number.isSafeInteger(t)) {
      this.tooNew++;
      this.refuseCurrent(`series ${labels.toString()}: sample at ${t} ms is too far in the future`);
      return null;
    }
    this.app ??= this.open();
    return this.app;
  }

  // Runs an append, turning a series-limit refusal into a refused point (the store counts it).
  private guarded(labels: Labels, append: () => void): void {
    try {
      append();
      this.pending++;
    } catch (err) {
      if (!isContrailError(err, "series_limit")) throw err;
      this.limitedSeries++;
      this.firstLimit ??= err;
      this.refuseCurrent(`series ${labels.toString()}: ${err.message}`);
    }
  }

  float(labels: Labels, t: number, v: number): void {
    const app = this.admitted(labels, t);
    if (app !== null) this.guarded(labels, () => app.append(labels, t, v));
  }

  histogram(labels: Labels, t: number, h: Histogram): void {
    const app = this.admitted(labels, t);
    if (app === null) return;
    if (app.appendHistogram === undefined) {
      this.histogramsRefused++;
      this.refuseCurrent(
        `series ${labels.toString()}: this org's store keeps no native histograms yet, so exponential histograms ` +
          "cannot be stored; export explicit-bucket histograms instead",
      );
      return;
    }
    const appendHistogram = app.appendHistogram.bind(app);
    this.guarded(labels, () => appendHistogram(labels, t, h));
  }

  refuse(points: number, reason: string): void {
    this.rejectedPoints += points;
    this.refusedByTranslator += points;
    if (points === 0) this.notes++;
    this.firstProblem ??= reason;
  }

  metadata(name: string, type: MetricType, help: string, unit: string): void {
    this.meta.push([name, type, help, unit]);
  }

  exemplars(n: number): void {
    this.exemplarsDropped += n;
  }

  /** Drops what was appended, if anything. */
  rollback(): void {
    this.app?.rollback();
  }

  /** Commits what was appended; a report of nothing when nothing was. */
  commit(): CommitReport {
    return this.app === null ? NOTHING_COMMITTED : this.app.commit();
  }

  /** Stores the metadata received in `org`, keeping at most `maxFamilies` families there. */
  applyMetadata(store: MetadataStore, org: string, maxFamilies: number): void {
    for (const [name, type, help, unit] of this.meta) store.set(org, name, type, help, unit, maxFamilies);
  }

  /** The first series-limit refusal, if any. */
  get seriesLimitError(): ContrailError | null {
    return this.firstLimit;
  }
}
