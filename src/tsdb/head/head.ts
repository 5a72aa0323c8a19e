// The head: the in-memory part of one tenant's database. Recent samples live in compressed chunks per series; full
// chunks go to `chunks_head/` and only their references stay in memory; every committed batch is first logged to the
// WAL (`wal/`), which rebuilds the head after a restart. The head implements BlockReader, so it is queried and
// compacted like an on-disk block. Layouts: docs/format/wal.md, docs/format/records.md, docs/format/head_chunks.md.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { ContrailError } from "../../model/errors.ts";
import type { Labels } from "../../model/labels.ts";
import type { Matcher } from "../../model/matcher.ts";
import type { BlockChunkReader, BlockIndexReader, BlockReader, TombstoneReader } from "../block-reader.ts";
import { HeadChunkFiles, headChunkRefSeq } from "../chunks/head-chunks.ts";
import { ByteArena } from "../encoding/byte-arena.ts";
import { Encbuf } from "../encoding/encbuf.ts";
import { postingsForMatchers } from "../index/postings.ts";
import { SampleBatch } from "../record/samples.ts";
import { SeriesBatch } from "../record/series.ts";
import { encodeTombstones, TombstoneBatch } from "../record/tombstones.ts";
import { MemTombstones } from "../tombstones/tombstones.ts";
import { truncateWal, type WalTruncation } from "../wal/checkpoint.ts";
import { type FsyncPolicy, Wal } from "../wal/wal.ts";
import { HeadAppender, type SeriesLimit } from "./appender.ts";
import { SeriesColumns } from "./columns.ts";
import { HeadChunkReader, HeadIndexReader, RangeHead } from "./head-reader.ts";
import { MemPostings } from "./mem-postings.ts";
import { type OpenReport, replay } from "./replay.ts";
import { type ChunkOptions, MAX_SERIES_REF, MemSeries } from "./series.ts";
import { SeriesMap } from "./series-map.ts";

export type { OpenReport } from "./replay.ts";

/** Default block and chunk range: 2 h in ms. */
export const DEFAULT_CHUNK_RANGE = 2 * 60 * 60 * 1000;

/** Where the head reports what it did on open and truncation (never the console). */
export interface HeadLogger {
  info(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

const NOOP_LOGGER: HeadLogger = { info() {}, warn() {} };

/** Options of `Head.open`. */
export interface HeadOptions {
  /** The tenant's database directory; the head uses `<dir>/wal` and `<dir>/chunks_head`. */
  readonly dir: string;
  /** Chunk and block range in ms; chunks never cross a multiple of it. Default 2 h. */
  readonly chunkRange?: number;
  /** Target samples per chunk; default 120. */
  readonly samplesPerChunk?: number;
  /**
   * Samples before this time (ms) are already in blocks: appends older than it fail with `out_of_bounds`, and replay
   * discards older samples and stored chunks. Pass the newest block's maxTime when reopening a database whose head
   * was truncated, or compacted data comes back. Default: no bound.
   */
  readonly minValidTime?: number;
  /** WAL segment size (bytes, a multiple of 32 KiB) and fsync policy; defaults as in wal/wal.ts. */
  readonly walSegmentSize?: number;
  readonly walFsync?: FsyncPolicy;
  /** Hands the sync of finished WAL segments to the caller (see WalOptions.syncLater). */
  readonly walSyncLater?: (segmentPath: string) => void;
  /** Largest head chunk file in bytes (default 128 MiB) and how much the chunk writer buffers (default 4 MiB). */
  readonly headChunkFileSize?: number;
  readonly headChunkWriteBufferSize?: number;
  readonly logger?: HeadLogger;
}

/** Counters and sizes of a head. Sample counters count since open (replay excluded). */
export interface HeadStats {
  readonly numSeries: number;
  /** Chunks held: full chunks in the head chunk files plus open chunks. */
  readonly numChunks: number;
  /** Smallest sample time held (ms), +Infinity when empty. */
  readonly minTime: number;
  /** Newest sample time appended (ms, inclusive), -Infinity before the first. */
  readonly maxTime: number;
  readonly samplesAppended: number;
  readonly outOfOrderSamples: number;
  readonly duplicateSamples: number;
  readonly outOfBoundsSamples: number;
  readonly seriesCreated: number;
  readonly seriesRemoved: number;
}

/** What `truncate` removed. */
export interface TruncateReport {
  readonly chunksRemoved: number;
  readonly seriesRemoved: number;
  /** The checkpoint written (last WAL segment folded in), or null when the WAL was too short to bother. */
  readonly checkpoint: number | null;
}

/** What `truncateMemory` removed, and the disk work it leaves to its caller. */
export interface TruncatePlan {
  readonly chunksRemoved: number;
  readonly seriesRemoved: number;
  /** The WAL checkpoint to write, or null when the WAL was too short to bother. */
  readonly wal: WalTruncation | null;
  /** Head chunk files no longer referenced (already closed), to delete. */
  readonly chunkFiles: readonly string[];
}

/** A head truncation in slices; see `Head.beginTruncation`. */
export interface HeadTruncation {
  /** Truncates until `deadline` (`performance.now()` ms); null while unfinished, then the plan of the disk work. */
  step(deadline: number): TruncatePlan | null;
}

/** Series truncated between two looks at the clock. */
const SERIES_PER_CLOCK_CHECK = 64;

/** The in-memory head of one database. Single-threaded; see the module comment. */
export class Head implements BlockReader {
  /** Series by ref and by labels (internal to the head modules). */
  readonly series: SeriesMap;
  /** Inverted index (internal to the head modules). */
  readonly postings = new MemPostings();
  /** Deleted intervals of head series. */
  readonly tombstoneSet = new MemTombstones();
  /** The head chunk files (internal to the head modules). */
  readonly files: HeadChunkFiles;
  /** Chunk cutting parameters shared by every series (internal). */
  readonly chunkOptions: ChunkOptions;
  /** The series' numbers, a row per series, and their open float chunks (internal to the head modules). */
  readonly columns: SeriesColumns;
  /** Where the open float chunks' bytes live (internal). */
  readonly arena = new ByteArena();
  readonly logger: HeadLogger;
  /** Mutable counters behind `stats()` (internal). */
  readonly counters = {
    samplesAppended: 0,
    outOfOrderSamples: 0,
    duplicateSamples: 0,
    outOfBoundsSamples: 0,
    seriesCreated: 0,
    seriesRemoved: 0,
  };
  /** Epoch of the commit in progress, for the per-series batch scratch (internal to the appender). */
  commitEpoch = 0;
  /** Buffers reused by every commit (commits are synchronous, so one set serves them all). Internal. */
  readonly commitScratch = {
    samples: new SampleBatch(),
    series: new SeriesBatch(),
    buf: new Encbuf(64 * 1024),
  };
  /** WAL series refs that replay mapped onto another series with the same labels (kept for checkpoints). */
  readonly aliasRefs = new Map<number, number>();

  private readonly dir: string;
  private wal: Wal | null = null;
  private lastRef = 0;
  private minT = Number.POSITIVE_INFINITY;
  private maxT = Number.NEGATIVE_INFINITY;
  private minValid: number;
  private readonly indexReader: HeadIndexReader;
  private readonly chunkReader: HeadChunkReader;
  private closed = false;
  private report: OpenReport = EMPTY_REPORT;

  private constructor(opts: HeadOptions, files: HeadChunkFiles) {
    this.dir = opts.dir;
    this.files = files;
    const chunkRange = opts.chunkRange ?? DEFAULT_CHUNK_RANGE;
    const samplesPerChunk = opts.samplesPerChunk ?? 120;
    if (!(chunkRange > 0) || !(samplesPerChunk > 0)) {
      throw new ContrailError("bad_data", "chunk range and samples per chunk must be positive");
    }
    this.chunkOptions = { chunkRange, samplesPerChunk, files };
    this.columns = new SeriesColumns(this.arena);
    this.series = new SeriesMap(this.columns);
    this.minValid = opts.minValidTime ?? Number.NEGATIVE_INFINITY;
    this.logger = opts.logger ?? NOOP_LOGGER;
    this.indexReader = new HeadIndexReader(this);
    this.chunkReader = new HeadChunkReader(this);
  }

  /**
   * Opens the head of the database in `opts.dir`: loads the chunks of `chunks_head/`, then replays the WAL (last
   * checkpoint, then segments) for the newer samples. A damaged WAL tail is cut off (only the torn records are lost)
   * and reported in `openReport` and through the logger; a damaged checkpoint throws `corruption`.
   */
  static open(opts: HeadOptions): Head {
    const files = HeadChunkFiles.open({
      dir: join(opts.dir, "chunks_head"),
      maxFileSize: opts.headChunkFileSize,
      writeBufferSize: opts.headChunkWriteBufferSize,
    });
    let head: Head;
    try {
      head = new Head(opts, files);
      const walDir = join(opts.dir, "wal");
      head.report = replay(head, { walDir, minValidTime: head.minValid });
      head.wal = Wal.open(walDir, {
        segmentSize: opts.walSegmentSize,
        fsync: opts.walFsync,
        syncLater: opts.walSyncLater,
      });
    } catch (e) {
      files.close();
      throw e;
    }
    return head;
  }

  /** What opening found, replayed and repaired. */
  get openReport(): OpenReport {
    return this.report;
  }

  /** Smallest sample time held (ms, inclusive); +Infinity while the head is empty. */
  get minTime(): number {
    return this.minT;
  }

  /** One past the newest sample time (ms, exclusive like a block's maxTime); -Infinity while empty. */
  get maxTime(): number {
    return this.maxT + 1;
  }

  /** Samples before this time (ms) are rejected as out of bounds. */
  get minValidTime(): number {
    return this.minValid;
  }

  /**
   * The oldest time an append may have (ms): the compaction boundary, and at most half a chunk range behind the
   * newest sample (older samples would land in a range that may already be compacted), as in Prometheus.
   */
  appendableMinValidTime(): number {
    if (this.maxT === Number.NEGATIVE_INFINITY) return this.minValid;
    return Math.max(this.minValid, this.maxT - this.chunkOptions.chunkRange / 2);
  }

  /** A new appender; see HeadAppender for the batch semantics. With `limit`, it creates no series past `limit.max`. */
  appender(limit?: SeriesLimit): HeadAppender {
    this.checkOpen();
    return new HeadAppender(this, limit);
  }

  /** The head's index over all its data. */
  index(): BlockIndexReader {
    return this.indexReader;
  }

  /** The head's chunk reader. */
  chunks(): BlockChunkReader {
    return this.chunkReader;
  }

  /** The head's deleted intervals. */
  tombstones(): TombstoneReader {
    return this.tombstoneSet;
  }

  /** The head restricted to [mint, maxt] ms inclusive, chunks narrowed to it (for compaction into a block). */
  rangeReader(mint: number, maxt: number): BlockReader {
    return new RangeHead(this, mint, maxt);
  }

  /** Current counters and sizes. */
  stats(): HeadStats {
    let numChunks = 0;
    for (const s of this.series.values()) numChunks += s.numMmapped + (s.openSamples > 0 ? 1 : 0);
    return { numSeries: this.series.size, numChunks, minTime: this.minT, maxTime: this.maxT, ...this.counters };
  }

  /**
   * The series with `labels`, created (with the next ref, labels interned) when new; with `limit`, a new series is
   * refused with `series_limit` while the head holds `limit.max` series or more. Internal to the appender.
   */
  getOrCreate(labels: Labels, limit?: SeriesLimit): MemSeries {
    const s = this.series.getByLabels(labels);
    if (s !== undefined) return s;
    if (labels.isEmpty()) throw new ContrailError("bad_data", "cannot append a sample with an empty label set");
    if (limit !== undefined && this.series.size >= limit.max) throw seriesLimitError(labels, limit);
    if (this.lastRef >= MAX_SERIES_REF) throw new ContrailError("limit_exceeded", "head series refs exhausted");
    return this.createSeries(++this.lastRef, labels);
  }

  /**
   * Replay: the series logged as `ref` with `labels`. When another ref already has these labels, that series is
   * returned and `ref` becomes its alias. Internal to replay.
   */
  getOrCreateWithRef(ref: number, labels: Labels): { series: MemSeries; created: boolean } {
    if (ref > MAX_SERIES_REF) {
      throw new ContrailError("limit_exceeded", `WAL series ref ${ref} is above the head's limit ${MAX_SERIES_REF}`);
    }
    if (ref > this.lastRef) this.lastRef = ref;
    const existing = this.series.getByLabels(labels);
    if (existing !== undefined) {
      if (existing.ref !== ref) this.aliasRefs.set(ref, existing.ref);
      return { series: existing, created: false };
    }
    const old = this.series.getByRef(ref);
    if (old !== undefined) this.removeSeries([old]);
    const s = this.createSeries(ref, labels);
    s.logged = true;
    return { series: s, created: true };
  }

  /** Raises the last handed-out ref (replay met `ref` in a record). Internal. */
  noteRef(ref: number): void {
    if (ref > this.lastRef && ref <= MAX_SERIES_REF) this.lastRef = ref;
  }

  private createSeries(ref: number, labels: Labels): MemSeries {
    // The series keeps its labels as symbol ids in the columns' label store, each name and value held once by the
    // head whatever set it came in (label-store.ts); the postings are keyed by the store's strings.
    const s = MemSeries.create(ref, labels, this.columns);
    this.series.add(s);
    this.postings.add(ref, s.labels);
    this.counters.seriesCreated++;
    return s;
  }

  /** Widens the head's time range to include [mint, maxt] ms. Internal. */
  noteTimes(mint: number, maxt: number): void {
    if (mint < this.minT) this.minT = mint;
    if (maxt > this.maxT) this.maxT = maxt;
  }

  /** Logs records to the WAL (returns once the OS has them). Internal to the appender and delete. */
  logRecords(records: Uint8Array[]): void {
    this.checkOpen();
    (this.wal as Wal).log(...records);
  }

  /**
   * Marks the samples of series matching `matchers` within [mint, maxt] ms as deleted: logs a Tombstones record and
   * records the intervals (clamped to each series' data). Queries stop returning them at once.
   */
  delete(mint: number, maxt: number, matchers: readonly Matcher[]): void {
    this.checkOpen();
    const batch = new TombstoneBatch();
    for (const ref of postingsForMatchers(this.indexReader, matchers)) {
      const s = this.series.getByRef(ref);
      if (s === undefined || s.isEmpty()) continue;
      const lo = Math.max(mint, s.minTime());
      const hi = Math.min(maxt, s.maxTime());
      if (lo <= hi) batch.push(ref, lo, hi);
    }
    if (batch.length === 0) return;
    const buf = new Encbuf(16 + batch.length * 24);
    encodeTombstones(buf, batch);
    this.logRecords([buf.get()]);
    for (let i = 0; i < batch.length; i++) {
      this.tombstoneSet.addInterval(batch.refs[i], { mint: batch.mints[i], maxt: batch.maxts[i] });
    }
  }

  /**
   * Drops what is older than `mint` (ms) after it was compacted into a block: chunks ending before it, series left
   * empty (unless an appender holds samples for them), head chunk files no longer referenced; then checkpoints the
   * older two thirds of the WAL and deletes those segments. Appends before `mint` fail with `out_of_bounds` after.
   * This is `truncateMemory` followed, on this thread, by the disk work it returns.
   */
  truncate(mint: number): TruncateReport {
    const plan = this.truncateMemory(mint);
    for (const path of plan.chunkFiles) rmSync(path, { force: true });
    if (plan.wal !== null) truncateWal(plan.wal);
    return {
      chunksRemoved: plan.chunksRemoved,
      seriesRemoved: plan.seriesRemoved,
      checkpoint: plan.wal?.to ?? null,
    };
  }

  /**
   * The in-memory part of `truncate(mint)`: drops the chunks and series, releases (closes) the head chunk files no
   * longer referenced and starts a new WAL segment. Returns the disk work left, for any thread to do later: deleting
   * the released files and writing the checkpoint. Until then the WAL still holds the
   * dropped samples and series, which a restart skips (they are older than the blocks) or drops at the next
   * checkpoint. `beginTruncation` does the same in slices.
   */
  truncateMemory(mint: number): TruncatePlan {
    return this.beginTruncation(mint).step(Number.POSITIVE_INFINITY) as TruncatePlan;
  }

  /**
   * `truncateMemory(mint)` in slices: each `step(deadline)` truncates series until `deadline` (a
   * `performance.now()` time, ms) has passed and returns null, or finishes and returns the plan. Appends and reads
   * may run between steps: appends are newer than `mint` (it must be at most the appendable minimum), and a series
   * found empty is removed only if it still is at the last step. Nothing else may truncate the head meanwhile.
   */
  beginTruncation(mint: number): HeadTruncation {
    this.checkOpen();
    if (mint > this.minValid) this.minValid = mint;
    const it = this.series.values();
    const candidates: MemSeries[] = [];
    const keep: number[] = [];
    let chunksRemoved = 0;
    let minT = Number.POSITIVE_INFINITY;
    let oldestFile = Number.POSITIVE_INFINITY;
    const visit = (s: MemSeries) => {
      chunksRemoved += s.truncateBefore(mint);
      if (s.isEmpty() && s.pending === 0) {
        candidates.push(s);
        return;
      }
      keep.push(s.ref);
      if (s.minTime() < minT) minT = s.minTime();
      if (s.numMmapped > 0) oldestFile = Math.min(oldestFile, headChunkRefSeq(s.mmappedRef(0)));
    };
    const finish = (): TruncatePlan => {
      const gone: MemSeries[] = [];
      for (const s of candidates) {
        // An appender may have taken the series up since it was found empty: then it stays.
        if (s.isEmpty() && s.pending === 0) gone.push(s);
        else visit(s);
      }
      this.removeSeries(gone);
      for (const [alias, target] of this.aliasRefs) {
        if (!this.series.has(target)) this.aliasRefs.delete(alias);
      }
      this.minT = minT;
      this.tombstoneSet.truncateBefore(mint);
      const chunkFiles = this.files.release(oldestFile);
      for (const alias of this.aliasRefs.keys()) keep.push(alias);
      const wal = this.planWalTruncation(mint, keep);
      this.logger.info("head truncated", {
        mint,
        chunksRemoved,
        seriesRemoved: gone.length,
        checkpoint: wal?.to ?? null,
      });
      return { chunksRemoved, seriesRemoved: gone.length, wal, chunkFiles };
    };
    return {
      step: (deadline) => {
        this.checkOpen();
        for (;;) {
          for (let i = 0; i < SERIES_PER_CLOCK_CHECK; i++) {
            const r = it.next();
            if (r.done === true) return finish();
            visit(r.value);
          }
          if (performance.now() >= deadline) return null;
        }
      },
    };
  }

  /** Removes series from every structure (replay deletions and truncation). Internal. */
  removeSeries(list: readonly MemSeries[]): void {
    if (list.length === 0) return;
    const deleted = new Map<number, Labels>();
    for (const s of list) {
      this.series.delete(s);
      s.drop();
      deleted.set(s.ref, s.labels);
    }
    this.postings.delete(deleted);
    this.tombstoneSet.deleteTombstones(deleted.keys());
    this.counters.seriesRemoved += list.length;
  }

  // The checkpoint of the older two thirds of the finished segments, keeping the series `keep` (refs, any order) and
  // samples from `mint` on; null when the WAL is too short to bother.
  private planWalTruncation(mint: number, keep: readonly number[]): WalTruncation | null {
    const wal = this.wal as Wal;
    const segs = wal.segments();
    if (segs.length === 0) return null;
    const first = segs[0];
    // A fresh segment, so that a quiet tenant does not keep more WAL than needed; the active one is never folded in.
    const last = wal.nextSegment() - 1;
    const to = first + Math.floor(((last - first) * 2) / 3);
    if (to <= first) return null;
    // Shared, so posting it to the maintenance worker copies nothing and detaches nothing on this thread.
    const refs = new Uint32Array(new SharedArrayBuffer(4 * keep.length));
    refs.set(keep);
    return { walDir: wal.dir, from: first, to, mint, keep: refs };
  }

  /** Flushes the head chunk files and closes the WAL; idempotent. The data stays on disk for the next open. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.wal?.close();
    } finally {
      this.files.close();
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ContrailError("internal", `the head in ${this.dir} is closed`);
  }
}

const EMPTY_REPORT: OpenReport = {
  headChunks: 0,
  headChunkFilesDeleted: null,
  skippedHeadChunks: 0,
  walRecords: 0,
  seriesRecords: 0,
  samplesReplayed: 0,
  samplesSkipped: 0,
  unknownRefs: 0,
  walRepair: null,
  durationMs: 0,
};

/** Longest part of a refused series' labels quoted in the error. */
const QUOTED_LABELS_MAX = 200;

// The refusal of a new series over `limit`: names the limit, its value and the series, and what still works.
function seriesLimitError(labels: Labels, limit: SeriesLimit): ContrailError {
  const text = labels.toString();
  const quoted = text.length <= QUOTED_LABELS_MAX ? text : `${text.slice(0, QUOTED_LABELS_MAX)}…`;
  return new ContrailError(
    "series_limit",
    `series limit reached: ${limit.max} active series (${limit.name}); new series ${quoted} refused, ` +
      "samples of existing series are still accepted, and series leave the head when it is compacted",
  );
}
