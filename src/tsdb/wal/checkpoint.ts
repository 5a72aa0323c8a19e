// Checkpoints: a compacted copy of the WAL's first segments (plus the previous checkpoint), holding only what the
// head still needs: live series, samples at or after mint, live tombstones and the latest metadata per series. A
// checkpoint is a WAL-format directory `checkpoint.NNNNNNNN` (NNNNNNNN = last segment folded in) inside the WAL dir,
// which replay reads before the segments after it. Same layout and rules as Prometheus; see docs/format/wal.md.

import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ContrailError, isContrailError } from "../../model/errors.ts";
import { Encbuf } from "../encoding/encbuf.ts";
import { seek } from "../index/postings.ts";
import { decodeHistogramSamples, encodeHistogramSamples } from "../record/histograms.ts";
import { decodeMetadata, encodeMetadata, MetadataBatch } from "../record/metadata.ts";
import { recordKind } from "../record/record.ts";
import { decodeSamples, encodeSamples, SampleBatch } from "../record/samples.ts";
import { decodeSeries, encodeSeries, SeriesBatch } from "../record/series.ts";
import { decodeTombstones, encodeTombstones, TombstoneBatch } from "../record/tombstones.ts";
import { describeCorruption, type SegmentRange, WalReader } from "./reader.ts";
import { removeSegmentsBelow, segmentName } from "./segment.ts";
import { Wal } from "./wal.ts";

const PREFIX = "checkpoint.";
const TMP_SUFFIX = ".tmp";
/** Kept records are handed to the checkpoint writer in batches of about this many bytes. */
const FLUSH_BYTES = 1024 * 1024;
/** Most records passed to one `Wal.log` call. */
const LOG_SLICE = 4096;

/** Options of `checkpoint`. */
export interface CheckpointOptions {
  /** First WAL segment to fold in; when a checkpoint exists it must be at most one past it, and reading resumes there. */
  readonly from: number;
  /** Last WAL segment to fold in (inclusive); the checkpoint is named after it. */
  readonly to: number;
  /** Whether series `ref` is still in the head. Must answer the same for a ref throughout the call. */
  keepSeries(ref: number): boolean;
  /** Samples with t < mint (ms) are dropped, and tombstones whose interval ends before it. */
  readonly mint: number;
  /** Segment size of the checkpoint directory; default 128 MiB, like a WAL. */
  readonly segmentSize?: number;
}

/** Counts of what a checkpoint read and dropped, per record kind. */
export interface CheckpointStats {
  totalSeries: number;
  droppedSeries: number;
  totalSamples: number;
  droppedSamples: number;
  totalTombstones: number;
  droppedTombstones: number;
  totalMetadata: number;
  droppedMetadata: number;
  /** Records of kinds Contrail does not decode (exemplars, histograms, newer types); they are not carried over. */
  skippedRecords: number;
}

/** Path of checkpoint `index` in `walDir`. */
export function checkpointDir(walDir: string, index: number): string {
  return join(walDir, PREFIX + segmentName(index));
}

/** Checkpoints in `walDir`, ascending by index. Throws `corruption` if a `checkpoint.N` entry is not a directory. */
export function listCheckpoints(walDir: string): { dir: string; index: number }[] {
  const out: { dir: string; index: number }[] = [];
  for (const name of readdirSync(walDir)) {
    if (!name.startsWith(PREFIX)) continue;
    const digits = name.slice(PREFIX.length);
    if (!/^[0-9]+$/.test(digits)) continue;
    const dir = join(walDir, name);
    if (!statSync(dir).isDirectory()) {
      throw new ContrailError("corruption", `checkpoint ${dir} is not a directory`);
    }
    out.push({ dir, index: Number(digits) });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** The newest checkpoint in `walDir`, or null when there is none. */
export function lastCheckpoint(walDir: string): { dir: string; index: number } | null {
  const all = listCheckpoints(walDir);
  return all.length === 0 ? null : all[all.length - 1];
}

/** Deletes the checkpoints of `walDir` with an index below `below`. */
export function deleteCheckpoints(walDir: string, below: number): void {
  for (const cp of listCheckpoints(walDir)) {
    if (cp.index >= below) break;
    rmSync(cp.dir, { recursive: true, force: true });
  }
}

/**
 * Writes `checkpoint.<to>` from the newest checkpoint and WAL segments `from..to` of `walDir`, then deletes older
 * checkpoints. The directory appears atomically (written as `.tmp`, fsynced, renamed). The WAL segments themselves
 * are left for the caller to truncate. Throws `corruption` if the input is damaged: repairing is not an option here,
 * since the head could not know which series were lost.
 */
export function checkpoint(walDir: string, opts: CheckpointOptions): CheckpointStats {
  const ranges: SegmentRange[] = [];
  let from = opts.from;
  const last = lastCheckpoint(walDir);
  if (last !== null) {
    if (from > last.index + 1) {
      throw new ContrailError(
        "bad_data",
        `checkpoint from segment ${from} leaves a gap after checkpoint ${segmentName(last.index)}`,
      );
    }
    from = last.index + 1;
    ranges.push({ dir: last.dir });
  }
  ranges.push({ dir: walDir, first: from, last: opts.to });

  for (const name of readdirSync(walDir)) {
    if (name.startsWith(PREFIX) && name.endsWith(TMP_SUFFIX))
      rmSync(join(walDir, name), { recursive: true, force: true });
  }
  const finalDir = checkpointDir(walDir, opts.to);
  const tmpDir = finalDir + TMP_SUFFIX;
  const stats: CheckpointStats = {
    totalSeries: 0,
    droppedSeries: 0,
    totalSamples: 0,
    droppedSamples: 0,
    totalTombstones: 0,
    droppedTombstones: 0,
    totalMetadata: 0,
    droppedMetadata: 0,
    skippedRecords: 0,
  };

  const reader = new WalReader(ranges);
  const out = Wal.open(tmpDir, { segmentSize: opts.segmentSize });
  let done = false;
  try {
    const filter = new Filter(opts, stats, out);
    while (reader.next()) {
      try {
        filter.add(reader.record());
      } catch (e) {
        if (!isContrailError(e, "corruption")) throw e;
        const c = reader.rejectRecord(e.message);
        throw new ContrailError("corruption", `checkpoint: ${describeCorruption(c)}`, { cause: e });
      }
    }
    const c = reader.corruption();
    if (c !== null) throw new ContrailError("corruption", `checkpoint: ${describeCorruption(c)}`);
    filter.finish();
    out.close();
    fsyncPath(tmpDir);
    rmSync(finalDir, { recursive: true, force: true });
    renameSync(tmpDir, finalDir);
    fsyncPath(walDir);
    done = true;
  } finally {
    reader.close();
    if (!done) {
      out.close();
      rmSync(tmpDir, { recursive: true, force: true });
    }
  }
  deleteCheckpoints(walDir, opts.to);
  return stats;
}

/**
 * A WAL truncation the head decided on (plain data, so it can be carried out on another thread): fold segments
 * `from..to` into `checkpoint.<to>`, keeping the series in `keep` and samples from `mint` (ms) on, then delete them.
 */
export interface WalTruncation {
  readonly walDir: string;
  readonly from: number;
  readonly to: number;
  readonly mint: number;
  /** Refs of the series still in the head (or aliases of one), in any order (sorted in place here). */
  readonly keep: Uint32Array;
}

/** Writes the checkpoint of `t`, then deletes the segments it absorbed, oldest first. Returns the checkpoint stats. */
export function truncateWal(t: WalTruncation): CheckpointStats {
  t.keep.sort();
  const stats = checkpoint(t.walDir, {
    from: t.from,
    to: t.to,
    mint: t.mint,
    keepSeries: (ref) => {
      const i = seek(t.keep, ref);
      return i < t.keep.length && t.keep[i] === ref;
    },
  });
  removeSegmentsBelow(t.walDir, t.to + 1);
  return stats;
}

/** Decodes records, keeps what the checkpoint needs and writes it out in batches. */
class Filter {
  private readonly buf = new Encbuf(64 * 1024);
  /** Start offsets in `buf` of the pending records, plus its end. */
  private readonly bounds: number[] = [0];
  private readonly series = new SeriesBatch();
  private readonly keptSeries = new SeriesBatch();
  private readonly samples = new SampleBatch();
  private readonly keptSamples = new SampleBatch();
  private readonly stones = new TombstoneBatch();
  private readonly keptStones = new TombstoneBatch();
  private readonly meta = new MetadataBatch();
  /** Latest metadata per live series, written once at the end. */
  private readonly latestMeta = new MetadataBatch();
  private readonly latestIndex = new Map<number, number>();

  constructor(
    private readonly opts: CheckpointOptions,
    private readonly stats: CheckpointStats,
    private readonly out: Wal,
  ) {}

  add(rec: Uint8Array): void {
    const { opts, stats } = this;
    switch (recordKind(rec)) {
      case "series": {
        const s = decodeSeries(rec, this.series);
        const kept = this.keptSeries;
        kept.clear();
        for (let i = 0; i < s.length; i++) if (opts.keepSeries(s.refs[i])) kept.push(s.refs[i], s.labels[i]);
        stats.totalSeries += s.length;
        stats.droppedSeries += s.length - kept.length;
        if (kept.length > 0) {
          encodeSeries(this.buf, kept);
          this.endRecord();
        }
        return;
      }
      case "samples": {
        const s = decodeSamples(rec, this.samples);
        const kept = this.keptSamples;
        kept.clear();
        for (let i = 0; i < s.length; i++) if (s.ts[i] >= opts.mint) kept.push(s.refs[i], s.ts[i], s.vs[i]);
        stats.totalSamples += s.length;
        stats.droppedSamples += s.length - kept.length;
        if (kept.length > 0) {
          encodeSamples(this.buf, kept);
          this.endRecord();
        }
        return;
      }
      case "histograms": {
        const all = decodeHistogramSamples(rec);
        const kept = all.filter((e) => e.t >= opts.mint);
        stats.totalSamples += all.length;
        stats.droppedSamples += all.length - kept.length;
        if (kept.length > 0) {
          encodeHistogramSamples(this.buf, rec[0], kept);
          this.endRecord();
        }
        return;
      }
      case "tombstones": {
        const t = decodeTombstones(rec, this.stones);
        const kept = this.keptStones;
        kept.clear();
        for (let i = 0; i < t.length; i++) {
          if (opts.keepSeries(t.refs[i]) && t.maxts[i] >= opts.mint) kept.push(t.refs[i], t.mints[i], t.maxts[i]);
        }
        stats.totalTombstones += t.length;
        stats.droppedTombstones += t.length - kept.length;
        if (kept.length > 0) {
          encodeTombstones(this.buf, kept);
          this.endRecord();
        }
        return;
      }
      case "metadata": {
        const m = decodeMetadata(rec, this.meta);
        let fresh = 0;
        for (let i = 0; i < m.length; i++) {
          const ref = m.refs[i];
          if (!opts.keepSeries(ref)) continue;
          const at = this.latestIndex.get(ref);
          if (at === undefined) {
            fresh++;
            this.latestIndex.set(ref, this.latestMeta.length);
            this.latestMeta.push(ref, m.types[i], m.units[i], m.helps[i]);
          } else {
            this.latestMeta.types[at] = m.types[i];
            this.latestMeta.units[at] = m.units[i];
            this.latestMeta.helps[at] = m.helps[i];
          }
        }
        stats.totalMetadata += m.length;
        stats.droppedMetadata += m.length - fresh;
        return;
      }
      case "unknown":
        stats.skippedRecords++;
        return;
    }
  }

  /** Writes what is pending, then the latest metadata as one record. */
  finish(): void {
    this.flush();
    if (this.latestMeta.length > 0) {
      encodeMetadata(this.buf, this.latestMeta);
      this.endRecord();
      this.flush();
    }
  }

  private endRecord(): void {
    this.bounds.push(this.buf.length);
    if (this.buf.length >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.bounds.length > 1) {
      const all = this.buf.get();
      const recs: Uint8Array[] = [];
      for (let i = 1; i < this.bounds.length; i++) recs.push(all.subarray(this.bounds[i - 1], this.bounds[i]));
      // In slices, so that a megabyte of tiny records does not become one enormous argument list.
      for (let i = 0; i < recs.length; i += LOG_SLICE) this.out.log(...recs.slice(i, i + LOG_SLICE));
    }
    this.buf.reset();
    this.bounds.length = 1;
  }
}

/** Fsyncs the file or directory at `path` (any handle's fsync flushes the file's data, whoever wrote it). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
