// Reading a database directory that another process may own (a running server) without writing to it or taking
// it over, as Prometheus's DBReadOnly does for promtool. The blocks are opened as they are (reading a block writes
// nothing). The head is rebuilt in memory from a copy of the WAL made in a sandbox directory: replaying may cut
// head chunks into chunk files or cut off a damaged tail, and here that touches only the copy. The WAL holds every
// sample not yet in a block, so the head chunk files are not read. A server compacting meanwhile may delete a
// block or WAL segment between listing and reading it; the whole open is then tried again.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ContrailError } from "../model/errors.ts";
import type { Querier } from "../storage/interface.ts";
import { Block, listBlockDirs } from "./block.ts";
import { readBlockMeta } from "./block-meta.ts";
import { Head } from "./head/head.ts";
import { blockQuerier, mergeQuerier } from "./querier.ts";
import { lastCheckpoint } from "./wal/checkpoint.ts";
import { listSegments, segmentPath } from "./wal/segment.ts";

/** Opens tried before giving up when files keep changing under a compacting server. */
const OPEN_ATTEMPTS = 3;
/** Prefix of the sandbox directories (in the system's temporary directory by default). */
const SANDBOX_PREFIX = "contrail-readonly-";

/** Options of {@link ReadOnlyDb.open}. Times in ms. */
export interface ReadOnlyDbOptions {
  /** The latest time that will be read: the WAL is not read when the blocks reach past it. Default: no bound. */
  readonly maxt?: number;
  /** Where the sandbox directory is made; default the system's temporary directory. */
  readonly sandboxRoot?: string;
}

/** A database directory opened read-only. Close it to free the blocks and delete the sandbox. */
export class ReadOnlyDb {
  /** The blocks in use (parents of compacted blocks left out), sorted by minTime. */
  readonly blocks: readonly Block[];
  /** The head rebuilt from the WAL copy; null when the WAL was not read. */
  readonly head: Head | null;
  /** What replaying the WAL copy reported (a damaged tail cut off), for people. */
  readonly warnings: readonly string[];
  private readonly sandbox: string | null;

  private constructor(blocks: Block[], head: Head | null, sandbox: string | null, warnings: string[]) {
    this.blocks = blocks;
    this.head = head;
    this.sandbox = sandbox;
    this.warnings = warnings;
  }

  /**
   * Opens the database in `dir` read-only. Throws `not_found` when `dir` does not exist and `corruption` for a block
   * or WAL checkpoint that cannot be read (after the retries, when files went missing meanwhile).
   */
  static open(dir: string, opts: ReadOnlyDbOptions = {}): ReadOnlyDb {
    if (!existsSync(dir)) throw new ContrailError("not_found", `no database directory ${dir}`);
    for (let attempt = 1; ; attempt++) {
      const blocksBefore = listBlockDirs(dir).join("\n");
      try {
        return ReadOnlyDb.openOnce(dir, opts);
      } catch (err) {
        // A file gone, or blocks changed meanwhile: a server may have compacted the directory while it was read.
        const moved = isMissingFile(err) || listBlockDirs(dir).join("\n") !== blocksBefore;
        if (!moved || attempt === OPEN_ATTEMPTS) throw err;
      }
    }
  }

  private static openOnce(dir: string, opts: ReadOnlyDbOptions): ReadOnlyDb {
    const blocks = openBlocks(dir);
    const maxBlockTime = blocks.length === 0 ? null : Math.max(...blocks.map((b) => b.maxTime));
    const walDir = join(dir, "wal");
    // Like Prometheus, read the WAL only when the blocks do not cover the range asked for.
    if (!existsSync(walDir) || (maxBlockTime !== null && opts.maxt !== undefined && opts.maxt < maxBlockTime)) {
      return new ReadOnlyDb(blocks, null, null, []);
    }
    const sandbox = mkdtempSync(join(opts.sandboxRoot ?? tmpdir(), SANDBOX_PREFIX));
    const warnings: string[] = [];
    try {
      copyWal(walDir, join(sandbox, "wal"));
      const head = Head.open({
        dir: sandbox,
        minValidTime: maxBlockTime ?? undefined,
        logger: {
          info() {},
          warn: (msg, fields) => warnings.push(`${msg} ${JSON.stringify(fields ?? {})}`),
        },
      });
      return new ReadOnlyDb(blocks, head, sandbox, warnings);
    } catch (err) {
      for (const b of blocks) b.close();
      rmSync(sandbox, { recursive: true, force: true });
      throw err;
    }
  }

  /** A querier over [mint, maxt] ms (inclusive) merging the blocks and the head; valid until `close()`. */
  querier(mint: number, maxt: number): Querier {
    const qs: Querier[] = [];
    for (const b of this.blocks) if (b.minTime <= maxt && mint < b.maxTime) qs.push(blockQuerier(b, mint, maxt));
    const h = this.head;
    if (h !== null && h.minTime <= maxt && mint < h.maxTime) qs.push(blockQuerier(h, mint, maxt));
    return mergeQuerier(qs);
  }

  /** Closes the blocks and the head and deletes the sandbox. */
  close(): void {
    try {
      for (const b of this.blocks) b.close();
      this.head?.close();
    } finally {
      if (this.sandbox !== null) rmSync(this.sandbox, { recursive: true, force: true });
    }
  }
}

// True when `err`, or an error it was caused by, is a file that does not exist.
function isMissingFile(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true;
  }
  return false;
}

// Opens the blocks of `dir` a reload of the database would keep: all but the parents of another block (compaction
// replaced them; the server deletes them at its next reload). A block that cannot be opened is `corruption`.
function openBlocks(dir: string): Block[] {
  const metas = listBlockDirs(dir).map((path) => ({ path, meta: readBlockMeta(path) }));
  const replaced = new Set<string>();
  for (const { meta } of metas) for (const p of meta.compaction.parents ?? []) replaced.add(p.ulid);
  const out: Block[] = [];
  try {
    for (const { path, meta } of metas) if (!replaced.has(meta.ulid)) out.push(Block.open(path));
  } catch (err) {
    for (const b of out) b.close();
    throw err;
  }
  return out.sort((a, b) => a.minTime - b.minTime);
}

// Copies what replaying the WAL in `from` reads into `to`: the newest checkpoint and the segments after it. Reads
// `from` only.
function copyWal(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  const cp = lastCheckpoint(from);
  if (cp !== null) copySegments(cp.dir, join(to, basename(cp.dir)), Number.NEGATIVE_INFINITY);
  copySegments(from, to, cp === null ? Number.NEGATIVE_INFINITY : cp.index);
}

// Copies the segment files of `from` with an index above `after` into `to`.
function copySegments(from: string, to: string, after: number): void {
  mkdirSync(to, { recursive: true });
  for (const index of listSegments(from)) {
    if (index > after) copyFileSync(segmentPath(from, index), segmentPath(to, index));
  }
}
