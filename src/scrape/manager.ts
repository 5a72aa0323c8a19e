// The scrape manager: keeps one scrape loop per target of its shard, refreshing the target list from the source
// periodically (and on demand), starting loops for new targets and retiring those that went away (with end-of-run
// stale markers), and scrapes the platform's own processes (edges, agents; see platform.ts) on the same interval.
// It answers the status questions of the API per org: active targets and metric metadata.

import type { MetricMetadata } from "../exposition/index.ts";
import { ContrailError } from "../model/errors.ts";
import { compareStrings } from "../model/labels.ts";
import type { TenantStore } from "../storage/interface.ts";
import { fetchScrape } from "./http.ts";
import { type InProcessStatus, type OrgOfApp, RegistryCollector } from "./inprocess.ts";
import { ALIGN_TOLERANCE_MS, ScrapeLoop, type ScrapeOutcome } from "./loop.ts";
import { acceptHeader, resolveScrapeOptions, type ScrapeOptions, type ScrapeOptionsInput } from "./options.ts";
import { type PlatformTargetSource, ScrapedSamples } from "./platform.ts";
import { ownsPlatform, ownsTarget, type ShardPeers } from "./shards.ts";
import { type ActiveTarget, activeTarget } from "./status.ts";
import {
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
  /**
   * Scrape only this shard of the targets (`--shard i/n`). Platform targets are scraped by shard 0 only (with `peers`:
   * by the lowest live shard while no shard 0 runs).
   */
  readonly shard?: ShardSpec;
  /**
   * The live scrapers' shards, read at every refresh: targets no live shard claims (while shard counts change) are
   * shared out among them (shards.ts). Without it, exactly the shard's own targets.
   */
  readonly peers?: ShardPeers;
  /** The platform's own processes (edges, agents), read on every refresh; their samples are routed by `app`. */
  readonly platform?: PlatformTargetSource;
  /** The org owning an app, for the samples of platform targets; required with `platform`. */
  readonly orgOfApp?: OrgOfApp;
  /** Called when the source fails to list targets (the previous list stays in force). */
  readonly onSourceError?: (err: Error) => void;
  /** Called after every scrape of every target. */
  readonly onScrape?: (target: ScrapeTarget, outcome: ScrapeOutcome) => void;
  /**
   * The wall clock (ms since the epoch) that platform collections are scheduled and stamped by; default `Date.now`.
   * Target loops and their stale markers read the system clock.
   */
  readonly now?: () => number;
}

/** What a refresh changed. */
export interface RefreshResult {
  readonly started: number;
  readonly stopped: number;
  readonly active: number;
}

/** Status of a platform target after its last scrape. */
export interface PlatformTargetStatus extends InProcessStatus {
  readonly url: string;
  /** Samples in the last body. */
  readonly lastBodySamples: number;
}

/** One platform target: its fetched samples and the collector routing them to the orgs' databases. */
interface Collection {
  readonly name: string;
  url: string;
  readonly samples: ScrapedSamples;
  readonly collector: RegistryCollector;
  readonly offsetMs: number;
  readonly abort: AbortController;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
  lastScheduled: number;
  lastError: string;
}

/** Runs the scrape loops of one scraper process. */
export class ScrapeManager {
  /** The settings every loop uses. */
  readonly options: ScrapeOptions;
  private readonly store: TenantStore;
  private readonly source: TargetSource;
  private readonly shard: ShardSpec | undefined;
  private readonly peers: ShardPeers | undefined;
  /** The live shards at the last refresh that could read them (kept when a read fails). */
  private livePeers: readonly ShardSpec[] = [];
  private readonly refreshIntervalMs: number;
  private readonly onSourceError: ((err: Error) => void) | undefined;
  private readonly onScrape: ((target: ScrapeTarget, outcome: ScrapeOutcome) => void) | undefined;
  private readonly now: () => number;
  private readonly loops = new Map<string, ScrapeLoop>();
  private readonly platform: PlatformTargetSource | undefined;
  private readonly orgOfApp: OrgOfApp | undefined;
  private readonly collections = new Map<string, Collection>();
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
    this.peers = opts.peers;
    this.refreshIntervalMs = opts.refreshIntervalMs ?? 10_000;
    if (!(this.refreshIntervalMs > 0)) throw new ContrailError("bad_data", "refreshIntervalMs must be > 0");
    this.onSourceError = opts.onSourceError;
    this.onScrape = opts.onScrape;
    this.now = opts.now ?? Date.now;
    if (opts.platform !== undefined && opts.orgOfApp === undefined) {
      throw new ContrailError("bad_data", "platform targets need an orgOfApp lookup");
    }
    // Platform targets are few and serve every app: only the first shard scrapes them (refreshPlatform).
    this.platform = opts.platform;
    this.orgOfApp = opts.orgOfApp;
  }

  /** Reads the targets, starts their loops and the periodic refresh and collection. */
  async start(): Promise<RefreshResult> {
    if (this.closed) throw new ContrailError("unavailable", "the scrape manager is stopped");
    this.running = true;
    for (const loop of this.loops.values()) loop.start();
    for (const c of this.collections.values()) this.scheduleCollection(c);
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
    const running: Promise<void>[] = [];
    for (const c of this.collections.values()) {
      if (c.timer !== null) clearTimeout(c.timer);
      c.timer = null;
      c.abort.abort();
      if (c.running !== null) running.push(c.running);
    }
    for (const t of this.pendingStale) clearTimeout(t);
    this.pendingStale.clear();
    await this.refreshChain.catch(() => undefined);
    await Promise.all(running);
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
   * the org's targets and the platform targets' families that carry the org's apps. Keys sorted.
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
    for (const c of this.collections.values()) {
      for (const [family, md] of c.collector.metadataFor(org)) add(family, md);
    }
    const out = new Map<string, MetricMetadata[]>();
    for (const name of [...byName.keys()].sort(compareStrings)) out.set(name, [...byName.get(name)!.values()]);
    return out;
  }

  /** Status of each platform target, by name. */
  platformStatus(): PlatformTargetStatus[] {
    return [...this.collections.values()]
      .map((c) => {
        const s = c.collector.status();
        return {
          ...s,
          url: c.url,
          lastBodySamples: c.samples.size,
          lastError: [c.lastError, s.lastError].filter((e) => e !== "").join("; "),
        };
      })
      .sort((a, b) => compareStrings(a.name, b.name));
  }

  /** Scrapes every platform target now, stamping its samples with `t` (ms); for tests and tools. */
  async scrapePlatformNow(t: number = this.now()): Promise<void> {
    await Promise.all([...this.collections.values()].map((c) => this.scrapePlatform(c, t)));
  }

  private async doRefresh(): Promise<RefreshResult> {
    if (this.closed) return { started: 0, stopped: 0, active: this.loops.size };
    await this.readPeers();
    await this.refreshPlatform();
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
    // Targets still listed but now another shard's: that scraper writes their series on, so no stale markers here.
    const handedOver = new Set<string>();
    for (const t of listed) {
      if (wanted.has(t.id)) continue;
      if (ownsTarget(targetHash(t), this.shard, this.livePeers)) wanted.set(t.id, t);
      else handedOver.add(t.id);
    }
    let stopped = 0;
    for (const [id, loop] of this.loops) {
      const next = wanted.get(id);
      if (next !== undefined && sameTarget(next, loop.target)) continue;
      this.loops.delete(id);
      if (handedOver.has(id)) void loop.stop();
      else this.retire(loop);
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

  // Reads the live shards; a failed read keeps the last ones (the shard's own targets stay scraped either way).
  private async readPeers(): Promise<void> {
    if (this.peers === undefined || this.shard === undefined) return;
    try {
      this.livePeers = await this.peers();
    } catch (err) {
      this.onSourceError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  // Reads the platform targets: new ones are scheduled, gone ones get their stale markers now, moved ones (a
  // restarted process on a new port) keep their series and collector. A failing source keeps the current set. When
  // another shard has taken the platform targets over, they are dropped without markers (that shard writes on).
  private async refreshPlatform(): Promise<void> {
    if (this.platform === undefined) return;
    const owned = ownsPlatform(this.shard, this.livePeers);
    let listed: readonly { readonly name: string; readonly url: string }[] = [];
    try {
      if (owned) listed = await this.platform.targets();
    } catch (err) {
      this.onSourceError?.(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.closed) return;
    const wanted = new Map(listed.map((t) => [t.name, t.url]));
    for (const [name, c] of this.collections) {
      if (wanted.has(name)) continue;
      this.collections.delete(name);
      if (c.timer !== null) clearTimeout(c.timer);
      c.timer = null;
      c.abort.abort();
      if (!owned) continue;
      void (c.running ?? Promise.resolve()).then(() => {
        c.samples.clear();
        c.collector.collectOnce();
      });
    }
    for (const [name, url] of wanted) {
      const known = this.collections.get(name);
      if (known !== undefined) {
        known.url = url;
        continue;
      }
      const samples = new ScrapedSamples();
      const c: Collection = {
        name,
        url,
        samples,
        collector: new RegistryCollector({
          source: { name, registry: samples },
          store: this.store,
          orgOfApp: this.orgOfApp!,
        }),
        offsetMs: scrapeOffset(targetHash({ id: `platform:${name}`, url: "" }), this.options.intervalMs),
        abort: new AbortController(),
        timer: null,
        running: null,
        lastScheduled: Number.NEGATIVE_INFINITY,
        lastError: "",
      };
      this.collections.set(name, c);
      if (this.running) this.scheduleCollection(c);
    }
  }

  /** Fetches one platform target and appends its samples at `t`; a failed fetch appends an empty scrape. */
  private async scrapePlatform(c: Collection, t: number): Promise<void> {
    try {
      const res = await fetchScrape({
        url: c.url,
        timeoutMs: this.options.timeoutMs,
        maxBytes: this.options.bodyLimitBytes,
        signal: c.abort.signal,
        accept: acceptHeader(this.options),
      });
      c.samples.load(res.body, res.contentType);
      c.lastError = "";
    } catch (err) {
      c.samples.clear();
      c.lastError = (err as Error).message;
    }
    if (c.abort.signal.aborted) return;
    c.collector.collectOnce(t);
  }

  private scheduleCollection(c: Collection): void {
    if (this.closed || c.timer !== null || c.running !== null) return;
    const now = this.now();
    const next = nextScrapeTime(Math.max(now, c.lastScheduled), this.options.intervalMs, c.offsetMs);
    c.timer = setTimeout(() => {
      c.timer = null;
      c.lastScheduled = next;
      if (this.closed || c.abort.signal.aborted) return;
      const at = this.now();
      c.running = this.scrapePlatform(c, at - next <= ALIGN_TOLERANCE_MS ? next : at).finally(() => {
        c.running = null;
        this.scheduleCollection(c);
      });
    }, next - now);
  }
}
