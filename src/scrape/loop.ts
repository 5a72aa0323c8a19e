// One target's scrape loop: every interval, at the target's own offset, fetch the body, append it to the org's
// database in one batch with the report series, and keep the target's status. A failed fetch, a malformed body or
// a violated limit (the manager's, or a lower one the target's app set) rolls the body's samples back; the scrape
// then counts as empty (every series of the last successful scrape gets a stale marker) and `up` is 0, and the
// status's error names the limit. When the target goes away, the manager asks the stopped loop
// for end-of-run stale markers a little over two intervals later, as Prometheus does, so a target that comes back
// at once is not marked stale: its new samples are newer than the markers, which the store then rejects.

import { type ExpositionParser, type MetricMetadata, parserForContentType } from "../exposition/index.ts";
import { ContrailError, isContrailError } from "../model/errors.ts";
import { Labels, METRIC_NAME } from "../model/labels.ts";
import type { Appender, CommitReport, SeriesRef, TenantStore } from "../storage/interface.ts";
import { appendBody, appendStale, appendWithinLimit, type BodyResult, TargetLabelsBuilder } from "./append.ts";
import { NO_REF, ScrapeCache } from "./cache.ts";
import { fetchScrape, type ScrapeResponse } from "./http.ts";
import { acceptHeader, type ScrapeOptions } from "./options.ts";
import { nextScrapeTime, type ScrapeTarget, scrapeOffset, targetHash, targetLabelPairs } from "./target.ts";

/** Health of a target as the targets API reports it: "unknown" until the first scrape ends. */
export type TargetHealth = "up" | "down" | "unknown";

/** The state of a target after its last scrape. */
export interface TargetStatus {
  readonly health: TargetHealth;
  /** Message of the last scrape's error; "" when it succeeded. */
  readonly lastError: string;
  /** Scrape time of the last scrape, ms since the epoch; null before the first. */
  readonly lastScrape: number | null;
  /** Duration of the last scrape, seconds. */
  readonly lastScrapeDuration: number;
  /** Samples the store rejected at the last commit (out of order, duplicate, out of bounds); not a failure. */
  readonly lastRejected: number;
}

/** What one scrape did. */
export interface ScrapeOutcome extends Omit<BodyResult, "error"> {
  /** Scrape time, ms. */
  readonly t: number;
  readonly up: boolean;
  readonly error: ContrailError | null;
  readonly durationSeconds: number;
  /** The commit's report; null when nothing could be written (store unavailable). */
  readonly commit: CommitReport | null;
}

/** Options of a scrape loop. */
export interface ScrapeLoopOptions {
  readonly target: ScrapeTarget;
  readonly store: TenantStore;
  readonly options: ScrapeOptions;
  /** Called after every scrape (status pages, tests). */
  readonly onScrape?: (outcome: ScrapeOutcome) => void;
}

/**
 * The synthetic series appended with every scrape, in the order Prometheus appends them; the last three are those
 * of its `extra-scrape-metrics` feature, always on here: the timeout (seconds) and sample limit (0: none) in force,
 * and the decompressed body size in bytes, -1 when the body limit failed the scrape, 0 on another failure.
 */
export const REPORT_SERIES = [
  "up",
  "scrape_duration_seconds",
  "scrape_samples_scraped",
  "scrape_samples_post_metric_relabeling",
  "scrape_series_added",
  "scrape_timeout_seconds",
  "scrape_sample_limit",
  "scrape_body_size_bytes",
] as const;

/** `scrape_body_size_bytes` of a scrape the body limit failed, as Prometheus reports it. */
const BODY_LIMIT_EXCEEDED = -1;

/** Where an app-set limit comes from, for error messages. */
const OWN_SAMPLE_LIMIT = "sample_limit of the app's [metrics]";
const OWN_BODY_LIMIT = "body_size_limit of the app's [metrics]";

/** One limit in force for a target: its value and whether the app's own setting is the binding one. */
interface TargetLimit {
  readonly value: number;
  readonly own: boolean;
}

/** The lower of the platform's limit (0: none) and the app's own (undefined: none). */
function lowerLimit(platform: number, own: number | undefined): TargetLimit {
  if (own === undefined || (platform > 0 && platform <= own)) return { value: platform, own: false };
  return { value: own, own: true };
}

interface ReportEntry {
  readonly labels: Labels;
  ref: SeriesRef;
}

/** Scheduled scrapes may be stamped with their scheduled time when they start at most this late, so a target's
 * samples sit exactly one interval apart (better chunk compression), as Prometheus aligns them. */
export const ALIGN_TOLERANCE_MS = 25;

/** Scrapes one target. Not reusable after `stop()`, except for `writeStaleMarkers`. */
export class ScrapeLoop {
  /** The target scraped. */
  readonly target: ScrapeTarget;
  /** Stable hash of the target (offset, sharding). */
  readonly hash: number;
  /** Where in each interval this target is scraped, ms. */
  readonly offsetMs: number;
  private readonly store: TenantStore;
  private readonly opts: ScrapeOptions;
  private readonly onScrape: ((o: ScrapeOutcome) => void) | undefined;
  private readonly cache = new ScrapeCache();
  private readonly builder: TargetLabelsBuilder;
  private readonly report: ReportEntry[];
  private readonly sampleLimit: TargetLimit;
  private readonly bodyLimit: TargetLimit;
  private readonly abort = new AbortController();
  private state: TargetStatus = {
    health: "unknown",
    lastError: "",
    lastScrape: null,
    lastScrapeDuration: 0,
    lastRejected: 0,
  };
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ScrapeOutcome> | null = null;
  private lastScheduled = Number.NEGATIVE_INFINITY;
  private stopped = false;

  /** A loop for `target`; call `start()` to scrape on schedule, or `scrapeOnce()` to drive it by hand. */
  constructor(opts: ScrapeLoopOptions) {
    this.target = opts.target;
    this.store = opts.store;
    this.opts = opts.options;
    this.onScrape = opts.onScrape;
    this.hash = targetHash(opts.target);
    this.offsetMs = scrapeOffset(this.hash, this.opts.intervalMs);
    this.sampleLimit = lowerLimit(this.opts.sampleLimit, opts.target.limits?.sampleLimit);
    this.bodyLimit = lowerLimit(this.opts.bodyLimitBytes, opts.target.limits?.bodyLimitBytes);
    const platform = targetLabelPairs(opts.target);
    this.builder = new TargetLabelsBuilder(platform);
    this.report = REPORT_SERIES.map((name) => ({
      labels: Labels.fromPairs([[METRIC_NAME, name], ...platform]),
      ref: NO_REF,
    }));
  }

  /** The status after the last scrape. */
  status(): TargetStatus {
    return this.state;
  }

  /** Number of series in the target's cache. */
  get cachedSeries(): number {
    return this.cache.size;
  }

  /** Calls `fn` with the metadata (type, help, unit) of each metric family the target exposes. */
  forEachMetadata(fn: (family: string, md: MetricMetadata) => void): void {
    this.cache.forEachMetadata(fn);
  }

  /** The next scheduled scrape time strictly after `afterMs`. */
  nextScrapeAfter(afterMs: number): number {
    return nextScrapeTime(afterMs, this.opts.intervalMs, this.offsetMs);
  }

  /** Starts scraping on schedule: at the target's offset in every interval. */
  start(): void {
    if (this.stopped || this.timer !== null) return;
    this.schedule();
  }

  /** Stops the schedule, aborts a scrape in flight and waits for it to settle. Appends nothing afterwards except
   * through `writeStaleMarkers`. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    if (this.running !== null) await this.running.catch(() => undefined);
  }

  /**
   * Scrapes now, stamping samples without a timestamp with `t` (ms, default now), and appends the result. Never
   * throws: failures are in the outcome and the status.
   */
  async scrapeOnce(t: number = Date.now()): Promise<ScrapeOutcome> {
    const started = performance.now();
    let fetched: ScrapeResponse | null = null;
    let error: ContrailError | null = null;
    try {
      fetched = await fetchScrape({
        url: this.target.url,
        timeoutMs: this.opts.timeoutMs,
        maxBytes: this.bodyLimit.value,
        signal: this.abort.signal,
        accept: acceptHeader(this.opts),
      });
    } catch (err) {
      error = asContrailError(err);
      if (error.code === "too_large" && this.bodyLimit.own) {
        error = new ContrailError("too_large", `${error.message} (${OWN_BODY_LIMIT})`, { cause: error });
      }
    }
    if (this.stopped) {
      // The target went away while the scrape was in flight: nothing of it is written or recorded.
      const stopped = error ?? new ContrailError("unavailable", "scrape loop stopped");
      return this.outcome(t, started, stopped, null, null, false);
    }
    return this.appendScrape(t, started, fetched, error);
  }

  /**
   * Appends stale markers at `t` (ms) for every series of the last successful scrape and for the report series:
   * the end of a target that went away. Returns the commit report, or null when there was nothing to mark.
   */
  writeStaleMarkers(t: number): CommitReport | null {
    if (this.state.lastScrape === null) return null;
    const app = this.appender();
    try {
      this.cache.forEachLive((e) => appendStale(app, e, t));
      for (const r of this.report) appendStale(app, r, t);
    } catch (err) {
      app.rollback();
      throw err;
    }
    return app.commit();
  }

  /** An appender of the target's org, with every kept ref forgotten if they came from another open database. */
  private appender(): Appender {
    const app = this.store.appender(this.target.org);
    if (this.cache.adopt(app.refScope)) for (const r of this.report) r.ref = NO_REF;
    return app;
  }

  private schedule(): void {
    const now = Date.now();
    const next = this.nextScrapeAfter(Math.max(now, this.lastScheduled));
    this.timer = setTimeout(() => this.tick(next), next - now);
  }

  private async tick(scheduled: number): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    this.lastScheduled = scheduled;
    const now = Date.now();
    const t = now - scheduled <= ALIGN_TOLERANCE_MS ? scheduled : now;
    this.running = this.scrapeOnce(t);
    await this.running;
    this.running = null;
    if (!this.stopped) this.schedule();
  }

  private appendScrape(
    t: number,
    started: number,
    fetched: ScrapeResponse | null,
    fetchError: ContrailError | null,
  ): ScrapeOutcome {
    let app: Appender;
    try {
      app = this.appender();
    } catch (err) {
      // Nothing can be written, not even `up`; the cache stays as it was, so staleness resumes with the next scrape.
      return this.outcome(t, started, asContrailError(err), null, null);
    }
    this.cache.begin();
    let body: BodyResult | null = null;
    let error = fetchError;
    let metadata: ReadonlyMap<string, MetricMetadata> | null = null;
    let parser: ExpositionParser | null = null;
    if (fetched !== null) {
      try {
        parser = parserForContentType(fetched.contentType, {
          classicHistograms: this.opts.classicHistograms,
        }).newParser(fetched.body);
      } catch (err) {
        error = asContrailError(err);
      }
    }
    if (parser !== null) {
      body = appendBody({
        parser,
        app,
        cache: this.cache,
        builder: this.builder,
        t,
        sampleLimit: this.sampleLimit.value,
        sampleLimitOrigin: this.sampleLimit.own ? OWN_SAMPLE_LIMIT : "",
        labelLimits: this.opts.labelLimits,
      });
      error = body.error;
      if (error === null) metadata = parser.metadata();
    }
    let commit: CommitReport | null = null;
    let limitError = body?.limitError ?? null;
    try {
      if (error !== null) {
        app.rollback();
        app = this.appender();
        this.cache.finishFailure((e) => appendStale(app, e, t));
      } else {
        this.cache.finishSuccess((e) => appendStale(app, e, t));
        if (metadata !== null) this.cache.updateMetadata(metadata);
      }
      const seconds = (performance.now() - started) / 1000;
      // As Prometheus: the counts describe the body even when it failed (e.g. how far past the sample limit it was).
      const bodyBytes =
        fetched !== null ? fetched.body.length : fetchError?.code === "too_large" ? BODY_LIMIT_EXCEEDED : 0;
      const values = [
        error === null ? 1 : 0,
        seconds,
        body?.total ?? 0,
        body?.added ?? 0,
        body?.seriesAdded ?? 0,
        this.opts.timeoutMs / 1000,
        this.sampleLimit.value,
        bodyBytes,
      ];
      for (let i = 0; i < this.report.length; i++) {
        const refused = appendWithinLimit(app, this.report[i], t, values[i]);
        limitError ??= refused;
      }
      commit = app.commit();
    } catch (err) {
      // A batch that cannot be made durable (e.g. a WAL write failed) is not visible; report the target down.
      try {
        app.rollback();
      } catch {
        // Already spent by the failed commit.
      }
      error = asContrailError(err);
    }
    return this.outcome(t, started, error, body, commit, true, limitError);
  }

  private outcome(
    t: number,
    started: number,
    error: ContrailError | null,
    body: BodyResult | null,
    commit: CommitReport | null,
    record = true,
    limitError: ContrailError | null = null,
  ): ScrapeOutcome {
    const durationSeconds = (performance.now() - started) / 1000;
    const rejected = commit === null ? 0 : commit.outOfOrder + commit.duplicate + commit.outOfBounds;
    if (record)
      this.state = {
        // New series refused by the org's series limit, and native histograms a store without them refused, leave
        // the target up (its other series were written); the refusal is its last error, so the targets page names it.
        health: error === null ? "up" : "down",
        lastError: (error ?? limitError)?.message ?? "",
        lastScrape: t,
        lastScrapeDuration: durationSeconds,
        lastRejected: rejected,
      };
    const o: ScrapeOutcome = {
      t,
      up: error === null,
      error,
      durationSeconds,
      commit,
      total: body?.total ?? 0,
      added: body?.added ?? 0,
      seriesAdded: body?.seriesAdded ?? 0,
      labelsBuilt: body?.labelsBuilt ?? 0,
      skipped: body?.skipped ?? 0,
      seriesLimited: body?.seriesLimited ?? 0,
      histogramsRefused: body?.histogramsRefused ?? 0,
      limitError,
    };
    this.onScrape?.(o);
    return o;
  }
}

function asContrailError(err: unknown): ContrailError {
  if (isContrailError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ContrailError("internal", message, { cause: err });
}
