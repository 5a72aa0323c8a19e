// One tenant's database, laid out as a Prometheus data directory: `wal/` and `chunks_head/` for the head, one
// `<ULID>/` directory per block (docs/format/block.md). Opening loads the blocks, then replays the WAL into the head.
// Compaction follows Prometheus: once the head spans more than 1.5 block ranges, its oldest range becomes a 2 h
// block and the head (memory, head chunk files, WAL) is truncated; then the leveled planner merges blocks into
// longer ones. After every change the blocks are reloaded, which deletes the parents of compacted blocks and the
// blocks beyond the time or size retention. Everything is synchronous and single-threaded.

import { type Dirent, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ContrailError } from "../model/errors.ts";
import { compareStrings, type Labels, METRIC_NAME } from "../model/labels.ts";
import type { Appendable, Appender, CommitReport, Querier, Queryable, SeriesRef } from "../storage/interface.ts";
import { Block, isBlockDirName, listBlockDirs, TMP_FOR_CREATION_SUFFIX, TMP_FOR_DELETION_SUFFIX } from "./block.ts";
import { readBlockMeta, type Ulid } from "./block-meta.ts";
import {
  compactBlockDirs,
  compactionRanges,
  DEFAULT_BLOCK_DURATION,
  headBlockMeta,
  planCompaction,
  writeBlock,
} from "./compact.ts";
import { Head, type HeadLogger } from "./head/head.ts";
import { blockQuerier, mergeQuerier } from "./querier.ts";
import type { FsyncPolicy } from "./wal/wal.ts";

/** Default time retention: 15 days in ms. */
export const DEFAULT_RETENTION_MS = 15 * 24 * 60 * 60 * 1000;

/** Options of `Db.open`. Times in ms, sizes in bytes. */
export interface DbOptions {
  /** The database directory (created if missing). */
  readonly dir: string;
  /** Blocks whose end lies this far behind the newest block's end are deleted; default 15 d, 0 disables. */
  readonly retentionMs?: number;
  /** Largest size of blocks + WAL + head chunk files; the oldest blocks go first. 0 or absent disables. */
  readonly maxBytes?: number;
  /** The head's block range, 2 h by default; compaction ranges grow from it by factors of 3. */
  readonly blockRange?: number;
  /** Compaction ranges, overriding the ones derived from `blockRange` and the retention. */
  readonly ranges?: readonly number[];
  /**
   * Compact in the background: after a commit that makes the head compactable, and every `maintenanceIntervalMs`
   * (default 60 s, retention included). Default true; tests call `compact()` themselves.
   */
  readonly autoCompact?: boolean;
  readonly maintenanceIntervalMs?: number;
  readonly walSegmentSize?: number;
  readonly walFsync?: FsyncPolicy;
  /** Largest block chunk segment file (default 512 MiB). */
  readonly chunkSegmentSize?: number;
  readonly logger?: HeadLogger;
}

/** One name (metric, label, label pair) and a count, for the cardinality lists of `DbStats`. */
export interface NameCount {
  readonly name: string;
  readonly value: number;
}

/** What `/api/v1/status/tsdb` shows of a database (the cardinality lists cover the head, as in Prometheus). */
export interface DbStats {
  readonly head: {
    readonly numSeries: number;
    readonly numLabelPairs: number;
    readonly chunkCount: number;
    /** Oldest and newest sample time in the head (ms), null while it is empty. */
    readonly minTime: number | null;
    readonly maxTime: number | null;
  };
  readonly blocks: {
    readonly count: number;
    readonly bytes: number;
    /** Series summed over the blocks (a series in several blocks counts in each). */
    readonly numSeries: number;
    readonly numSamples: number;
    /** Range covered by the blocks (ms, maxTime exclusive), null without blocks. */
    readonly minTime: number | null;
    readonly maxTime: number | null;
  };
  /** Oldest and newest sample time over blocks and head (ms), null when the database is empty. */
  readonly minTime: number | null;
  readonly maxTime: number | null;
  readonly seriesCountByMetricName: readonly NameCount[];
  readonly labelValueCountByLabelName: readonly NameCount[];
  readonly memoryInBytesByLabelName: readonly NameCount[];
  readonly seriesCountByLabelValuePair: readonly NameCount[];
}

/** What one `compact()` call did. */
export interface CompactReport {
  /** Blocks cut from the head. */
  readonly headBlocks: readonly Ulid[];
  /** Blocks merged from other blocks. */
  readonly mergedBlocks: readonly Ulid[];
  /** Blocks deleted by reloads (parents of new blocks, retention). */
  readonly deletedBlocks: number;
}

const NOOP_LOGGER: HeadLogger = { info() {}, warn() {} };

/** A tenant database. Open with `Db.open`; close with `close()`. */
export class Db implements Appendable, Queryable {
  /** The database directory. */
  readonly dir: string;
  private headRef: Head | null = null;
  private loaded: Block[] = [];
  private readonly retentionMs: number;
  private readonly maxBytes: number;
  private readonly chunkRange: number;
  private readonly ranges: readonly number[];
  private readonly chunkSegmentSize: number | undefined;
  private readonly logger: HeadLogger;
  private readonly autoCompact: boolean;
  private timer: NodeJS.Timeout | null = null;
  private pending: NodeJS.Immediate | null = null;
  private deleted = 0;
  /** Open queriers that read the head: truncating it under them would hide samples, so compaction waits. */
  private headReaders = 0;
  private closed = false;
  private compacting = false;

  private constructor(opts: DbOptions) {
    this.dir = opts.dir;
    this.retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
    this.maxBytes = opts.maxBytes ?? 0;
    this.chunkRange = opts.blockRange ?? DEFAULT_BLOCK_DURATION;
    this.ranges = opts.ranges ?? compactionRanges({ retentionMs: this.retentionMs, minBlockDuration: this.chunkRange });
    this.chunkSegmentSize = opts.chunkSegmentSize;
    this.logger = opts.logger ?? NOOP_LOGGER;
    this.autoCompact = opts.autoCompact ?? true;
  }

  /**
   * Opens (creating if needed) the database in `opts.dir`: removes leftovers of interrupted block writes and
   * deletions, loads the blocks (deleting those replaced by compaction or beyond retention), then opens the head,
   * whose WAL replay skips samples already in blocks. Throws `corruption` naming the block or file that cannot be
   * read.
   */
  static open(opts: DbOptions): Db {
    mkdirSync(opts.dir, { recursive: true });
    removeTmpDirs(opts.dir);
    const db = new Db(opts);
    db.reloadBlocks();
    try {
      db.headRef = Head.open({
        dir: opts.dir,
        chunkRange: db.chunkRange,
        minValidTime: db.blocksMaxTime() ?? undefined,
        walSegmentSize: opts.walSegmentSize,
        walFsync: opts.walFsync,
        logger: opts.logger,
      });
    } catch (err) {
      for (const b of db.loaded) b.close();
      throw err;
    }
    if (db.autoCompact) {
      const every = opts.maintenanceIntervalMs ?? 60_000;
      db.timer = setInterval(() => db.backgroundCompact(), every);
      db.timer.unref();
      db.scheduleCompaction();
    }
    return db;
  }

  /** The head (for the storage layer, tools and tests). */
  get head(): Head {
    if (this.headRef === null) throw new ContrailError("internal", `the database in ${this.dir} has no head yet`);
    return this.headRef;
  }

  /** The loaded blocks, sorted by minTime. */
  blocks(): readonly Block[] {
    return this.loaded;
  }

  /** The compaction ranges in use (ms), smallest first. */
  get compactionRanges(): readonly number[] {
    return this.ranges;
  }

  /** A new appender on the head; a commit that makes the head compactable schedules a compaction. */
  appender(): Appender {
    this.checkOpen();
    return new DbAppender(this, this.head.appender());
  }

  /**
   * A querier over [mint, maxt] ms (inclusive) merging the overlapping blocks (oldest first) and the head. The
   * blocks it reads stay readable until it is closed, even if compaction or retention deletes them meanwhile; while
   * it reads the head, the head is not truncated (head compaction waits), so close queriers promptly.
   */
  querier(mint: number, maxt: number): Querier {
    this.checkOpen();
    const held: Block[] = [];
    const qs: Querier[] = [];
    for (const b of this.loaded) {
      if (b.minTime <= maxt && mint < b.maxTime) {
        b.acquire();
        held.push(b);
        qs.push(blockQuerier(b, mint, maxt));
      }
    }
    const readsHead = this.head.minTime <= maxt && mint < this.head.maxTime;
    if (readsHead) {
      qs.push(blockQuerier(this.head, mint, maxt));
      this.headReaders++;
    }
    const inner = mergeQuerier(qs);
    let released = false;
    return {
      select: (ms, hints) => inner.select(ms, hints),
      labelNames: (ms, hints) => inner.labelNames(ms, hints),
      labelValues: (name, ms, hints) => inner.labelValues(name, ms, hints),
      close: () => {
        if (released) return;
        released = true;
        if (readsHead) this.headReaders--;
        inner.close();
        for (const b of held) b.release();
      },
    };
  }

  /** True when the head spans more than 1.5 block ranges, so its oldest range can become a block. */
  headCompactable(): boolean {
    const h = this.head;
    if (h.minTime === Number.POSITIVE_INFINITY) return false;
    return h.maxTime - 1 - h.minTime > (this.chunkRange / 2) * 3;
  }

  /**
   * Compacts now: cuts the head into blocks while it is compactable (truncating it and checkpointing the WAL after
   * each), then merges blocks as the planner says, reloading (and so applying retention) after each step. While a
   * querier reads the head, the head part waits for a later call (the maintenance timer or the next commit).
   */
  compact(): CompactReport {
    this.checkOpen();
    if (this.compacting) return { headBlocks: [], mergedBlocks: [], deletedBlocks: 0 };
    this.compacting = true;
    const deletedBefore = this.deleted;
    const headBlocks: Ulid[] = [];
    const mergedBlocks: Ulid[] = [];
    try {
      if (this.headCompactable() && this.headReaders > 0) {
        this.logger.info("head compaction deferred: queriers still read the head", { readers: this.headReaders });
      }
      while (this.headCompactable() && this.headReaders === 0) {
        const mint = this.head.minTime;
        const maxt = Math.trunc(mint / this.chunkRange) * this.chunkRange + this.chunkRange;
        const meta = writeBlock({
          dest: this.dir,
          readers: [this.head.rangeReader(mint, maxt - 1)],
          meta: headBlockMeta(mint, maxt),
          segmentSize: this.chunkSegmentSize,
        });
        if (meta !== null) {
          this.reloadOrDrop(meta.ulid);
          headBlocks.push(meta.ulid);
        }
        this.head.truncate(maxt);
        this.logger.info("head compacted", { mint, maxt, block: meta?.ulid ?? null });
        if (this.head.minTime < maxt) break; // Samples of an open appender pin the range; try again later.
      }
      for (;;) {
        // The head comes first; the next call continues with the blocks.
        if (this.headCompactable() && this.headReaders === 0) break;
        const plan = planCompaction(
          this.loaded.map((b) => ({ dir: b.dir, meta: b.meta })),
          this.ranges,
        );
        if (plan.length === 0) break;
        const meta = compactBlockDirs({
          dest: this.dir,
          dirs: plan,
          open: this.loaded,
          segmentSize: this.chunkSegmentSize,
        });
        if (meta !== null) mergedBlocks.push(meta.ulid);
        this.reloadOrDrop(meta?.ulid ?? null);
        this.logger.info("blocks compacted", { from: plan.length, block: meta?.ulid ?? null });
      }
      if (headBlocks.length === 0 && mergedBlocks.length === 0) this.reloadBlocks();
    } finally {
      this.compacting = false;
    }
    return { headBlocks, mergedBlocks, deletedBlocks: this.deleted - deletedBefore };
  }

  // Reloads after a new block was written; if the reload fails the new block is removed again.
  private reloadOrDrop(ulid: Ulid | null): void {
    try {
      this.reloadBlocks();
    } catch (err) {
      if (ulid !== null) rmSync(join(this.dir, ulid), { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Re-reads the block directories: opens new blocks, then deletes the blocks that are parents of a loaded block,
   * marked deletable, or beyond retention. Throws `corruption` when a block cannot be opened and no loaded block
   * replaces it (the loaded set is then unchanged).
   */
  reloadBlocks(): void {
    const loadable: Block[] = [];
    const corrupted = new Map<string, Error>();
    const opened: Block[] = [];
    for (const dir of listBlockDirs(this.dir)) {
      let ulid: string;
      try {
        ulid = readBlockMeta(dir).ulid;
      } catch (err) {
        this.logger.warn("skipping a block without a readable meta.json", { dir, err: (err as Error).message });
        continue;
      }
      const have = this.loaded.find((b) => b.meta.ulid === ulid);
      if (have !== undefined) {
        loadable.push(have);
        continue;
      }
      try {
        const b = Block.open(dir);
        opened.push(b);
        loadable.push(b);
      } catch (err) {
        corrupted.set(ulid, err as Error);
      }
    }
    const deletable = this.blocksToDelete(loadable);
    for (const b of loadable) {
      for (const p of b.meta.compaction.parents ?? []) {
        deletable.add(p.ulid);
        corrupted.delete(p.ulid);
      }
    }
    if (corrupted.size > 0) {
      for (const b of opened) b.close();
      const detail = [...corrupted].map(([u, e]) => `block ${u}: ${e.message}`).join("; ");
      throw new ContrailError("corruption", `${this.dir}: ${detail}`, { cause: [...corrupted.values()][0] });
    }
    const keep = loadable.filter((b) => !deletable.has(b.meta.ulid)).sort((a, b) => a.minTime - b.minTime);
    const old = this.loaded;
    this.loaded = keep;
    const toClose = new Set([...old, ...loadable].filter((b) => deletable.has(b.meta.ulid)));
    for (const b of toClose) b.close();
    for (const ulid of deletable) {
      const dir = join(this.dir, ulid);
      if (!exists(dir)) continue;
      // Renamed first, so a crash during the removal leaves no half block under its real name.
      const tmp = dir + TMP_FOR_DELETION_SUFFIX;
      rmSync(tmp, { recursive: true, force: true });
      renameSync(dir, tmp);
      rmSync(tmp, { recursive: true, force: true });
      this.deleted++;
      this.logger.info("deleted block", { block: ulid });
    }
  }

  // The blocks deletable by their meta flag or by time or size retention, judged newest first.
  private blocksToDelete(blocks: readonly Block[]): Set<string> {
    const out = new Set<string>();
    const byEnd = blocks.slice().sort((a, b) => b.maxTime - a.maxTime);
    for (const b of byEnd) if (b.meta.compaction.deletable === true) out.add(b.meta.ulid);
    if (byEnd.length === 0) return out;
    if (this.retentionMs > 0) {
      for (let i = 1; i < byEnd.length; i++) {
        if (byEnd[0].maxTime - byEnd[i].maxTime >= this.retentionMs) {
          for (const b of byEnd.slice(i)) out.add(b.meta.ulid);
          break;
        }
      }
    }
    if (this.maxBytes > 0) {
      let total = this.headBytes();
      for (let i = 0; i < byEnd.length; i++) {
        total += byEnd[i].size;
        if (total > this.maxBytes) {
          for (const b of byEnd.slice(i)) out.add(b.meta.ulid);
          break;
        }
      }
    }
    return out;
  }

  /** Bytes of the WAL and the head chunk files on disk. */
  headBytes(): number {
    return dirSize(join(this.dir, "wal")) + dirSize(join(this.dir, "chunks_head"));
  }

  // The end of the newest block (ms, exclusive), null without blocks: the head accepts nothing older.
  private blocksMaxTime(): number | null {
    let max: number | null = null;
    for (const b of this.loaded) {
      if ((b.meta.compaction.hints ?? []).includes("from-out-of-order")) continue;
      if (max === null || b.maxTime > max) max = b.maxTime;
    }
    return max;
  }

  /** Counts for the status API; each cardinality list holds the top `limit` (default 10) entries. */
  stats(opts: { limit?: number } = {}): DbStats {
    this.checkOpen();
    const limit = opts.limit ?? 10;
    const hs = this.head.stats();
    const ix = this.head.index();
    const byMetric: NameCount[] = [];
    const valueCounts: NameCount[] = [];
    const memory: NameCount[] = [];
    const pairs: NameCount[] = [];
    let numLabelPairs = 0;
    for (const name of ix.labelNames()) {
      const values = ix.labelValues(name);
      numLabelPairs += values.length;
      valueCounts.push({ name, value: values.length });
      let bytes = 0;
      for (const v of values) {
        const n = ix.postings(name, [v]).length;
        bytes += Buffer.byteLength(v) * n;
        pairs.push({ name: `${name}=${v}`, value: n });
        if (name === METRIC_NAME) byMetric.push({ name: v, value: n });
      }
      memory.push({ name, value: bytes });
    }
    const headEmpty = hs.numSeries === 0 || hs.minTime === Number.POSITIVE_INFINITY;
    let bMin: number | null = null;
    let bMax: number | null = null;
    let bytes = 0;
    let numSeries = 0;
    let numSamples = 0;
    for (const b of this.loaded) {
      bMin = bMin === null ? b.minTime : Math.min(bMin, b.minTime);
      bMax = bMax === null ? b.maxTime : Math.max(bMax, b.maxTime);
      bytes += b.size;
      numSeries += b.meta.stats.numSeries ?? 0;
      numSamples += b.meta.stats.numSamples ?? 0;
    }
    const headMin = headEmpty ? null : hs.minTime;
    const headMax = headEmpty ? null : hs.maxTime;
    const mins = [bMin, headMin].filter((x): x is number => x !== null);
    const maxs = [bMax === null ? null : bMax - 1, headMax].filter((x): x is number => x !== null);
    return {
      head: { numSeries: hs.numSeries, numLabelPairs, chunkCount: hs.numChunks, minTime: headMin, maxTime: headMax },
      blocks: { count: this.loaded.length, bytes, numSeries, numSamples, minTime: bMin, maxTime: bMax },
      minTime: mins.length > 0 ? Math.min(...mins) : null,
      maxTime: maxs.length > 0 ? Math.max(...maxs) : null,
      seriesCountByMetricName: top(byMetric, limit),
      labelValueCountByLabelName: top(valueCounts, limit),
      memoryInBytesByLabelName: top(memory, limit),
      seriesCountByLabelValuePair: top(pairs, limit),
    };
  }

  /** Stops background compaction, closes the head (its data stays on disk) and the blocks. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.pending !== null) clearImmediate(this.pending);
    this.timer = null;
    this.pending = null;
    try {
      this.headRef?.close();
    } finally {
      for (const b of this.loaded) b.close();
    }
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** After a commit: schedules a compaction when the head has become compactable. Internal to the appender. */
  afterCommit(): void {
    if (this.autoCompact && this.pending === null && this.headCompactable()) this.scheduleCompaction();
  }

  private scheduleCompaction(): void {
    if (this.pending !== null || this.closed) return;
    this.pending = setImmediate(() => {
      this.pending = null;
      this.backgroundCompact();
    });
    this.pending.unref();
  }

  private backgroundCompact(): void {
    if (this.closed) return;
    try {
      this.compact();
    } catch (err) {
      this.logger.warn("compaction failed", { dir: this.dir, err: (err as Error).message });
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ContrailError("unavailable", `the database in ${this.dir} is closed`);
  }
}

/** The database's appender: the head's, plus a compaction check after each commit. */
class DbAppender implements Appender {
  private readonly db: Db;
  private readonly app: Appender;

  constructor(db: Db, app: Appender) {
    this.db = db;
    this.app = app;
  }

  append(labels: Labels, t: number, v: number): SeriesRef {
    return this.app.append(labels, t, v);
  }

  appendRef(ref: SeriesRef, t: number, v: number): SeriesRef {
    return this.app.appendRef(ref, t, v);
  }

  commit(): CommitReport {
    try {
      return this.app.commit();
    } finally {
      this.db.afterCommit();
    }
  }

  rollback(): void {
    this.app.rollback();
  }
}

function top(list: NameCount[], limit: number): NameCount[] {
  list.sort((a, b) => b.value - a.value || compareStrings(a.name, b.name));
  return limit > 0 ? list.slice(0, limit) : list;
}

/** Removes `<ulid>.tmp-for-creation` / `.tmp-for-deletion` block dirs and temporary WAL checkpoints in `dir`. */
function removeTmpDirs(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    for (const suffix of [TMP_FOR_CREATION_SUFFIX, TMP_FOR_DELETION_SUFFIX, ".tmp"]) {
      if (e.name.endsWith(suffix) && isBlockDirName(e.name.slice(0, -suffix.length))) {
        rmSync(join(dir, e.name), { recursive: true, force: true });
      }
    }
  }
  const wal = join(dir, "wal");
  if (!exists(wal)) return;
  for (const e of readdirSync(wal, { withFileTypes: true })) {
    if (e.isDirectory() && /^checkpoint\.\d+\.tmp$/.test(e.name)) rmSync(join(wal, e.name), { recursive: true });
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Total size of the regular files under `dir` (recursively), 0 when it does not exist. */
function dirSize(dir: string): number {
  let total = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirSize(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}
