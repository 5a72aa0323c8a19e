// The embedded TenantStore: one TSDB per organization under `<data>/tenants/<org-id>/`, each with its own WAL,
// head and blocks, so one org's damage or load never reaches another's data. Databases open on first use and close
// again after an idle time. Org ids are checked against a strict pattern before they become a path, so no org id can
// name a directory outside `tenants/`. A database that fails to open fails that org's calls only, with an error
// naming the org; the open is retried after a pause.

import { join } from "node:path";
import { ContrailError, isContrailError } from "../model/errors.ts";
import type { Histogram } from "../model/histogram.ts";
import type { Labels } from "../model/labels.ts";
import { limitName } from "../model/limits.ts";
import { Db, type DbOptions, type DbStats, type SeriesLimit } from "../tsdb/db.ts";
import type { Appender, CommitReport, Querier, Queryable, SeriesRef, TenantStore } from "./interface.ts";

/** What an org id must look like: lower-case letters, digits and dashes, 1 to 63 characters, no leading dash. */
export const ORG_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Returns `org` when it is a valid org id; throws `bad_data` otherwise (never a path outside the tenants dir). */
export function validateOrgId(org: string): string {
  if (typeof org !== "string" || !ORG_ID_PATTERN.test(org)) {
    throw new ContrailError(
      "bad_data",
      `invalid org id ${JSON.stringify(org)}: expected 1-63 characters of a-z, 0-9 and '-', not starting with '-'`,
    );
  }
  return org;
}

/** The directory of `org`'s database under the data directory `dataDir`. */
export function tenantDir(dataDir: string, org: string): string {
  return join(dataDir, "tenants", validateOrgId(org));
}

/** Options of `EmbeddedTenantStore`. Times in ms. */
export interface EmbeddedTenantStoreOptions {
  /** The data directory; databases live in `<dataDir>/tenants/<org-id>/`. */
  readonly dataDir: string;
  /** Close a database unused (no open querier or appender) for this long; default 15 min, 0 never. */
  readonly idleCloseMs?: number;
  /** After a failed open, calls for that org fail fast for this long before the next attempt; default 30 s. */
  readonly retryOpenAfterMs?: number;
  /** Options for every tenant database (retention, compaction, WAL). */
  readonly db?: Omit<DbOptions, "dir">;
  /** The clock, for tests. */
  readonly now?: () => number;
  /**
   * The most series `org`'s head may hold (its `max_active_series`), read at each `appender(org)`: appends that would
   * create more are refused with `series_limit`. No bound when absent.
   */
  readonly maxActiveSeries?: (org: string) => number;
}

type Tenant = { kind: "open"; db: Db; lastUsed: number; inUse: number } | { kind: "failed"; error: Error; at: number };

/** A TenantStore over one embedded database per org. Single-threaded. */
export class EmbeddedTenantStore implements TenantStore {
  private readonly opts: EmbeddedTenantStoreOptions;
  private readonly tenants = new Map<string, Tenant>();
  /** New series refused by the series limit, by org, since the store was made. */
  private readonly limited = new Map<string, number>();
  private readonly idleCloseMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;

  /** A store over `opts.dataDir`; nothing is opened until an org is used. */
  constructor(opts: EmbeddedTenantStoreOptions) {
    this.opts = opts;
    this.idleCloseMs = opts.idleCloseMs ?? 15 * 60_000;
    this.retryMs = opts.retryOpenAfterMs ?? 30_000;
    this.now = opts.now ?? Date.now;
    if (this.idleCloseMs > 0) {
      this.sweeper = setInterval(() => this.closeIdle(), Math.min(60_000, Math.max(1000, this.idleCloseMs / 2)));
      this.sweeper.unref();
    }
  }

  /**
   * An appender into `org`'s database; the database stays open at least until it is committed or rolled back. Its
   * `append` throws `series_limit` for a new series over the org's `maxActiveSeries` (counted, see `seriesLimited`).
   */
  appender(org: string): Appender {
    const t = this.use(org);
    try {
      const max = this.opts.maxActiveSeries?.(org);
      const limit: SeriesLimit | undefined =
        max === undefined ? undefined : { max, name: limitName("maxActiveSeries") };
      return new TenantAppender(
        t.db.appender(limit),
        () => this.done(t),
        () => this.limited.set(org, (this.limited.get(org) ?? 0) + 1),
      );
    } catch (err) {
      this.done(t);
      throw err;
    }
  }

  /** A querier over `org`'s database for [mint, maxt] ms; the database stays open until the querier is closed. */
  querier(org: string, mint: number, maxt: number): Querier {
    const t = this.use(org);
    let q: Querier;
    try {
      q = t.db.querier(mint, maxt);
    } catch (err) {
      this.done(t);
      throw err;
    }
    let closed = false;
    return {
      select: (ms, hints) => q.select(ms, hints),
      labelNames: (ms, hints) => q.labelNames(ms, hints),
      labelValues: (name, ms, hints) => q.labelValues(name, ms, hints),
      close: () => {
        if (closed) return;
        closed = true;
        try {
          q.close();
        } finally {
          this.done(t);
        }
      },
    };
  }

  /** A Queryable bound to `org` (validated now), for the PromQL engine. */
  queryable(org: string): Queryable {
    validateOrgId(org);
    return { querier: (mint, maxt) => this.querier(org, mint, maxt) };
  }

  /** The status counts of `org`'s database (opening it if needed). */
  stats(org: string, opts: { limit?: number } = {}): DbStats {
    const t = this.use(org);
    try {
      return t.db.stats(opts);
    } finally {
      this.done(t);
    }
  }

  /**
   * Runs `fn` on `org`'s open database (compaction, tools, tests); the database stays open meanwhile, and when `fn`
   * returns a promise, until it settles.
   */
  withDb<T>(org: string, fn: (db: Db) => T): T {
    const t = this.use(org);
    let result: T;
    try {
      result = fn(t.db);
    } catch (err) {
      this.done(t);
      throw err;
    }
    if (result instanceof Promise) return result.finally(() => this.done(t)) as T;
    this.done(t);
    return result;
  }

  /** New series refused by the series limit since the store was made, by org (orgs without any are absent). */
  seriesLimited(): ReadonlyMap<string, number> {
    return this.limited;
  }

  /** Orgs whose database is open now, sorted. */
  openOrgs(): string[] {
    return [...this.tenants]
      .filter(([, t]) => t.kind === "open")
      .map(([org]) => org)
      .sort();
  }

  /** Closes the databases idle for at least the idle time; returns their orgs. Called periodically. */
  closeIdle(): string[] {
    if (this.idleCloseMs <= 0) return [];
    const now = this.now();
    const out: string[] = [];
    for (const [org, t] of this.tenants) {
      if (t.kind !== "open" || t.inUse > 0 || now - t.lastUsed < this.idleCloseMs) continue;
      // Closing during maintenance would keep the org from reopening until the worker finishes; wait for it.
      if (t.db.maintenanceRunning) continue;
      this.tenants.delete(org);
      t.db.close();
      out.push(org);
    }
    return out;
  }

  /** Closes every database and stops the idle timer. The store cannot be used afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    const errors: unknown[] = [];
    for (const t of this.tenants.values()) {
      if (t.kind !== "open") continue;
      try {
        t.db.close();
      } catch (err) {
        errors.push(err);
      }
    }
    this.tenants.clear();
    if (errors.length > 0) throw errors[0];
  }

  // The open database of `org` with one more user; opens it on first use.
  private use(org: string): { kind: "open"; db: Db; lastUsed: number; inUse: number } {
    if (this.closed) throw new ContrailError("unavailable", "the tenant store is closed");
    validateOrgId(org);
    const now = this.now();
    let t = this.tenants.get(org);
    if (t?.kind === "failed" && now - t.at < this.retryMs) throw this.openError(org, t.error);
    if (t === undefined || t.kind === "failed") {
      try {
        const db = Db.open({ ...this.opts.db, dir: tenantDir(this.opts.dataDir, org) });
        t = { kind: "open", db, lastUsed: now, inUse: 0 };
        this.tenants.set(org, t);
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        this.tenants.set(org, { kind: "failed", error, at: now });
        throw this.openError(org, error);
      }
    }
    t.inUse++;
    t.lastUsed = now;
    return t;
  }

  private done(t: { lastUsed: number; inUse: number }): void {
    if (t.inUse > 0) t.inUse--;
    t.lastUsed = this.now();
  }

  private openError(org: string, err: Error): ContrailError {
    const code = isContrailError(err, "corruption") ? "corruption" : "unavailable";
    return new ContrailError(
      code,
      `storage of org ${org} is unavailable: its database failed to open: ${err.message}`,
      {
        cause: err,
      },
    );
  }
}

function noHistograms(): ContrailError {
  return new ContrailError("internal", "the org database's appender keeps no native histograms");
}

/** An appender that tells the store when it is spent, and when the series limit refused a new series. */
class TenantAppender implements Appender {
  private readonly app: Appender;
  private readonly onDone: () => void;
  private readonly onLimited: () => void;
  private spent = false;
  /** The org database's ref space: a database closed and opened again is a new one. */
  readonly refScope: object | undefined;

  constructor(app: Appender, onDone: () => void, onLimited: () => void) {
    this.app = app;
    this.onDone = onDone;
    this.refScope = app.refScope;
    this.onLimited = onLimited;
  }

  append(labels: Labels, t: number, v: number): SeriesRef {
    try {
      return this.app.append(labels, t, v);
    } catch (err) {
      if (isContrailError(err, "series_limit")) this.onLimited();
      throw err;
    }
  }

  appendRef(ref: SeriesRef, t: number, v: number): SeriesRef {
    return this.app.appendRef(ref, t, v);
  }

  /** Adds a native histogram sample (ms); the org databases keep histograms. */
  appendHistogram(labels: Labels, t: number, h: Histogram): SeriesRef {
    if (this.app.appendHistogram === undefined) throw noHistograms();
    try {
      return this.app.appendHistogram(labels, t, h);
    } catch (err) {
      if (isContrailError(err, "series_limit")) this.onLimited();
      throw err;
    }
  }

  /** Adds a native histogram sample (ms) to the series `ref`. */
  appendHistogramRef(ref: SeriesRef, t: number, h: Histogram): SeriesRef {
    if (this.app.appendHistogramRef === undefined) throw noHistograms();
    return this.app.appendHistogramRef(ref, t, h);
  }

  commit(): CommitReport {
    try {
      return this.app.commit();
    } finally {
      this.finish();
    }
  }

  rollback(): void {
    try {
      this.app.rollback();
    } finally {
      this.finish();
    }
  }

  private finish(): void {
    if (this.spent) return;
    this.spent = true;
    this.onDone();
  }
}
