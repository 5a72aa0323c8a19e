// The scrape manager: keeps one scrape loop per target of its shard, refreshing the target list from the source
// periodically (and on demand), starting loops for new targets and retiring those that went away (with end-of-run
// stale markers), and collects the platform's in-process registries on the same interval. It answers the status
// questions of the API per org: active targets and metric metadata.

import type { MetricMetadata } from "../exposition/index.ts";
import { ContrailError } from "../model/errors.ts";
import { compareStrings } from "../model/labels.ts";
import type { TenantStore } from "../storage/interface.ts";
import { type InProcessSource, type InProcessStatus, type OrgOfApp, RegistryCollector } from "./inprocess.ts";
import { ALIGN_TOLERANCE_MS, ScrapeLoop, type ScrapeOutcome } from "./loop.ts";
import { resolveScrapeOptions, type ScrapeOptions, type ScrapeOptionsInput } from "./options.ts";
import { type ActiveTarget, activeTarget } from "./status.ts";
import {
  inShard,
  nextScrapeTime,
  type ScrapeTarget,
  type ShardSpec,
  sameTarget,
  scrapeOffset,
  type TargetSource,
  targetHash,
} from "./target.ts";

/** Options of the scrape manager. Times in milliseconds. */
export interface ScrapeManagerOptions {
  /** Where samples go: `store.appender(target.org)`. */
  readonly store: TenantStore;
  /** The targets (apps with `[metrics]`, their running instances). */
  readonly source: TargetSource;
  /** Interval, timeout, body, sample and label limits. */
  readonly scrape?: ScrapeOptionsInput;
  /** How often the target list is read from the source (default 10 s). */
  readonly refreshIntervalMs?: number;
  /** Scrape only this shard of the targets (`--shard i/n`). In-process registries are collected by shard 0 only. */
  readonly shard?: ShardSpec;
  /** The platform's in-process registries, collected without HTTP. */
  readonly inProcess?: readonly InProcessSource[];
  /** The org owning an app, for in-process samples; required with `inProcess`. */
  readonly orgOfApp?: OrgOfApp;
  /** Called when the source fails to list targets (the previous list stays in force). */
  readonly onSourceError?: (err: Error) => void;
  /** Called after every scrape of every target. */
  readonly onScrape?: (target: ScrapeTarget, outcome: ScrapeOutcome) => void;
}

/** What a refresh changed. */
export interface RefreshResult {
  readonly started: number;
  readonly stopped: number;
  readonly active: number;
}

interface Collection {
  readonly collector: RegistryCollector;
  readonly offsetMs: number;
  timer: NodeJS.Timeout | null;
  lastScheduled: number;
}

/** Runs the scrape loops of one scraper process. */
export class ScrapeManager {
  /** The settings every loop uses. */
  readonly options: ScrapeOptions;
  private readonly store: TenantStore;
  private readonly source: TargetSource;
  private readonly shard: ShardSpec | undefined;
  private readonly refreshIntervalMs: number;
  private readonly onSourceError: ((err: Error) => void) | undefined;
  private readonly onScrape: ((target: ScrapeTarget, outcome: ScrapeOutcome) => void) | undefined;
  private readonly loops = new Map<string, ScrapeLoop>();
  private readonly collections: Collection[] = [];
  private readonly pendingStale = new Set<NodeJS.Timeout>();
  private refreshChain: Promise<RefreshResult> = Promise.resolve({ started: 0, stopped: 0, active: 0 });
  private refreshTimer: NodeJS.Timeout | null = null;
  private running = false;
  private closed = false;
  private sourceError: Error | null = null;

  /** A manager; nothing runs until `start()`. Throws `bad_data` on bad options. */
  constructor(opts: ScrapeManagerOptions) {
    this.options = resolveScrapeOptions(opts.scrape);
    this.store = opts.store;
    this.source = opts.source;
    this.shard = opts.shard;
    this.refreshIntervalMs = opts.refreshIntervalMs ?? 10_000;
    if (!(this.refreshIntervalMs > 0)) throw new ContrailError("bad_data", "refreshIntervalMs must be > 0");
    this.onSourceError = opts.onSourceError;
    this.onScrape = opts.onScrape;
    const inProcess = opts.inProcess ?? [];
    if (inProcess.length > 0 && opts.orgOfApp === undefined) {
      throw new ContrailError("bad_data", "in-process sources need an orgOfApp lookup");
    }
    // Platform registries are one per process, not per target: only the first shard collects them.
    if (this.shard === undefined || this.shard.index === 0) {
      for (const src of inProcess) {
        const collector = new RegistryCollector({ source: src, store: this.store, orgOfApp: opts.orgOfApp! });
        const offsetMs = scrapeOffset(targetHash({ id: `inprocess:${src.name}`, url: "" }), this.options.intervalMs);
        this.collections.push({ collector, offsetMs, timer: null, lastScheduled: Number.NEGATIVE_INFINITY });
      }
    }
  }

  /** Reads the targets, starts their loops and the periodic refresh and collection. */
  async start(): Promise<RefreshResult> {
    if (this.closed) throw new ContrailError("unavailable", "the scrape manager is stopped");
    this.running = true;
    for (const loop of this.loops.values()) loop.start();
    for (const c of this.collections) this.scheduleCollection(c);
    const result = await this.refresh();
    this.scheduleRefresh();
    return result;
  }

  /** Reads the targets now and starts/retires loops to match; refreshes run one at a time. A source failure keeps
   * the current targets, is passed to `onSourceError`, and resolves with nothing changed. */
  refresh(): Promise<RefreshResult> {
    this.refreshChain = this.refreshChain.then(
      () => this.doRefresh(),
      () => this.doRefresh(),
    );
    return this.refreshChain;
  }

  /** Stops every loop and timer. Writes no end-of-run stale markers (the scraper may be restarting), as
   * Prometheus does on shutdown; pending markers of targets retired earlier are dropped too. */
  async stop(): Promise<void> {
    this.closed = true;
    this.running = false;
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    for (const c of this.collections) {
      if (c.timer !== null) clearTimeout(c.timer);
      c.timer = null;
    }
    for (const t of this.pendingStale) clearTimeout(t);
    this.pendingStale.clear();
    await this.refreshChain.catch(() => undefined);
    const loops = [...this.loops.values()];
    this.loops.clear();
    await Promise.all(loops.map((l) => l.stop()));
  }

  /** The last error of the target source, or null when the last refresh succeeded. */
  get lastSourceError(): Error | null {
    return this.sourceError;
  }

  /** The loops running now (read-only use: status pages, tests). */
  activeLoops(): ScrapeLoop[] {
    return [...this.loops.values()];
  }

  /** The `activeTargets` of `org` for `/api/v1/targets`, by app then URL. */
  targetsFor(org: string): ActiveTarget[] {
    const out: ActiveTarget[] = [];
    for (const loop of this.loops.values()) {
      if (loop.target.org === org) out.push(activeTarget(loop.target, loop.status(), this.options));
    }
    return out.sort((a, b) => compareStrings(a.scrapePool, b.scrapePool) || compareStrings(a.scrapeUrl, b.scrapeUrl));
  }

  /**
   * Metric metadata of `org` for `/api/v1/metadata`: for each metric family its distinct (type, help, unit), from
   * the org's targets and the in-process registries' families that carry the org's apps. Keys sorted.
   */
  metadataFor(org: string): Map<string, MetricMetadata[]> {
    const byName = new Map<string, Map<string, MetricMetadata>>();
    const add = (family: string, md: MetricMetadata) => {
      let variants = byName.get(family);
      if (variants === undefined) {
        variants = new Map();
        byName.set(family, variants);
      }
      const key = `${md.type}\xff${md.help}\xff${md.unit}`;
      if (!variants.has(key)) variants.set(key, md);
    };
    for (const loop of this.loops.values()) {
      if (loop.target.org === org) loop.forEachMetadata(add);
    }
    for (const c of this.collections) {
      for (const [family, md] of c.collector.metadataFor(org)) add(family, md);
    }
    const out = new Map<string, MetricMetadata[]>();
    for (const name of [...byName.keys()].sort(compareStrings)) out.set(name, [...byName.get(name)!.values()]);
    return out;
  }

  /** Status of each in-process registry. */
  inProcessStatus(): InProcessStatus[] {
    return this.collections.map((c) => c.collector.status());
  }

  /** Collects every in-process registry now at `t` (ms); for tests and tools. */
  collectInProcessNow(t: number = Date.now()): void {
    for (const c of this.collections) c.collector.collectOnce(t);
  }

  private async doRefresh(): Promise<RefreshResult> {
    if (this.closed) return { started: 0, stopped: 0, active: this.loops.size };
    let listed: readonly ScrapeTarget[];
    try {
      listed = await this.source.targets();
      this.sourceError = null;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.sourceError = error;
      this.onSourceError?.(error);
      return { started: 0, stopped: 0, active: this.loops.size };
    }
    if (this.closed) return { started: 0, stopped: 0, active: this.loops.size };
    const wanted = new Map<string, ScrapeTarget>();
    for (const t of listed) {
      if (wanted.has(t.id) || !inShard(targetHash(t), this.shard)) continue;
      wanted.set(t.id, t);
    }
    let stopped = 0;
    for (const [id, loop] of this.loops) {
      const next = wanted.get(id);
      if (next !== undefined && sameTarget(next, loop.target)) continue;
      this.loops.delete(id);
      this.retire(loop);
      stopped++;
    }
    let started = 0;
    for (const [id, target] of wanted) {
      if (this.loops.has(id)) continue;
      const loop = new ScrapeLoop({
        target,
        store: this.store,
        options: this.options,
        onScrape: this.onScrape === undefined ? undefined : (o) => this.onScrape?.(target, o),
      });
      this.loops.set(id, loop);
      if (this.running) loop.start();
      started++;
    }
    return { started, stopped, active: this.loops.size };
  }

  // Stops a loop whose target went away and, a little over two intervals later, writes its stale markers stamped
  // with the time its next scrape would have had (if the target is back by then, the store rejects them as old).
  private retire(loop: ScrapeLoop): void {
    const staleAt = loop.nextScrapeAfter(Date.now());
    const writeAt = staleAt + this.options.intervalMs + this.options.intervalMs / 10;
    void loop.stop().then(() => {
      if (this.closed) return;
      const timer = setTimeout(
        () => {
          this.pendingStale.delete(timer);
          if (this.closed) return;
          try {
            loop.writeStaleMarkers(staleAt);
          } catch {
            // The org's storage is unavailable: its series end without markers (they age out of the lookback).
          }
        },
        Math.max(0, writeAt - Date.now()),
      );
      timer.unref();
      this.pendingStale.add(timer);
    });
  }

  private scheduleRefresh(): void {
    if (this.closed) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.refresh().finally(() => this.scheduleRefresh());
    }, this.refreshIntervalMs);
  }

  private scheduleCollection(c: Collection): void {
    if (this.closed) return;
    const now = Date.now();
    const next = nextScrapeTime(Math.max(now, c.lastScheduled), this.options.intervalMs, c.offsetMs);
    c.timer = setTimeout(() => {
      c.timer = null;
      c.lastScheduled = next;
      if (this.closed) return;
      const at = Date.now();
      c.collector.collectOnce(at - next <= ALIGN_TOLERANCE_MS ? next : at);
      this.scheduleCollection(c);
    }, next - now);
  }
}
