// The WAL writer: appends opaque records to numbered segment files in 32 KiB pages, splitting a record into
// fragments where it crosses a page and never letting it cross a segment. Byte-compatible with Prometheus's WAL;
// layout and placement rules: docs/format/wal.md.

import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { ContrailError } from "../../model/errors.ts";
import { crc32c } from "../encoding/crc32c.ts";
import type { WalCorruption } from "./reader.ts";
import { repairSegment } from "./repair.ts";
import {
  DEFAULT_SEGMENT_SIZE,
  FRAG_FIRST,
  FRAG_FULL,
  FRAG_LAST,
  FRAG_MIDDLE,
  HEADER_SIZE,
  listSegments,
  PAGE_SIZE,
  removeSegmentsBelow,
  segmentName,
  segmentPath,
} from "./segment.ts";

/**
 * When the writer calls fsync: "segment" when a segment is finished or the WAL closed (Prometheus's behaviour),
 * "always" after every `log()` call as well, "never" leaves it to the OS.
 */
export type FsyncPolicy = "segment" | "always" | "never";

/** Options of `Wal.open`. */
export interface WalOptions {
  /** Target segment size in bytes, a multiple of 32 KiB; default 128 MiB. */
  readonly segmentSize?: number;
  /** Default "segment". */
  readonly fsync?: FsyncPolicy;
  /**
   * Under the "segment" policy, called with a finished segment's path instead of fsyncing it on this thread (the
   * caller syncs it soon, on another thread, as Prometheus syncs finished segments in the background). Closing the
   * WAL still syncs its last segment here.
   */
  readonly syncLater?: (segmentPath: string) => void;
}

/**
 * An open WAL. Every `log()` hands complete pages and the filled part of the current page to the OS (writeSync),
 * so records survive a process crash once `log()` returns; surviving a machine crash depends on the fsync policy.
 * Opening never appends to an existing segment: a new one is started after the last, as Prometheus does. Read and
 * repair the existing segments (WalReader, `repair`) before logging new records.
 */
export class Wal {
  /** The WAL directory. */
  readonly dir: string;
  private readonly segmentSize: number;
  private readonly fsyncPolicy: FsyncPolicy;
  private readonly syncLater: ((segmentPath: string) => void) | undefined;
  private fd = -1;
  private segIndex = -1;
  /** Pages of the active segment already written in full. */
  private donePages = 0;
  private readonly page = new Uint8Array(PAGE_SIZE);
  /** Bytes of the page filled with fragments. */
  private alloc = 0;
  /** Bytes of the page already handed to the OS. */
  private flushed = 0;
  private closed = false;

  private constructor(dir: string, segmentSize: number, fsyncPolicy: FsyncPolicy, syncLater?: (p: string) => void) {
    this.dir = dir;
    this.segmentSize = segmentSize;
    this.fsyncPolicy = fsyncPolicy;
    this.syncLater = syncLater;
  }

  /** Opens (creating if needed) the WAL in `dir` and starts a new segment after the last existing one. */
  static open(dir: string, opts: WalOptions = {}): Wal {
    const size = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
      throw new ContrailError("bad_data", `WAL segment size ${size} is not a positive multiple of ${PAGE_SIZE}`);
    }
    mkdirSync(dir, { recursive: true });
    const w = new Wal(dir, size, opts.fsync ?? "segment", opts.syncLater);
    const segs = listSegments(dir);
    w.startSegment(segs.length === 0 ? 0 : segs[segs.length - 1] + 1);
    return w;
  }

  /** Index of the segment being written. */
  get activeSegment(): number {
    return this.segIndex;
  }

  /** Bytes of the active segment written so far, including the filled part of the current page. */
  get activeOffset(): number {
    return this.donePages * PAGE_SIZE + this.alloc;
  }

  /** Indexes of the segment files on disk, ascending. */
  segments(): number[] {
    return listSegments(this.dir);
  }

  /**
   * Appends the records in order; each is an opaque byte string (may be empty). The bytes are copied: callers may
   * reuse their buffers on return. A record that does not fit in what is left of the active segment starts a new one.
   */
  log(...records: Uint8Array[]): void {
    this.checkOpen();
    for (let i = 0; i < records.length; i++) this.logOne(records[i], i === records.length - 1);
    if (this.fsyncPolicy === "always") fsyncSync(this.fd);
  }

  /** Finishes the active segment (padding its last page) and starts the next; returns the new index. */
  nextSegment(): number {
    this.checkOpen();
    if (this.alloc > 0) this.flushPage(true);
    this.finishSegment(false);
    this.startSegment(this.segIndex + 1);
    return this.segIndex;
  }

  /** Deletes every segment with an index below `firstKeep` (after a checkpoint has absorbed them). */
  truncate(firstKeep: number): void {
    this.checkOpen();
    if (firstKeep > this.segIndex) {
      throw new ContrailError(
        "bad_data",
        `cannot truncate the WAL up to segment ${segmentName(firstKeep)}: segment ${segmentName(this.segIndex)} is being written`,
      );
    }
    removeSegmentsBelow(this.dir, firstKeep);
  }

  /**
   * Repairs the WAL after a reader reported `c` in this WAL's directory: deletes every segment after the damaged one
   * (including the one this writer had started), cuts the damaged segment after its last intact record, and starts
   * writing a new segment after it. Everything from the damaged record on is lost, as in Prometheus.
   */
  repair(c: WalCorruption): void {
    this.checkOpen();
    if (c.segment < 0) throw new ContrailError("bad_data", "the corruption report names no segment");
    if (resolve(c.dir) !== resolve(this.dir)) {
      throw new ContrailError("bad_data", `the damage is in ${c.dir}, not in the WAL ${this.dir}`);
    }
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.resetPage();
    repairSegment(c);
    this.startSegment(c.segment + 1);
  }

  /** Pads and writes the last page, fsyncs (unless the policy is "never") and closes. Idempotent. */
  close(): void {
    if (this.closed) return;
    if (this.alloc > 0) this.flushPage(true);
    this.finishSegment(true);
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new ContrailError("internal", `the WAL in ${this.dir} is closed`);
  }

  private startSegment(index: number): void {
    // O_APPEND like Prometheus: every write lands at the end even if another handle moved the offset.
    this.fd = openSync(segmentPath(this.dir, index), "a");
    this.segIndex = index;
    this.donePages = Math.floor(fstatSync(this.fd).size / PAGE_SIZE);
    this.resetPage();
  }

  // Closes the active segment, synced here unless `syncLater` takes that over (never for the WAL's last segment).
  private finishSegment(closing: boolean): void {
    if (this.fd < 0) return;
    const later = this.syncLater !== undefined && this.fsyncPolicy === "segment" && !closing;
    if (this.fsyncPolicy !== "never" && !later) fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    if (later) this.syncLater?.(segmentPath(this.dir, this.segIndex));
  }

  private resetPage(): void {
    this.page.fill(0);
    this.alloc = 0;
    this.flushed = 0;
  }

  /** True when not even a fragment header fits in the rest of the page. */
  private pageFull(): boolean {
    return PAGE_SIZE - this.alloc < HEADER_SIZE;
  }

  /**
   * Hands the page's unwritten bytes to the OS. When the page is full, or `clear` is set, the rest of the page is
   * written as zeros (readers treat a zero type byte as "rest of page empty") and a new page begins.
   */
  private flushPage(clear: boolean): void {
    const finish = clear || this.pageFull();
    if (finish) this.alloc = PAGE_SIZE;
    writeFully(this.fd, this.page, this.flushed, this.alloc);
    this.flushed = this.alloc;
    if (finish) {
      this.resetPage();
      this.donePages++;
    }
  }

  private logOne(rec: Uint8Array, last: boolean): void {
    if (this.pageFull()) this.flushPage(true);

    // Room left in this segment for record bytes: the rest of this page and every page still to come, each less
    // one fragment header. A record that does not fit goes to a fresh segment, where it may exceed the size.
    const pagesLeft = this.segmentSize / PAGE_SIZE - this.donePages - 1;
    const room = PAGE_SIZE - this.alloc - HEADER_SIZE + (PAGE_SIZE - HEADER_SIZE) * pagesLeft;
    if (rec.length > room) this.nextSegment();

    let off = 0;
    // At least one pass, so an empty record still gets a (full, zero-length) fragment.
    for (let i = 0; i === 0 || off < rec.length; i++) {
      const n = Math.min(rec.length - off, PAGE_SIZE - this.alloc - HEADER_SIZE);
      const end = off + n === rec.length;
      const typ = i === 0 ? (end ? FRAG_FULL : FRAG_FIRST) : end ? FRAG_LAST : FRAG_MIDDLE;
      const crc = crc32c(rec, off, off + n);
      const p = this.page;
      const a = this.alloc;
      p[a] = typ;
      p[a + 1] = n >>> 8;
      p[a + 2] = n & 0xff;
      p[a + 3] = crc >>> 24;
      p[a + 4] = (crc >>> 16) & 0xff;
      p[a + 5] = (crc >>> 8) & 0xff;
      p[a + 6] = crc & 0xff;
      p.set(rec.subarray(off, off + n), a + HEADER_SIZE);
      this.alloc = a + HEADER_SIZE + n;
      if (this.pageFull()) this.flushPage(true);
      off += n;
    }
    // The last record of a batch goes to the OS now, even on a partly filled page.
    if (last && this.alloc > 0) this.flushPage(false);
  }
}

function writeFully(fd: number, buf: Uint8Array, start: number, end: number): void {
  let at = start;
  while (at < end) at += writeSync(fd, buf, at, end - at);
}
