// The jobs the maintenance worker runs for the databases: writing a head range as a block, merging blocks, writing
// a WAL checkpoint (and deleting the segments it absorbed), deleting files or directories and syncing files. A job is plain data
// (paths, numbers and transferable buffers) and so is its result, so that it can cross to the worker thread; the
// database keeps every decision (what to compact, when to swap blocks in, what to delete) on its own thread.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { INDEX_FILENAME } from "../block.ts";
import type { BlockMeta, Ulid } from "../block-meta.ts";
import { mergeBlockDirs, writeBlock } from "../compact.ts";
import { openHeadSnapshot } from "../head/snapshot.ts";
import { IndexReader, type PreparedIndex } from "../index/reader.ts";
import { type CheckpointStats, fsyncPath, truncateWal, type WalTruncation } from "../wal/checkpoint.ts";

/** Writes the head range encoded in `parts` (a HeadRangeSnapshot over [mint, maxt] ms inclusive) as block `meta`. */
export interface HeadBlockJob {
  readonly kind: "head-block";
  /** The database directory. */
  readonly dest: string;
  /** The head chunk files the snapshot refers to. */
  readonly chunksHeadDir: string;
  readonly mint: number;
  readonly maxt: number;
  readonly parts: readonly ArrayBufferLike[];
  readonly meta: Omit<BlockMeta, "stats" | "version">;
  /** Largest chunk segment file in bytes (default 512 MiB). */
  readonly segmentSize?: number;
}

/** Merges the blocks in `dirs` into block `ulid` (leaving the parents as they are). */
export interface MergeBlocksJob {
  readonly kind: "merge-blocks";
  readonly dest: string;
  readonly dirs: readonly string[];
  readonly ulid: Ulid;
  readonly segmentSize?: number;
}

/** Writes a WAL checkpoint and deletes the segments it absorbed. */
export interface TruncateWalJob {
  readonly kind: "truncate-wal";
  readonly wal: WalTruncation;
}

/** Deletes files or directories (recursively); missing ones are fine. */
export interface RemoveJob {
  readonly kind: "remove";
  readonly paths: readonly string[];
}

/** Fsyncs files (finished WAL segments the appending thread did not wait for). */
export interface SyncJob {
  readonly kind: "sync";
  readonly paths: readonly string[];
}

/** Any maintenance job. */
export type MaintenanceJob = HeadBlockJob | MergeBlocksJob | TruncateWalJob | RemoveJob | SyncJob;

/** A block a job wrote: its meta and its index, read back and prepared for `Block.open` on the main thread. */
export interface WrittenBlock {
  readonly meta: BlockMeta;
  readonly index: PreparedIndex;
}

/** The result of each kind of job. */
export interface JobResults {
  /** The new block, or null when no sample fell in the range (nothing was written). */
  "head-block": WrittenBlock | null;
  /** The merged block, or null when nothing was left in the parents. */
  "merge-blocks": WrittenBlock | null;
  "truncate-wal": CheckpointStats;
  remove: null;
  sync: null;
}

/** The result of `job`. */
export type JobResult<J extends MaintenanceJob> = JobResults[J["kind"]];

/**
 * Runs `job` on the calling thread (the worker's, or any thread in tests) and returns its result, with the buffers
 * in it that can be transferred rather than copied back.
 */
export function runJob<J extends MaintenanceJob>(job: J): { result: JobResult<J>; transfer: ArrayBuffer[] } {
  const result = dispatch(job) as JobResult<J>;
  const written = result as WrittenBlock | null;
  const isBlock = job.kind === "head-block" || job.kind === "merge-blocks";
  return { result, transfer: isBlock && written !== null ? [written.index.bytes.buffer as ArrayBuffer] : [] };
}

function dispatch(job: MaintenanceJob): JobResults[MaintenanceJob["kind"]] {
  switch (job.kind) {
    case "head-block": {
      const reader = openHeadSnapshot(job.parts, job.chunksHeadDir, job.mint, job.maxt);
      try {
        return prepared(
          writeBlock({ dest: job.dest, readers: [reader], meta: job.meta, segmentSize: job.segmentSize }),
          job.dest,
        );
      } finally {
        reader.close();
      }
    }
    case "merge-blocks":
      return prepared(
        mergeBlockDirs({ dest: job.dest, dirs: job.dirs, ulid: job.ulid, segmentSize: job.segmentSize }),
        job.dest,
      );
    case "truncate-wal":
      return truncateWal(job.wal);
    case "remove":
      for (const p of job.paths) rmSync(p, { recursive: true, force: true });
      return null;
    case "sync":
      for (const p of job.paths) fsyncPath(p);
      return null;
  }
}

// The block `meta` in `dest` with its index read and prepared, so the main thread opens it without reading it.
function prepared(meta: BlockMeta | null, dest: string): WrittenBlock | null {
  if (meta === null) return null;
  return { meta, index: IndexReader.prepare(join(dest, meta.ulid, INDEX_FILENAME)) };
}

/** What the worker posts back for the job with `id`. */
export type JobReply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string };

/** What the main thread posts to the worker. */
export interface JobRequest {
  readonly id: number;
  readonly job: MaintenanceJob;
}
