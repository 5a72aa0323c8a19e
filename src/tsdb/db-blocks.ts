// The loaded blocks of a database and their lifecycle: reloading the block directories (opening new blocks), and
// deleting the blocks that compaction replaced or that fall beyond the time or size retention. A block to delete is
// renamed to `<ulid>.tmp-for-deletion` at once (so a crash never leaves half a block under its real name) and the
// directory is handed to the caller's `remove`, which deletes it on the maintenance worker.

import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ContrailError } from "../model/errors.ts";
import { Block, listBlockDirs, TMP_FOR_DELETION_SUFFIX } from "./block.ts";
import { readBlockMeta, type Ulid } from "./block-meta.ts";
import { exists } from "./db-files.ts";
import type { HeadLogger } from "./head/head.ts";
import type { PreparedIndex } from "./index/reader.ts";

/** Options of `BlockSet`. Times in ms, sizes in bytes. */
export interface BlockSetOptions {
  /** The database directory. */
  readonly dir: string;
  /** Blocks ending this far behind the newest block's end are deleted; 0 disables. */
  readonly retentionMs: number;
  /** Largest size of blocks plus `headBytes()`; the oldest blocks go first. 0 disables. */
  readonly maxBytes: number;
  /** Bytes the head takes on disk (WAL and head chunk files), counted against `maxBytes`. */
  headBytes(): number;
  /** Deletes the (already renamed) directories, now or later. */
  remove(paths: readonly string[]): void;
  readonly logger: HeadLogger;
}

/** The blocks of one database, sorted by minTime. Single-threaded; owned by the database. */
export class BlockSet {
  private readonly opts: BlockSetOptions;
  private loaded: Block[] = [];
  private deletedCount = 0;

  /** An empty set; call `reload()` to load the directory's blocks. */
  constructor(opts: BlockSetOptions) {
    this.opts = opts;
  }

  /** The loaded blocks, sorted by minTime (a new array after each reload; do not modify). */
  get blocks(): readonly Block[] {
    return this.loaded;
  }

  /** Blocks deleted so far by reloads. */
  get deleted(): number {
    return this.deletedCount;
  }

  /**
   * Reloads after block `ulid` was written (its index prepared by the worker when `index` is given); if the reload
   * fails the new block is deleted again.
   */
  reloadOrDrop(ulid: Ulid | null, index?: PreparedIndex): void {
    try {
      this.reload(ulid !== null && index !== undefined ? new Map([[ulid, index]]) : undefined);
    } catch (err) {
      if (ulid !== null) this.removeBlockDir(join(this.opts.dir, ulid));
      throw err;
    }
  }

  /**
   * Re-reads the block directories: opens new blocks, then deletes the blocks that are parents of a loaded block,
   * marked deletable, or beyond retention (renamed to `<ulid>.tmp-for-deletion` now, deleted by the worker). Throws
   * `corruption` when a block cannot be opened and no loaded block replaces it (the loaded set is then unchanged).
   * `prepared` holds indexes already read by the worker, by block ULID; those blocks open without reading theirs.
   */
  reload(prepared?: ReadonlyMap<string, PreparedIndex>): void {
    const loadable: Block[] = [];
    const corrupted = new Map<string, Error>();
    const opened: Block[] = [];
    for (const dir of listBlockDirs(this.opts.dir)) {
      let ulid: string;
      try {
        ulid = readBlockMeta(dir).ulid;
      } catch (err) {
        this.opts.logger.warn("skipping a block without a readable meta.json", { dir, err: (err as Error).message });
        continue;
      }
      const have = this.loaded.find((b) => b.meta.ulid === ulid);
      if (have !== undefined) {
        loadable.push(have);
        continue;
      }
      try {
        const b = Block.open(dir, { index: prepared?.get(ulid) });
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
      throw new ContrailError("corruption", `${this.opts.dir}: ${detail}`, { cause: [...corrupted.values()][0] });
    }
    const keep = loadable.filter((b) => !deletable.has(b.meta.ulid)).sort((a, b) => a.minTime - b.minTime);
    const old = this.loaded;
    this.loaded = keep;
    const toClose = new Set([...old, ...loadable].filter((b) => deletable.has(b.meta.ulid)));
    for (const b of toClose) b.close();
    for (const ulid of deletable) {
      const dir = join(this.opts.dir, ulid);
      if (!exists(dir)) continue;
      this.removeBlockDir(dir);
      this.deletedCount++;
      this.opts.logger.info("deleted block", { block: ulid });
    }
  }

  // Renamed first, so that a crash during the removal leaves no half block under its real name.
  private removeBlockDir(dir: string): void {
    const tmp = dir + TMP_FOR_DELETION_SUFFIX;
    // A leftover of an earlier deletion would stop the rename; it is garbage (and rare), so it goes at once.
    if (exists(tmp)) rmSync(tmp, { recursive: true, force: true });
    renameSync(dir, tmp);
    this.opts.remove([tmp]);
  }

  // The blocks deletable by their meta flag or by time or size retention, judged newest first.
  private blocksToDelete(blocks: readonly Block[]): Set<string> {
    const out = new Set<string>();
    const byEnd = blocks.slice().sort((a, b) => b.maxTime - a.maxTime);
    for (const b of byEnd) if (b.meta.compaction.deletable === true) out.add(b.meta.ulid);
    if (byEnd.length === 0) return out;
    if (this.opts.retentionMs > 0) {
      for (let i = 1; i < byEnd.length; i++) {
        if (byEnd[0].maxTime - byEnd[i].maxTime >= this.opts.retentionMs) {
          for (const b of byEnd.slice(i)) out.add(b.meta.ulid);
          break;
        }
      }
    }
    if (this.opts.maxBytes > 0) {
      let total = this.opts.headBytes();
      for (let i = 0; i < byEnd.length; i++) {
        total += byEnd[i].size;
        if (total > this.opts.maxBytes) {
          for (const b of byEnd.slice(i)) out.add(b.meta.ulid);
          break;
        }
      }
    }
    return out;
  }

  /** The end of the newest block (ms, exclusive), null without blocks: the head accepts nothing older. */
  maxTime(): number | null {
    let max: number | null = null;
    for (const b of this.loaded) {
      if ((b.meta.compaction.hints ?? []).includes("from-out-of-order")) continue;
      if (max === null || b.maxTime > max) max = b.maxTime;
    }
    return max;
  }

  /** Closes every loaded block (their files stay open while queriers still hold them). */
  close(): void {
    for (const b of this.loaded) b.close();
  }
}
