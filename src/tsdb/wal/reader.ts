// Replays WAL records from one or more directories of segments, in segment order. Stops at the first damage and
// describes it as a `WalCorruption`, which `repairWal` (repair.ts) or `Wal.repair` turns into a clean WAL.
// Layout: docs/format/wal.md.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { ContrailError } from "../../model/errors.ts";
import { crc32c } from "../encoding/crc32c.ts";
import { SnappyDecoder } from "../encoding/snappy.ts";
import {
  FLAG_SNAPPY,
  FLAG_ZSTD,
  FRAG_FIRST,
  FRAG_FULL,
  FRAG_LAST,
  FRAG_MIDDLE,
  FRAG_PAGE_TERM,
  FRAG_TYPE_MASK,
  HEADER_SIZE,
  listSegments,
  PAGE_SIZE,
  segmentPath,
} from "./segment.ts";

/** Where a WAL stopped being readable and why. Offsets are bytes from the start of the segment file. */
export interface WalCorruption {
  /** Directory holding the damaged segment (the WAL dir or a checkpoint dir). */
  readonly dir: string;
  /** Index of the damaged segment. */
  readonly segment: number;
  /** Start of the first record that cannot be trusted; every record ending at or before it is intact. */
  readonly offset: number;
  /** What was wrong, for people. */
  readonly reason: string;
}

/** One line describing a corruption, for logs and error messages. */
export function describeCorruption(c: WalCorruption): string {
  return `corruption in WAL segment ${segmentPath(c.dir, c.segment)} at offset ${c.offset}: ${c.reason}`;
}

/** Segments of one directory to read: `first`/`last` are inclusive indexes, open-ended when absent. */
export interface SegmentRange {
  readonly dir: string;
  readonly first?: number;
  readonly last?: number;
}

// Read-ahead of 16 pages plus one page of slack, so a fragment (at most one page) always fits after compaction.
const READ_AHEAD = 16 * PAGE_SIZE;
const WINDOW = READ_AHEAD + PAGE_SIZE;

/**
 * Reads records in order. Usage: `while (r.next()) use(r.record()); if (r.corruption()) ...; r.close()`.
 * Not thread-safe; holds one open file at a time.
 */
export class WalReader {
  private readonly segs: { dir: string; index: number }[] = [];
  private cur = -1;
  private fd = -1;
  private fileSize = 0;
  /** Logical end of the current segment: its size rounded up to a page, the tail read as zeros. */
  private segEnd = 0;
  private pos = 0;

  private readonly win = new Uint8Array(WINDOW);
  private winStart = 0;
  private winLen = 0;

  private asm = new Uint8Array(PAGE_SIZE);
  private asmLen = 0;
  private readonly snappy = new SnappyDecoder();

  private rec: Uint8Array = new Uint8Array(0);
  private recStart = 0;
  private recEnd = 0;
  private err: WalCorruption | null = null;

  /** A reader over the given ranges, read one after another. Throws `corruption` if a range is not consecutive. */
  constructor(ranges: readonly SegmentRange[]) {
    for (const r of ranges) {
      for (const index of listSegments(r.dir)) {
        if (r.first !== undefined && r.first >= 0 && index < r.first) continue;
        if (r.last !== undefined && r.last >= 0 && index > r.last) break;
        this.segs.push({ dir: r.dir, index });
      }
    }
  }

  /** A reader over all segments of `dir` (optionally only `first..last`, inclusive). */
  static open(dir: string, range: { first?: number; last?: number } = {}): WalReader {
    return new WalReader([{ dir, first: range.first, last: range.last }]);
  }

  /** Advances to the next record; false at the end or at damage (then `corruption()` is set). */
  next(): boolean {
    if (this.err !== null) return false;
    let frags = 0;
    let first = 0;
    this.asmLen = 0;
    for (;;) {
      if (this.fd < 0 && !this.openNext()) return false;
      const pos = this.pos;
      if (pos >= this.segEnd) {
        if (frags > 0) {
          return this.fail(first, "last record is torn: the segment ends before its final fragment");
        }
        this.closeSegment();
        continue;
      }
      this.ensure(pos, 1);
      const head = this.win[pos - this.winStart];
      const typ = head & FRAG_TYPE_MASK;

      if (typ === FRAG_PAGE_TERM) {
        // The rest of the page must be zeros; the page may also end right after this byte.
        const rest = PAGE_SIZE - ((pos + 1) % PAGE_SIZE);
        if (rest === PAGE_SIZE) {
          this.pos = pos + 1;
          continue;
        }
        this.ensure(pos + 1, rest);
        const base = pos + 1 - this.winStart;
        for (let i = 0; i < rest; i++) {
          if (this.win[base + i] !== 0) {
            return this.fail(frags > 0 ? first : pos, `unexpected non-zero byte in page padding at ${pos + 1 + i}`);
          }
        }
        this.pos = pos + 1 + rest;
        continue;
      }

      if (pos + HEADER_SIZE > this.segEnd) {
        return this.fail(frags > 0 ? first : pos, "fragment header runs past the end of the segment");
      }
      this.ensure(pos, HEADER_SIZE);
      const h = pos - this.winStart;
      const w = this.win;
      const len = (w[h + 1] << 8) | w[h + 2];
      const crc = ((w[h + 3] << 24) | (w[h + 4] << 16) | (w[h + 5] << 8) | w[h + 6]) >>> 0;
      if (len > PAGE_SIZE - HEADER_SIZE) {
        return this.fail(frags > 0 ? first : pos, `invalid fragment length ${len}`);
      }
      const dataStart = pos + HEADER_SIZE;
      const dataEnd = dataStart + len;
      if (dataEnd > this.fileSize) {
        return this.fail(
          frags > 0 ? first : pos,
          `fragment truncated: it needs bytes up to ${dataEnd}, the file ends at ${this.fileSize}`,
        );
      }
      this.ensure(pos, HEADER_SIZE + len);
      const d = dataStart - this.winStart;
      const got = crc32c(this.win, d, d + len);
      if (got !== crc) {
        return this.fail(
          frags > 0 ? first : pos,
          `checksum mismatch: stored ${hex32(crc)}, computed ${hex32(got)} over ${len} bytes`,
        );
      }
      const order = sequenceError(typ, frags);
      if (order !== null) return this.fail(frags > 0 ? first : pos, order);
      if (frags === 0) first = pos;
      this.pos = dataEnd;

      if (typ === FRAG_FULL && (head & (FLAG_SNAPPY | FLAG_ZSTD)) === 0) {
        // Fast path: a one-fragment uncompressed record is handed out as a view of the read window.
        this.rec = this.win.subarray(d, d + len);
        return this.accept(first, dataEnd);
      }
      this.append(this.win, d, len);
      frags++;
      if (typ === FRAG_FULL || typ === FRAG_LAST) {
        if ((head & FLAG_SNAPPY) !== 0) {
          try {
            this.rec = this.snappy.decode(this.asm, 0, this.asmLen);
          } catch (e) {
            return this.fail(first, (e as Error).message);
          }
        } else if ((head & FLAG_ZSTD) !== 0) {
          throw new ContrailError(
            "bad_data",
            `WAL segment ${segmentPath(this.dir, this.segment)} holds a zstd-compressed record at offset ${first}; ` +
              "zstd WAL compression is not supported: write the WAL uncompressed or with snappy",
          );
        } else {
          this.rec = this.asm.subarray(0, this.asmLen);
        }
        return this.accept(first, dataEnd);
      }
    }
  }

  /** The current record's bytes. A view into reader buffers: valid until the next `next()` call. */
  record(): Uint8Array {
    return this.rec;
  }

  /** Directory of the segment the current record came from. */
  get dir(): string {
    return this.cur >= 0 && this.cur < this.segs.length ? this.segs[this.cur].dir : "";
  }

  /** Index of the segment the current record came from (-1 before the first record). */
  get segment(): number {
    return this.cur >= 0 && this.cur < this.segs.length ? this.segs[this.cur].index : -1;
  }

  /** Offset in its segment of the current record's first fragment header. */
  get recordOffset(): number {
    return this.recStart;
  }

  /** Offset in its segment just past the current record's last fragment. */
  get offset(): number {
    return this.recEnd;
  }

  /** The damage that stopped the reader, or null if it ran to the end (or is still running). */
  corruption(): WalCorruption | null {
    return this.err;
  }

  /**
   * Marks the current record as damaged (e.g. its payload does not decode) and stops the reader. Returns the report,
   * which repair treats like any other: the record and everything after it are dropped.
   */
  rejectRecord(reason: string): WalCorruption {
    this.err = { dir: this.dir, segment: this.segment, offset: this.recStart, reason };
    this.closeSegment();
    return this.err;
  }

  /** Closes the open segment file; idempotent. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.cur = this.segs.length;
  }

  private accept(start: number, end: number): boolean {
    this.recStart = start;
    this.recEnd = end;
    return true;
  }

  private fail(offset: number, reason: string): false {
    this.err = { dir: this.dir, segment: this.segment, offset, reason };
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    return false;
  }

  private append(src: Uint8Array, start: number, len: number): void {
    const need = this.asmLen + len;
    if (need > this.asm.length) {
      const grown = new Uint8Array(Math.max(need, this.asm.length * 2));
      grown.set(this.asm.subarray(0, this.asmLen));
      this.asm = grown;
    }
    this.asm.set(src.subarray(start, start + len), this.asmLen);
    this.asmLen = need;
  }

  private openNext(): boolean {
    if (this.cur + 1 >= this.segs.length) {
      this.cur = this.segs.length;
      return false;
    }
    this.cur++;
    const s = this.segs[this.cur];
    this.fd = openSync(segmentPath(s.dir, s.index), "r");
    this.fileSize = fstatSync(this.fd).size;
    this.segEnd = Math.ceil(this.fileSize / PAGE_SIZE) * PAGE_SIZE;
    this.pos = 0;
    this.winStart = 0;
    this.winLen = 0;
    return true;
  }

  private closeSegment(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Makes bytes [pos, pos+n) of the current segment available in the window; callers keep pos+n <= segEnd. */
  private ensure(pos: number, n: number): void {
    if (pos >= this.winStart && pos + n <= this.winStart + this.winLen) return;
    if (pos >= this.winStart && pos < this.winStart + this.winLen) {
      const keep = this.winStart + this.winLen - pos;
      this.win.copyWithin(0, pos - this.winStart, this.winLen);
      this.winLen = keep;
    } else {
      this.winLen = 0;
    }
    this.winStart = pos;
    const want = Math.min(WINDOW - this.winLen, this.segEnd - (pos + this.winLen));
    let filled = 0;
    while (filled < want) {
      const at = pos + this.winLen + filled;
      if (at >= this.fileSize) {
        // Past the end of a segment whose last page is partial: the rest of the page reads as zeros.
        this.win.fill(0, this.winLen + filled, this.winLen + want);
        filled = want;
        break;
      }
      const n0 = readSync(this.fd, this.win, this.winLen + filled, Math.min(want - filled, this.fileSize - at), at);
      if (n0 === 0) {
        this.fileSize = at;
        continue;
      }
      filled += n0;
    }
    this.winLen += filled;
  }
}

function sequenceError(typ: number, frags: number): string | null {
  switch (typ) {
    case FRAG_FULL:
      return frags === 0 ? null : "unexpected full fragment inside a split record";
    case FRAG_FIRST:
      return frags === 0 ? null : "unexpected first fragment inside a split record";
    case FRAG_MIDDLE:
      return frags > 0 ? null : "unexpected middle fragment without a first fragment";
    case FRAG_LAST:
      return frags > 0 ? null : "unexpected last fragment without a first fragment";
    default:
      return `invalid fragment type ${typ}`;
  }
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
