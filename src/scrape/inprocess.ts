// Collection of the platform's registries (edge proxy, instance agent), read in process or as scraped from their
// processes' `/metrics` (platform.ts): every interval the samples are read with `forEachSample` and appended to the
// org that owns each sample's `app`, found with an injected lookup; native histograms (`forEachHistogram`) likewise,
// through `appendHistogram`, or refused and reported when the org's store keeps none. The labels already carry the platform labels,
// so nothing is relabelled. Series refs are cached per Labels object (a WeakMap: the registries, and the scraped
// samples while a series stays, hand out the same object for the same series), with a hash index behind it for
// collectors that build fresh objects each time. Samples of apps no org owns are dropped
// and counted; series that stop appearing (a removed child) get stale markers, like scraped ones.

import type { MetricFamily, MetricMetadata } from "../exposition/index.ts";
import { ContrailError, isContrailError } from "../model/errors.ts";
import type { Histogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";
import { STALE_NAN } from "../model/sample.ts";
import type { Appender, CommitReport, SeriesRef, TenantStore } from "../storage/interface.ts";
import { NO_REF } from "./cache.ts";

/** What the collector reads: the in-process Registry satisfies it. */
export interface SampleSource {
  /** Visits every current sample; labels include `__name__` and are stable objects where the source can. */
  forEachSample(fn: (labels: Labels, value: number) => void): void;
  /** Visits every current native histogram sample, likewise; absent on sources that have none. */
  forEachHistogram?(fn: (labels: Labels, h: Histogram) => void): void;
  /** Every family with its samples (read for metadata only). */
  collect(): readonly MetricFamily[];
}

/** An in-process registry to collect, by a name shown in status pages ("edge", "agent"). */
export interface InProcessSource {
  readonly name: string;
  readonly registry: SampleSource;
}

/** The org that owns app `app`, or null when no org does (the sample is dropped). */
export type OrgOfApp = (app: string) => string | null;

/** What one collection did. */
export interface CollectOutcome {
  /** Collection time, ms. */
  readonly t: number;
  /** Samples read from the registry. */
  readonly samples: number;
  /** Samples appended, over all orgs. */
  readonly appended: number;
  /** Samples dropped because no org owns their app (or they carry no `app` label). */
  readonly droppedUnknownApp: number;
  /** Samples not written because their org's storage failed, or its series limit refused their new series. */
  readonly failed: number;
  /** Stale markers written for series that disappeared. */
  readonly staleMarkers: number;
  /** Orgs written to. */
  readonly orgs: readonly string[];
  /**
   * Errors by org: storage unavailable, commit failure (nothing of the org written), or a new series refused by the
   * org's series limit (`series_limit`: its other samples were written).
   */
  readonly errors: ReadonlyMap<string, ContrailError>;
}

/** Status of an in-process source after its last collection. */
export interface InProcessStatus {
  readonly name: string;
  readonly lastCollect: number | null;
  readonly lastDuration: number;
  readonly lastSamples: number;
  /** Total samples dropped for unknown apps since start. */
  readonly droppedUnknownApp: number;
  readonly lastError: string;
}

interface Entry {
  readonly labels: Labels;
  readonly hash: string;
  readonly app: string;
  org: string | null;
  ref: SeriesRef;
  seen: number;
  /** Appended in the last collection (a stale marker is due when it disappears). */
  live: boolean;
}

/** Collects one in-process registry into the orgs' databases. Single-threaded. */
export class RegistryCollector {
  /** Name of the source. */
  readonly name: string;
  private readonly source: SampleSource;
  private readonly store: TenantStore;
  private readonly orgOfApp: OrgOfApp;
  private readonly byObject = new WeakMap<Labels, Entry>();
  private readonly byHash = new Map<string, Entry[]>();
  /** Per org, the `refScope` its entries' refs came from. */
  private readonly refScopes = new Map<string, object | undefined>();
  private iteration = 0;
  private droppedTotal = 0;
  private last: CollectOutcome | null = null;
  private lastDuration = 0;

  /** A collector of `source` into `store`, routing each sample by `orgOfApp(labels.get("app"))`. */
  constructor(opts: { readonly source: InProcessSource; readonly store: TenantStore; readonly orgOfApp: OrgOfApp }) {
    this.name = opts.source.name;
    this.source = opts.source.registry;
    this.store = opts.store;
    this.orgOfApp = opts.orgOfApp;
  }

  /** Number of series the collector tracks. */
  get trackedSeries(): number {
    let n = 0;
    for (const list of this.byHash.values()) n += list.length;
    return n;
  }

  /** The status after the last collection. */
  status(): InProcessStatus {
    const l = this.last;
    return {
      name: this.name,
      lastCollect: l?.t ?? null,
      lastDuration: this.lastDuration,
      lastSamples: l?.samples ?? 0,
      droppedUnknownApp: this.droppedTotal,
      lastError: l === null ? "" : [...l.errors.values()].map((e) => e.message).join("; "),
    };
  }

  /**
   * Takes the `refScope` of an appender of `org`: when it is not the scope the org's kept refs came from (its
   * database was opened again, or the store keeps no refs), those refs are forgotten and found by labels again.
   */
  private adoptScope(org: string, scope: object | undefined): void {
    if (scope !== undefined && this.refScopes.get(org) === scope) return;
    this.refScopes.set(org, scope);
    for (const list of this.byHash.values()) for (const e of list) if (e.org === org) e.ref = NO_REF;
  }

  /** Reads the registry once and appends its samples at `t` (ms, default now), one batch per org. Never throws. */
  collectOnce(t: number = Date.now()): CollectOutcome {
    const started = performance.now();
    const iter = ++this.iteration;
    const orgs = new Map<string, string | null>();
    const appenders = new Map<string, Appender>();
    const errors = new Map<string, ContrailError>();
    /** Per org, the first new series refused by its series limit: reported, but its batch is still committed. */
    const limited = new Map<string, ContrailError>();
    let samples = 0;
    let appended = 0;
    let dropped = 0;
    let failed = 0;
    let staleMarkers = 0;

    const orgFor = (app: string): string | null => {
      if (app === "") return null;
      let org = orgs.get(app);
      if (org === undefined) {
        org = this.orgOfApp(app);
        orgs.set(app, org);
      }
      return org;
    };
    const appenderFor = (org: string): Appender | null => {
      if (errors.has(org)) return null;
      let app = appenders.get(org);
      if (app === undefined) {
        try {
          app = this.store.appender(org);
        } catch (err) {
          errors.set(org, asError(err));
          return null;
        }
        appenders.set(org, app);
        this.adoptScope(org, app.refScope);
      }
      return app;
    };
    const stale = (e: Entry) => {
      if (e.org === null || e.ref === NO_REF) return;
      const app = appenderFor(e.org);
      if (app === null) return;
      try {
        app.appendRef(e.ref, t, STALE_NAN);
        staleMarkers++;
      } catch (err) {
        if (!isContrailError(err, "not_found")) errors.set(e.org, asError(err));
      }
    };

    // One sample of either kind: routed to its app's org and written there by `write`, which returns false when
    // the store refused the kind of sample (native histograms in a store that keeps none).
    const visit = (labels: Labels, write: (app: Appender, e: Entry) => boolean): void => {
      samples++;
      const e = this.entryFor(labels);
      e.seen = iter;
      const org = orgFor(e.app);
      if (org !== e.org) {
        // First sight, or the app changed hands: the old org's series ends here.
        if (e.live) stale(e);
        e.live = false;
        e.org = org;
        e.ref = NO_REF;
      }
      if (org === null) {
        dropped++;
        return;
      }
      const app = appenderFor(org);
      if (app === null) {
        failed++;
        return;
      }
      try {
        if (!write(app, e)) {
          failed++;
          if (!limited.has(org)) limited.set(org, noHistograms(labels));
          return;
        }
        e.live = true;
        appended++;
      } catch (err) {
        failed++;
        // A new series over the org's series limit is left out; the org's other series are still written.
        if (isContrailError(err, "series_limit")) limited.set(org, limited.get(org) ?? err);
        else errors.set(org, asError(err));
      }
    };
    this.source.forEachSample((labels, value) => visit(labels, (app, e) => appendFloat(app, e, t, value)));
    this.source.forEachHistogram?.((labels, h) => visit(labels, (app, e) => appendNative(app, e, t, h)));

    // Series that did not appear this time: a stale marker for those appended last time, then forget them.
    for (const [hash, list] of this.byHash) {
      for (let i = list.length - 1; i >= 0; i--) {
        const e = list[i];
        if (e.seen === iter) continue;
        if (e.live) stale(e);
        this.byObject.delete(e.labels);
        list.splice(i, 1);
      }
      if (list.length === 0) this.byHash.delete(hash);
    }

    const written: string[] = [];
    for (const [org, app] of appenders) {
      if (errors.has(org)) {
        app.rollback();
        continue;
      }
      try {
        const report: CommitReport = app.commit();
        if (report.appended > 0 || report.outOfOrder + report.duplicate + report.outOfBounds > 0) written.push(org);
      } catch (err) {
        errors.set(org, asError(err));
      }
    }
    for (const [org, err] of limited) if (!errors.has(org)) errors.set(org, err);
    this.droppedTotal += dropped;
    const outcome: CollectOutcome = {
      t,
      samples,
      appended,
      droppedUnknownApp: dropped,
      failed,
      staleMarkers,
      orgs: written.sort(),
      errors,
    };
    this.last = outcome;
    this.lastDuration = (performance.now() - started) / 1000;
    return outcome;
  }

  /**
   * Metadata of the registry's families that have samples of apps owned by `org`, by family name. Reads the
   * registry's families (computed collectors included), so call it for API requests, not per sample.
   */
  metadataFor(org: string): Map<string, MetricMetadata> {
    const out = new Map<string, MetricMetadata>();
    const memo = new Map<string, string | null>();
    for (const f of this.source.collect()) {
      const owned = f.samples.some((s) => {
        const app = s.labels.get("app");
        if (app === "") return false;
        let o = memo.get(app);
        if (o === undefined) {
          o = this.orgOfApp(app);
          memo.set(app, o);
        }
        return o === org;
      });
      if (owned) out.set(f.name, { type: f.type, help: f.help ?? "", unit: f.unit ?? "" });
    }
    return out;
  }

  // The entry of a sample's label set: by object identity first, then by hash and equality.
  private entryFor(labels: Labels): Entry {
    const known = this.byObject.get(labels);
    if (known !== undefined) return known;
    const hash = labels.hash();
    let list = this.byHash.get(hash);
    if (list !== undefined) {
      for (const e of list) {
        if (e.labels.equals(labels)) {
          this.byObject.set(labels, e);
          return e;
        }
      }
    } else {
      list = [];
      this.byHash.set(hash, list);
    }
    const e: Entry = { labels, hash, app: labels.get("app"), org: null, ref: NO_REF, seen: 0, live: false };
    list.push(e);
    this.byObject.set(labels, e);
    return e;
  }
}

// Appends a float sample for `e`, by ref when it has one and the store still knows it.
function appendFloat(app: Appender, e: Entry, t: number, v: number): boolean {
  if (e.ref !== NO_REF) {
    try {
      app.appendRef(e.ref, t, v);
      return true;
    } catch (err) {
      if (!isContrailError(err, "not_found")) throw err;
    }
  }
  e.ref = app.append(e.labels, t, v);
  return true;
}

// Appends a native histogram for `e` like `appendFloat`; false when the store keeps no histograms.
function appendNative(app: Appender, e: Entry, t: number, h: Histogram): boolean {
  if (app.appendHistogram === undefined) return false;
  if (e.ref !== NO_REF && app.appendHistogramRef !== undefined) {
    try {
      app.appendHistogramRef(e.ref, t, h);
      return true;
    } catch (err) {
      if (!isContrailError(err, "not_found")) throw err;
    }
  }
  e.ref = app.appendHistogram(e.labels, t, h);
  return true;
}

// The refusal of native histogram samples by a store that keeps none, naming the first such series.
function noHistograms(labels: Labels): ContrailError {
  return new ContrailError(
    "bad_data",
    `native histogram samples cannot be stored (series ${labels.toString()}): this storage keeps float samples only`,
  );
}

function asError(err: unknown): ContrailError {
  if (isContrailError(err)) return err;
  return new ContrailError("internal", err instanceof Error ? err.message : String(err), { cause: err });
}
