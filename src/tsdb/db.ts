// One tenant's database, laid out as a Prometheus data directory: `wal/` and `chunks_head/` for the head, one
// `<ULID>/` directory per block (docs/format/block.md). Opening loads the blocks, then replays the WAL into the head.
// Compaction follows Prometheus: once the head spans more than 1.5 block ranges, its oldest range becomes a 2 h
// block and the head (memory, head chunk files, WAL) is truncated; then the leveled planner merges blocks into
// longer ones. After every change the blocks are reloaded, which deletes the parents of compacted blocks and the
// blocks beyond the time or size retention.
//
// Threading. The database lives on the thread that appends and queries (the main thread); everything slow in its
// maintenance runs on a worker thread shared through a MaintenanceQueue (maintenance/): writing a block from the
// head, merging blocks, writing a WAL checkpoint, deleting the segments, head chunk files and directories that are
// no longer needed, and fsyncing finished WAL segments (the WAL hands them over instead of syncing on the thread
// that appends). The main thread keeps the decisions and the short steps, in this order per head block:
//   1. snapshot the head's range [mint, maxt) in slices of at most MAIN_THREAD_SLICE_MS each (head/snapshot.ts);
//   2. the worker writes `<ulid>.tmp-for-creation/`, renames it to `<ulid>/` and reads the new index back;
//   3. reload: open the new block with that index (no file read or scan here), swap it into the loaded set, rename
//      blocks to delete to `.tmp-for-deletion` (the worker deletes them); new queriers now read [mint, maxt) from
//      the block and the head only from maxt;
//   4. once no querier opened before step 3 reads the head below maxt, truncate the head in memory, again in slices
//      of at most MAIN_THREAD_SLICE_MS, and start a new WAL segment; the worker writes the checkpoint, then deletes
//      the absorbed segments and the released head chunk files. While such queriers remain, the truncation is owed:
//      the run goes on with the merges, and the truncation happens at the first run after they closed (a querier's
//      close schedules one); no head block is cut meanwhile.
// Merges are one worker job followed by step 3. Appends go on throughout: the range being compacted lies before
// the head's appendable window, so nothing written meanwhile belongs to it. Every step leaves a directory that
// opens cleanly after a crash (tmp directories are written, then renamed; leftovers are deleted at open; the WAL
// keeps every sample that is not yet in a block). A worker that dies or times out fails the run (logged, counted
// in `maintenanceStatus`); nothing was truncated, so the next run simply does the work again. Runs of one database
// never overlap; `compact()` queues behind a running one.

import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { ContrailError } from "../model/errors.ts";
import type { Appendable, Appender, Querier, Queryable } from "../storage/interface.ts";
import { type Block, TMP_FOR_CREATION_SUFFIX } from "./block.ts";
import { type BlockMeta, newUlid, type Ulid } from "./block-meta.ts";
import { headBlockMeta } from "./compact.ts";
import { compactionRanges, DEFAULT_BLOCK_DURATION, planCompaction } from "./compact-plan.ts";
import { DbAppender } from "./db-appender.ts";
import { BlockSet } from "./db-blocks.ts";
import { dirSize, leftoverTmpDirs } from "./db-files.ts";
import { type DbStats, dbStats } from "./db-stats.ts";
import type { SeriesLimit } from "./head/appender.ts";
import { Head, type HeadLogger } from "./head/head.ts";
import { HeadRangeSnapshot } from "./head/snapshot.ts";
import type { MaintenanceJob, WrittenBlock } from "./maintenance/jobs.ts";
import { isWorkerFailure, type MaintenanceQueue, processMaintenanceQueue } from "./maintenance/queue.ts";
import { blockQuerier, mergeQuerier } from "./querier.ts";
import type { WalTruncation } from "./wal/checkpoint.ts";
import type { FsyncPolicy } from "./wal/wal.ts";

export type { DbStats, NameCount } from "./db-stats.ts";
export type { SeriesLimit } from "./head/appender.ts";

/** Longest main-thread slice of a head snapshot or truncation (ms); the event loop runs between slices. */
export const MAIN_THREAD_SLICE_MS = 4;

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
  /** Where the slow maintenance work runs; default the process's shared queue (one worker thread). */
  readonly maintenance?: MaintenanceQueue;
}

/** How background maintenance has fared since the database was opened. */
export interface MaintenanceStatus {
  /** Compaction runs finished, successfully or not. */
  readonly runs: number;
  /** Runs that failed (their error was also logged). */
  readonly failures: number;
  /** The message of the latest failure, null when none failed. */
  readonly lastError: string | null;
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

/** Directories of closed databases whose maintenance is still running: not to be opened again until it ends. */
const settling = new Set<string>();

/** A querier's hold on the head: it may read head samples from `mint` (ms) on. */
interface HeadRead {
  readonly mint: number;
}

/** A tenant database. Open with `Db.open`; close with `close()`. Use from one thread (see the module comment). */
export class Db implements Appendable, Queryable {
  /** The database directory. */
  readonly dir: string;
  private headRef: Head | null = null;
  private readonly set: BlockSet;
  private readonly chunkRange: number;
  private readonly ranges: readonly number[];
  private readonly chunkSegmentSize: number | undefined;
  private readonly logger: HeadLogger;
  private readonly autoCompact: boolean;
  private readonly queue: MaintenanceQueue;
  private timer: NodeJS.Timeout | null = null;
  private pending: NodeJS.Immediate | null = null;
  /** Queriers reading the head: truncating it below their start would hide samples, so truncation is put off. */
  private readonly headReads = new Set<HeadRead>();
  /** The head truncation owed since a block was swapped in while queriers still read the head below it (ms). */
  private owedTruncation: number | null = null;
  /** New queriers read the head from here on (ms): what is older is in a block already swapped in. */
  private headFloor = Number.NEGATIVE_INFINITY;
  /** The end of the latest compaction run (runs are chained, never concurrent). */
  private tail: Promise<unknown> = Promise.resolve();
  private runsInFlight = 0;
  /** Deletions and syncs handed to the worker and not finished yet. */
  private readonly chores = new Set<Promise<void>>();
  private status: MaintenanceStatus = { runs: 0, failures: 0, lastError: null };
  private closed = false;

  private constructor(opts: DbOptions) {
    this.dir = opts.dir;
    const retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
    this.chunkRange = opts.blockRange ?? DEFAULT_BLOCK_DURATION;
    this.ranges = opts.ranges ?? compactionRanges({ retentionMs, minBlockDuration: this.chunkRange });
    this.chunkSegmentSize = opts.chunkSegmentSize;
    this.logger = opts.logger ?? NOOP_LOGGER;
    this.autoCompact = opts.autoCompact ?? true;
    this.queue = opts.maintenance ?? processMaintenanceQueue();
    this.set = new BlockSet({
      dir: this.dir,
      retentionMs,
      maxBytes: opts.maxBytes ?? 0,
      headBytes: () => this.headBytes(),
      remove: (paths) => this.remove(paths),
      logger: this.logger,
    });
  }

  /**
   * Opens (creating if needed) the database in `opts.dir`: hands leftovers of interrupted block writes and deletions
   * to the worker for deletion, loads the blocks (deleting those replaced by compaction or beyond retention), then
   * opens the head, whose WAL replay skips samples already in blocks. Throws `corruption` naming the block or file
   * that cannot be read, and `unavailable` while a closed database of the same directory still finishes maintenance.
   */
  static open(opts: DbOptions): Db {
    if (settling.has(resolve(opts.dir))) {
      throw new ContrailError(
        "unavailable",
        `the database in ${opts.dir} was closed while its maintenance ran and is still finishing it; try again shortly`,
      );
    }
    mkdirSync(opts.dir, { recursive: true });
    const db = new Db(opts);
    const leftovers = leftoverTmpDirs(opts.dir);
    if (leftovers.length > 0) db.remove(leftovers);
    db.reloadBlocks();
    try {
      db.headRef = Head.open({
        dir: opts.dir,
        chunkRange: db.chunkRange,
        minValidTime: db.set.maxTime() ?? undefined,
        walSegmentSize: opts.walSegmentSize,
        walFsync: opts.walFsync,
        walSyncLater: (path) => db.syncLater(path),
        logger: opts.logger,
      });
    } catch (err) {
      db.set.close();
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
    return this.set.blocks;
  }

  /** The compaction ranges in use (ms), smallest first. */
  get compactionRanges(): readonly number[] {
    return this.ranges;
  }

  /**
   * A new appender on the head; a commit that makes the head compactable schedules a compaction. With `limit`, it
   * creates no series past `limit.max` (`series_limit`).
   */
  appender(limit?: SeriesLimit): Appender {
    this.checkOpen();
    return new DbAppender(this, this.head.appender(limit));
  }

  /**
   * A querier over [mint, maxt] ms (inclusive) merging the overlapping blocks (oldest first) and the head. The
   * blocks it reads stay readable until it is closed, even if compaction or retention deletes them meanwhile; the
   * head is not truncated below what it reads until it is closed (that part of a compaction is put off), so close
   * queriers promptly. It reads the head only from the end of the newest block cut from it.
   */
  querier(mint: number, maxt: number): Querier {
    this.checkOpen();
    const held: Block[] = [];
    const qs: Querier[] = [];
    for (const b of this.set.blocks) {
      if (b.minTime <= maxt && mint < b.maxTime) {
        b.acquire();
        held.push(b);
        qs.push(blockQuerier(b, mint, maxt));
      }
    }
    const headMint = Math.max(mint, this.headFloor);
    let read: HeadRead | null = null;
    if (this.head.minTime <= maxt && headMint < this.head.maxTime && headMint <= maxt) {
      qs.push(flooredQuerier(blockQuerier(this.head, headMint, maxt), headMint));
      read = { mint: headMint };
      this.headReads.add(read);
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
        inner.close();
        for (const b of held) b.release();
        if (read !== null) {
          this.headReads.delete(read);
          // The last reader holding back an owed truncation is gone: truncate now rather than at the next tick.
          const owed = this.owedTruncation;
          if (this.autoCompact && owed !== null && !this.readsHeadBelow(owed)) this.scheduleCompaction();
        }
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
   * Compacts: cuts the head into blocks while it is compactable (truncating it and checkpointing the WAL after
   * each), then merges blocks as the planner says, reloading (and so applying retention) after each step; resolves
   * when done, deletions included. Runs after the run in progress, if any. A head truncation is left owed to a
   * later run while queriers opened before its block was swapped in still read the head below the block's end.
   * After `close()` the run stops at its next step and resolves with what it did.
   */
  compact(): Promise<CompactReport> {
    if (this.closed) return Promise.reject(this.closedError());
    this.runsInFlight++;
    const run = this.tail.then(() => this.compactNow());
    this.tail = run.then(
      () => this.endRun(null),
      (err) => this.endRun(err as Error),
    );
    return run;
  }

  /** Resolves once no compaction run or deletion of this database is queued or running (also after `close()`). */
  async whenIdle(): Promise<void> {
    while (this.runsInFlight > 0 || this.chores.size > 0) {
      await Promise.all([this.tail, ...this.chores]);
    }
  }

  /** True while a compaction run or a deletion of this database is queued or running. */
  get maintenanceRunning(): boolean {
    return this.runsInFlight > 0 || this.chores.size > 0;
  }

  /** How the maintenance runs have fared so far. */
  maintenanceStatus(): MaintenanceStatus {
    return this.status;
  }

  // A closed database whose last job has ended may be opened again.
  private settle(): void {
    if (this.closed && !this.maintenanceRunning) settling.delete(resolve(this.dir));
  }

  private endRun(err: Error | null): void {
    this.runsInFlight--;
    this.settle();
    const failed = err !== null && !this.closed;
    this.status = {
      runs: this.status.runs + 1,
      failures: this.status.failures + (failed ? 1 : 0),
      lastError: failed ? err.message : this.status.lastError,
    };
    if (failed) this.logger.warn("compaction failed", { dir: this.dir, err: err.message });
  }

  private async compactNow(): Promise<CompactReport> {
    const deletedBefore = this.set.deleted;
    const headBlocks: Ulid[] = [];
    const mergedBlocks: Ulid[] = [];
    try {
      await this.truncateHead();
      while (!this.closed && this.owedTruncation === null && this.headCompactable()) {
        const mint = this.head.minTime;
        const maxt = Math.trunc(mint / this.chunkRange) * this.chunkRange + this.chunkRange;
        const meta = await this.compactHeadRange(mint, maxt);
        if (meta !== null) headBlocks.push(meta.ulid);
        // The range stays in the head while readers hold it (the truncation is owed) or an appender's samples pin it.
        if (this.closed || this.owedTruncation !== null || this.head.minTime < maxt) break;
      }
      // The head comes first: when it became compactable again meanwhile, the next run continues with the blocks
      // (unless its truncation waits for readers: then the blocks need not wait too).
      while (!this.closed && (this.owedTruncation !== null || !this.headCompactable())) {
        const plan = planCompaction(
          this.set.blocks.map((b) => ({ dir: b.dir, meta: b.meta })),
          this.ranges,
        );
        if (plan.length === 0) break;
        const meta = await this.mergeBlocks(plan);
        if (meta !== null) mergedBlocks.push(meta.ulid);
      }
      if (!this.closed && headBlocks.length === 0 && mergedBlocks.length === 0) this.reloadBlocks();
    } catch (err) {
      // A job dropped or failed because the database closed meanwhile: the run just stops there.
      if (!this.closed) throw err;
    }
    await Promise.all(this.chores);
    return { headBlocks, mergedBlocks, deletedBlocks: this.set.deleted - deletedBefore };
  }

  // Steps 1 to 4 of the module comment for the head range [mint, maxt) ms; returns the new block's meta.
  private async compactHeadRange(mint: number, maxt: number): Promise<BlockMeta | null> {
    const snapshot = new HeadRangeSnapshot(this.head, mint, maxt - 1);
    while (!snapshot.step(performance.now() + MAIN_THREAD_SLICE_MS)) {
      await yieldToLoop();
      if (this.closed) return null;
    }
    const parts = snapshot.finish();
    const written = await this.runJob({
      kind: "head-block",
      dest: this.dir,
      chunksHeadDir: join(this.dir, "chunks_head"),
      mint,
      maxt: maxt - 1,
      parts,
      meta: headBlockMeta(mint, maxt),
      segmentSize: this.chunkSegmentSize,
    });
    if (this.closed) return written?.meta ?? null;
    if (written !== null) this.set.reloadOrDrop(written.meta.ulid, written.index);
    if (maxt > this.headFloor) this.headFloor = maxt;
    this.owedTruncation = maxt;
    await this.truncateHead();
    this.logger.info("head compacted", { mint, maxt, block: written?.meta.ulid ?? null });
    return written?.meta ?? null;
  }

  // Step 4 of the module comment for the owed truncation, unless a querier opened before the block was swapped in
  // still reads the head below it: then it waits for a later run (the querier's close schedules one).
  private async truncateHead(): Promise<void> {
    const maxt = this.owedTruncation;
    if (maxt === null || this.closed) return;
    if (this.readsHeadBelow(maxt)) {
      this.logger.info("head truncation deferred: queriers still read the head", { readers: this.headReads.size });
      return;
    }
    const truncation = this.head.beginTruncation(maxt);
    let plan = truncation.step(performance.now() + MAIN_THREAD_SLICE_MS);
    while (plan === null) {
      await yieldToLoop();
      // Closing the head ends the truncation: its disk part was not started, and the WAL still has everything.
      if (this.closed) return;
      plan = truncation.step(performance.now() + MAIN_THREAD_SLICE_MS);
    }
    this.owedTruncation = null;
    if (plan.chunkFiles.length > 0) this.remove(plan.chunkFiles);
    const wal = plan.wal;
    if (wal !== null) await this.runJob({ kind: "truncate-wal", wal });
  }

  // A merge of the blocks in `dirs` by the worker, then step 3 of the module comment.
  private async mergeBlocks(dirs: readonly string[]): Promise<BlockMeta | null> {
    const parents = this.set.blocks.filter((b) => dirs.includes(b.dir));
    let written: WrittenBlock | null;
    try {
      written = await this.runJob({
        kind: "merge-blocks",
        dest: this.dir,
        dirs,
        ulid: newUlid(),
        segmentSize: this.chunkSegmentSize,
      });
    } catch (err) {
      // The blocks could not be merged (not merely the worker lost): keep the planner from picking them again.
      if (!isWorkerFailure(err) && !this.closed) for (const b of parents) markFailed(b);
      throw err;
    }
    if (this.closed) return written?.meta ?? null;
    if (written === null) for (const b of parents) b.setDeletable();
    this.set.reloadOrDrop(written?.meta.ulid ?? null, written?.index);
    this.logger.info("blocks compacted", { from: dirs.length, block: written?.meta.ulid ?? null });
    return written?.meta ?? null;
  }

  // Runs `job` on the maintenance worker; when the worker is lost while writing a block, its temporary directory is
  // handed to the next worker for deletion.
  private async runJob<J extends MaintenanceJob>(job: J) {
    try {
      return await this.queue.run(job, { cancelled: () => this.closed });
    } catch (err) {
      if (isWorkerFailure(err)) {
        const ulid = job.kind === "head-block" ? job.meta.ulid : job.kind === "merge-blocks" ? job.ulid : null;
        if (ulid !== null) this.remove([join(this.dir, ulid + TMP_FOR_CREATION_SUFFIX)]);
      }
      throw err;
    }
  }

  private readsHeadBelow(t: number): boolean {
    for (const r of this.headReads) if (r.mint < t) return true;
    return false;
  }

  // Hands `paths` to the worker for deletion. A failure is only logged: a leftover is deleted at the next open.
  private remove(paths: readonly string[]): void {
    this.chore({ kind: "remove", paths }, "deleting files failed");
  }

  // Hands a finished WAL segment to the worker to fsync. A failure is only logged: the data is written, only a
  // machine crash before the OS writes it back could lose it.
  private syncLater(path: string): void {
    this.chore({ kind: "sync", paths: [path] }, "syncing a WAL segment failed");
  }

  // Runs a small job whose end `compact()` and `whenIdle()` wait for, and which runs even after `close()`.
  private chore(job: MaintenanceJob, failure: string): void {
    const done = () => {
      this.chores.delete(p);
      this.settle();
    };
    const p: Promise<void> = this.queue.run(job).then(done, (err: Error) => {
      done();
      this.logger.warn(failure, { dir: this.dir, err: err.message });
    });
    this.chores.add(p);
  }

  /**
   * Re-reads the block directories: opens new blocks, then deletes the blocks that are parents of a loaded block,
   * marked deletable, or beyond retention (renamed to `<ulid>.tmp-for-deletion` now, deleted by the worker). Throws
   * `corruption` when a block cannot be opened and no loaded block replaces it (the loaded set is then unchanged).
   */
  reloadBlocks(): void {
    this.set.reload();
  }

  /** Bytes of the WAL and the head chunk files on disk. */
  headBytes(): number {
    return dirSize(join(this.dir, "wal")) + dirSize(join(this.dir, "chunks_head"));
  }

  /** Counts for the status API; each cardinality list holds the top `limit` (default 10) entries. */
  stats(opts: { limit?: number } = {}): DbStats {
    this.checkOpen();
    return dbStats(this.head, this.set.blocks, opts.limit ?? 10);
  }

  /**
   * Stops background compaction, closes the head (its data stays on disk) and the blocks. Idempotent. A compaction
   * run in progress stops at its next step (a worker job already running finishes; what it wrote is complete and
   * is picked up at the next open); `whenIdle()` resolves when it has.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.pending !== null) clearImmediate(this.pending);
    this.timer = null;
    this.pending = null;
    if (this.maintenanceRunning) settling.add(resolve(this.dir));
    try {
      this.headRef?.close();
    } finally {
      this.set.close();
    }
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** After a commit: schedules a compaction when the head has become compactable. Internal to the appender. */
  afterCommit(): void {
    const ready = this.owedTruncation === null && this.headCompactable();
    if (this.autoCompact && this.pending === null && ready) this.scheduleCompaction();
  }

  private scheduleCompaction(): void {
    if (this.pending !== null || this.closed) return;
    this.pending = setImmediate(() => {
      this.pending = null;
      this.backgroundCompact();
    });
    this.pending.unref();
  }

  // A run unless one is in progress; its failure is logged and counted by `endRun`.
  private backgroundCompact(): void {
    if (this.closed || this.runsInFlight > 0) return;
    this.compact().catch(() => {});
  }

  private closedError(): ContrailError {
    return new ContrailError("unavailable", `the database in ${this.dir} is closed`);
  }

  private checkOpen(): void {
    if (this.closed) throw this.closedError();
  }
}

/** `q` with every select starting no earlier than `floor` (ms): the head part of a database querier. */
function flooredQuerier(q: Querier, floor: number): Querier {
  return {
    select: (ms, hints) =>
      q.select(ms, hints.start !== undefined && hints.start < floor ? { ...hints, start: floor } : hints),
    labelNames: (ms, hints) => q.labelNames(ms, hints),
    labelValues: (name, ms, hints) => q.labelValues(name, ms, hints),
    close: () => q.close(),
  };
}

// The buffer of the series list in `wal`, moved to the worker with the job.
// Marks `b` as failed to compact; a failure to do so only means the planner may pick it again.
function markFailed(b: Block): void {
  try {
    b.setCompactionFailed();
  } catch {
    // The merge's own error is what gets reported.
  }
}
