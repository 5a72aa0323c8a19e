// A disk-backed FIFO queue of opaque records, one per org, for remote-write batches waiting to be sent. Records
// are appended to numbered segment files (`00000001.seg`, …) in the queue's directory and read back in order by
// one consumer, which acknowledges what it has sent; the acknowledged position is kept in the file `position`, so
// after a restart reading resumes there and whatever was read but not acknowledged is read again (at-least-once).
// Segments wholly before the acknowledged position are deleted.
//
// Durability matches the TSDB's WAL: `append` has written the record to the segment file when it returns (it
// survives a crash of the process), segments are fsynced when finished and when the queue closes. Opening checks
// every record's checksum from the acknowledged position on and cuts each segment at its first bad record (a torn
// tail left by a crash in the middle of a write, or damage), saying so through `warn`; it never fails because of
// what it finds in a segment. The queue refuses appends past `maxBytes` of unacknowledged records with a
// `rate_limited` error ("queue full"), which writers turn into back-pressure.
//
// Single-threaded; one DiskQueue per directory (the metrics node is the only writer of its data directory).

import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
  writevSync,
} from "node:fs";
import { join } from "node:path";
import { ContrailError } from "../../../model/errors.ts";
import { MAX_RECORD_PAYLOAD_BYTES, RECORD_HEADER_BYTES, readRecordHead, recordHeader, verifyRecord } from "./record.ts";

/** Default bound of one queue's unacknowledged records, bytes on disk (256 MiB). */
export const DEFAULT_QUEUE_MAX_BYTES = 256 * 1024 * 1024;
/** Default size at which the segment being written is finished and the next one started, bytes (8 MiB). */
export const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
/** What writers refused with "queue full" are told to wait before trying again, ms. */
export const QUEUE_FULL_RETRY_AFTER_MS = 5_000;

const POSITION_FILE = "position";
const SEGMENT_NAME = /^(\d{8})\.seg$/;

function segmentName(seq: number): string {
  return `${String(seq).padStart(8, "0")}.seg`;
}

/** A place in the queue: a segment's sequence number and a byte offset in it (always a record boundary). */
export interface QueuePosition {
  readonly segment: number;
  readonly offset: number;
}

/** Options of {@link DiskQueue.open}. Sizes in bytes. */
export interface DiskQueueOptions {
  /** The queue's directory, created when missing; the queue owns every file in it. */
  readonly dir: string;
  /** Bound of unacknowledged records on disk; default {@link DEFAULT_QUEUE_MAX_BYTES}. */
  readonly maxBytes?: number;
  /** Segment size; default {@link DEFAULT_SEGMENT_BYTES}. */
  readonly segmentBytes?: number;
  /** Names the queue in errors and warnings, e.g. `org "acme"`. */
  readonly name?: string;
  /** Told of records cut or skipped as damaged (never silent); default: ignored. */
  readonly warn?: (line: string) => void;
}

/** Records read by {@link DiskQueue.read}, to be acknowledged with {@link DiskQueue.ack} once handled. */
export interface QueueBatch {
  /** The records' payloads, in order; copies owned by the caller. */
  readonly payloads: readonly Uint8Array[];
  /** Samples the records hold, added up from their headers. */
  readonly samples: number;
  /** Bytes on disk from the batch's start to `end` (headers and skipped damaged records included). */
  readonly bytes: number;
  /** The position after the batch's last record. */
  readonly end: QueuePosition;
}

/** What to read at most in one batch: whole records, at least one. */
export interface ReadLimits {
  readonly maxSamples: number;
  readonly maxBytes: number;
}

interface Segment {
  readonly seq: number;
  /** Bytes of whole, valid records. */
  size: number;
}

/** One org's queue on disk. Made by {@link DiskQueue.open}; {@link DiskQueue.close} when done. */
export class DiskQueue {
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly name: string;
  private readonly warn: (line: string) => void;
  /** Segments from the acknowledged position's on, in order; the last is the one being written. */
  private readonly segments: Segment[];
  private writeFd: number;
  private readFd: { seq: number; fd: number } | null = null;
  private acked: QueuePosition;
  private cursor: QueuePosition;
  private pendingBytes_: number;
  private pendingSamples_: number;
  private unreadSamples_: number;
  private closed = false;

  private constructor(opts: DiskQueueOptions, segments: Segment[], acked: QueuePosition, pending: number[]) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? DEFAULT_QUEUE_MAX_BYTES;
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.name = opts.name ?? opts.dir;
    this.warn = opts.warn ?? (() => {});
    this.segments = segments;
    this.acked = acked;
    this.cursor = acked;
    [this.pendingBytes_, this.pendingSamples_] = pending;
    this.unreadSamples_ = this.pendingSamples_;
    const next = (segments.at(-1)?.seq ?? acked.segment) + 1;
    this.writeFd = this.startSegment(next);
    // With nothing left from before, reading starts with the new segment.
    if (segments.length === 1) {
      this.acked = { segment: next, offset: 0 };
      this.cursor = this.acked;
    }
  }

  /**
   * Opens (creating when missing) the queue in `opts.dir`: drops segments already acknowledged, checks the rest
   * and cuts each at its first damaged record, and starts a new segment for appends. Throws only when the
   * directory cannot be used.
   */
  static open(opts: DiskQueueOptions): DiskQueue {
    mkdirSync(opts.dir, { recursive: true });
    const warn = opts.warn ?? (() => {});
    const name = opts.name ?? opts.dir;
    const seqs = readdirSync(opts.dir)
      .map((f) => SEGMENT_NAME.exec(f))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    let acked = readPosition(opts.dir, warn, name) ?? { segment: seqs[0] ?? 0, offset: 0 };
    const segments: Segment[] = [];
    let bytes = 0;
    let samples = 0;
    for (const seq of seqs) {
      const path = join(opts.dir, segmentName(seq));
      if (seq < acked.segment) {
        rmSync(path, { force: true });
        continue;
      }
      const from = seq === acked.segment ? acked.offset : 0;
      const scan = scanSegment(readFileSync(path), from);
      if (scan.cut !== null) {
        warn(
          `remote-write queue of ${name}: segment ${segmentName(seq)} cut at byte ${scan.end} of ` +
            `${scan.cut.fileBytes} (${scan.cut.why}); ${scan.cut.fileBytes - scan.end} bytes dropped`,
        );
        truncateSync(path, scan.end);
      }
      if (seq === acked.segment && scan.end < acked.offset) acked = { segment: seq, offset: scan.end };
      if (scan.end <= from) {
        // Nothing left to send in it.
        rmSync(path, { force: true });
        continue;
      }
      segments.push({ seq, size: scan.end });
      bytes += scan.end - from;
      samples += scan.samples;
    }
    // Reading starts at the acknowledged position when its segment is still there, else at the next segment's start.
    const first = segments[0];
    if (first !== undefined && first.seq !== acked.segment) acked = { segment: first.seq, offset: 0 };
    return new DiskQueue(opts, segments, acked, [bytes, samples]);
  }

  /** Bytes on disk of records appended and not yet acknowledged (what `maxBytes` bounds). */
  get pendingBytes(): number {
    return this.pendingBytes_;
  }

  /** Samples in records appended and not yet acknowledged. */
  get pendingSamples(): number {
    return this.pendingSamples_;
  }

  /** Samples in records not yet read. */
  get unreadSamples(): number {
    return this.unreadSamples_;
  }

  /**
   * Appends one record holding `samples` samples; it is in the segment file when this returns. Throws
   * `rate_limited` ("queue full") when it would take the unacknowledged bytes past the bound, `too_large` for a
   * payload over {@link MAX_RECORD_PAYLOAD_BYTES}, `unavailable` when the write fails (nothing of it is kept then).
   */
  append(samples: number, payload: Uint8Array): void {
    if (this.closed) throw new ContrailError("unavailable", `remote-write queue of ${this.name} is closed`);
    if (payload.length > MAX_RECORD_PAYLOAD_BYTES) {
      throw new ContrailError(
        "too_large",
        `a batch of ${payload.length} bytes exceeds the queue's record limit of ${MAX_RECORD_PAYLOAD_BYTES}`,
      );
    }
    const total = RECORD_HEADER_BYTES + payload.length;
    if (this.pendingBytes_ + total > this.maxBytes) {
      throw new ContrailError(
        "rate_limited",
        `remote-write queue of ${this.name} is full: ${this.pendingBytes_} bytes waiting for the storage backend, ` +
          `a batch of ${total} more would pass the limit of ${this.maxBytes} bytes; retry later`,
      );
    }
    const seg = this.segments.at(-1)!;
    const parts = [recordHeader(samples, payload), payload];
    try {
      let written = writevSync(this.writeFd, parts);
      if (written < total) {
        const whole = Buffer.concat(parts);
        while (written < total) {
          const n = writeSync(this.writeFd, whole, written, total - written);
          if (n <= 0) throw new Error("the segment file took no more bytes");
          written += n;
        }
      }
    } catch (err) {
      // A partial record would hide every later one from the reader: cut it off before refusing the batch.
      try {
        ftruncateSync(this.writeFd, seg.size);
      } catch {
        // The refusal below reports the write's own error; a failed cut is found by the checksum at the next open.
      }
      throw new ContrailError("unavailable", `remote-write queue of ${this.name}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    seg.size += total;
    this.pendingBytes_ += total;
    this.pendingSamples_ += samples;
    this.unreadSamples_ += samples;
    if (seg.size >= this.segmentBytes) {
      fsyncSync(this.writeFd);
      closeSync(this.writeFd);
      this.writeFd = this.startSegment(seg.seq + 1);
    }
  }

  /**
   * Reads the next whole records after the last one read (not the last acknowledged one), within `limits` but at
   * least one; null when there is nothing new. A damaged record (changed on disk since the queue opened) ends its
   * segment: the rest of it is skipped, with a warning, and counted in `bytes`.
   */
  read(limits: ReadLimits): QueueBatch | null {
    const payloads: Uint8Array[] = [];
    let samples = 0;
    let bytes = 0;
    let payloadBytes = 0;
    for (;;) {
      const seg = this.segmentOf(this.cursor.segment);
      if (seg === undefined) break;
      if (this.cursor.offset >= seg.size) {
        if (seg === this.segments.at(-1)) break;
        this.cursor = { segment: this.segments[this.segments.indexOf(seg) + 1].seq, offset: 0 };
        continue;
      }
      const rec = this.readRecord(seg, this.cursor.offset);
      if (rec === null) {
        this.warn(
          `remote-write queue of ${this.name}: damaged record at byte ${this.cursor.offset} of ` +
            `${segmentName(seg.seq)}; the ${seg.size - this.cursor.offset} bytes after it are skipped`,
        );
        bytes += seg.size - this.cursor.offset;
        this.cursor = { segment: seg.seq, offset: seg.size };
        continue;
      }
      const full = samples + rec.samples > limits.maxSamples || payloadBytes + rec.payload.length > limits.maxBytes;
      if (payloads.length > 0 && full) break;
      payloads.push(rec.payload);
      samples += rec.samples;
      payloadBytes += rec.payload.length;
      bytes += RECORD_HEADER_BYTES + rec.payload.length;
      this.cursor = { segment: seg.seq, offset: this.cursor.offset + RECORD_HEADER_BYTES + rec.payload.length };
    }
    if (bytes === 0) {
      // Nothing unread is left, whatever the count says (damage skipped earlier may have held samples).
      this.unreadSamples_ = 0;
      return null;
    }
    this.unreadSamples_ = Math.max(0, this.unreadSamples_ - samples);
    return { payloads, samples, bytes, end: this.cursor };
  }

  /**
   * Marks everything up to `batch.end` as handled: the position is saved (a restart resumes after it) and segments
   * wholly before it are deleted. Batches are acknowledged in the order they were read.
   */
  ack(batch: QueueBatch): void {
    if (this.closed) return;
    this.acked = batch.end;
    this.pendingBytes_ = Math.max(0, this.pendingBytes_ - batch.bytes);
    this.pendingSamples_ = Math.max(0, this.pendingSamples_ - batch.samples);
    writePosition(this.dir, this.acked);
    while (this.segments.length > 1 && this.segments[0].seq < this.acked.segment) {
      const old = this.segments.shift()!;
      if (this.readFd?.seq === old.seq) this.closeReader();
      rmSync(join(this.dir, segmentName(old.seq)), { force: true });
    }
  }

  /** Flushes the segment being written (fsync) and closes the files; later appends throw `unavailable`. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fsyncSync(this.writeFd);
    } finally {
      closeSync(this.writeFd);
      this.closeReader();
    }
  }

  private startSegment(seq: number): number {
    const fd = openSync(join(this.dir, segmentName(seq)), "a");
    this.segments.push({ seq, size: 0 });
    return fd;
  }

  private segmentOf(seq: number): Segment | undefined {
    return this.segments.find((s) => s.seq === seq);
  }

  private closeReader(): void {
    if (this.readFd === null) return;
    closeSync(this.readFd.fd);
    this.readFd = null;
  }

  // The record at `offset` of `seg`, or null when it is damaged.
  private readRecord(seg: Segment, offset: number): { samples: number; payload: Uint8Array } | null {
    if (this.readFd?.seq !== seg.seq) {
      this.closeReader();
      this.readFd = { seq: seg.seq, fd: openSync(join(this.dir, segmentName(seg.seq)), "r") };
    }
    const fd = this.readFd.fd;
    const header = new Uint8Array(RECORD_HEADER_BYTES);
    if (offset + RECORD_HEADER_BYTES > seg.size || readSync(fd, header, 0, header.length, offset) < header.length) {
      return null;
    }
    const head = readRecordHead(header);
    if (head === null || offset + head.totalBytes > seg.size) return null;
    const whole = new Uint8Array(head.totalBytes);
    whole.set(header);
    const body = head.totalBytes - RECORD_HEADER_BYTES;
    if (readSync(fd, whole, RECORD_HEADER_BYTES, body, offset + RECORD_HEADER_BYTES) < body) return null;
    const samples = verifyRecord(whole, head);
    return samples === null ? null : { samples, payload: whole.subarray(RECORD_HEADER_BYTES) };
  }
}

/** Where a segment's valid records end, from `from`, the samples they hold, and why the rest was cut, if it was. */
interface SegmentScan {
  readonly end: number;
  readonly samples: number;
  readonly cut: { readonly why: string; readonly fileBytes: number } | null;
}

function scanSegment(buf: Uint8Array, from: number): SegmentScan {
  let offset = Math.min(from, buf.length);
  let samples = 0;
  while (offset < buf.length) {
    const rest = buf.subarray(offset);
    if (rest.length < RECORD_HEADER_BYTES)
      return { end: offset, samples, cut: { why: "torn header", fileBytes: buf.length } };
    const head = readRecordHead(rest);
    if (head === null) return { end: offset, samples, cut: { why: "impossible length", fileBytes: buf.length } };
    if (head.totalBytes > rest.length)
      return { end: offset, samples, cut: { why: "torn record", fileBytes: buf.length } };
    const n = verifyRecord(rest, head);
    if (n === null) return { end: offset, samples, cut: { why: "checksum mismatch", fileBytes: buf.length } };
    samples += n;
    offset += head.totalBytes;
  }
  return { end: offset, samples, cut: null };
}

/** The acknowledged position saved in `dir`, or null when there is none or it cannot be read (all is resent then). */
function readPosition(dir: string, warn: (line: string) => void, name: string): QueuePosition | null {
  let text: string;
  try {
    text = readFileSync(join(dir, POSITION_FILE), "utf8");
  } catch {
    return null;
  }
  try {
    const p = JSON.parse(text) as Partial<QueuePosition>;
    if (Number.isSafeInteger(p.segment) && Number.isSafeInteger(p.offset) && p.segment! >= 0 && p.offset! >= 0) {
      return { segment: p.segment!, offset: p.offset! };
    }
  } catch {
    // Reported below, as for a well-formed file with wrong fields.
  }
  warn(`remote-write queue of ${name}: unreadable position file; every queued record will be sent again`);
  return null;
}

/** Saves the position atomically (a new file renamed over the old one), so a crash leaves the old or the new one. */
function writePosition(dir: string, p: QueuePosition): void {
  const tmp = join(dir, `${POSITION_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify({ segment: p.segment, offset: p.offset }));
  renameSync(tmp, join(dir, POSITION_FILE));
}
