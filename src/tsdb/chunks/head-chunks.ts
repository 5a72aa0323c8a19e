// Head chunk files (`chunks_head/000001`, ...): full head chunks written to disk so that memory holds only their
// references and a restart can replay them instead of the WAL; layout in docs/format/head_chunks.md, which
// Prometheus reads. Each record is `series ref (8) | mint (8) | maxt (8) | encoding (1) | uvarint len | data |
// crc32c` with the checksum over everything before it. A reference is `file number << 32 | offset`, where the file
// number is the one in the file's name (the first file is 1).

import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { ContrailError } from "../../model/errors.ts";
import { type Chunk, Encoding, isValidEncoding } from "../chunkenc/chunk.ts";
import { crc32c } from "../encoding/crc32c.ts";
import { Decbuf } from "../encoding/decbuf.ts";
import { Encbuf } from "../encoding/encbuf.ts";
import { PAGE_SIZE, PageCache, readPage } from "./page-cache.ts";
import {
  CHUNKS_FORMAT_V1,
  CRC_SIZE,
  listSegments,
  MAX_CHUNK_LENGTH_FIELD_SIZE,
  packRef,
  refOffset,
  refSegment,
  SEGMENT_HEADER_SIZE,
  segmentHeader,
  segmentName,
  syncDir,
} from "./segment-files.ts";

/** Magic number opening every head chunk file. */
export const MAGIC_HEAD_CHUNKS = 0x0130bc91;
/** Largest head chunk file Prometheus writes: 128 MiB. */
export const MAX_HEAD_CHUNK_FILE_SIZE = 128 * 1024 * 1024;
/** Bit of the encoding byte that marks an out-of-order chunk (head chunk files only). */
export const OUT_OF_ORDER_MASK = 0x80;
/** Fixed bytes before a chunk's length: series ref, mint, maxt, encoding. */
const META_FIXED_SIZE = 8 + 8 + 8 + 1;
/** Largest per-chunk overhead: fixed part, longest length field, checksum. */
const MAX_META_SIZE = META_FIXED_SIZE + MAX_CHUNK_LENGTH_FIELD_SIZE + CRC_SIZE;

/** Reference of a chunk in the head chunk files: `file number * 2^32 + byte offset` (file 000001 is number 1). */
export type HeadChunkRef = number & { readonly __brand: "HeadChunkRef" };

/** Packs a head chunk reference from a file number and a byte offset. */
export function headChunkRef(fileSeq: number, offset: number): HeadChunkRef {
  return packRef(fileSeq, offset) as HeadChunkRef;
}

/** File number of a head chunk reference. */
export function headChunkRefSeq(ref: HeadChunkRef): number {
  return refSegment(ref);
}

/** Byte offset of a head chunk reference. */
export function headChunkRefOffset(ref: HeadChunkRef): number {
  return refOffset(ref);
}

/** What replay learns about one stored chunk without decoding it. Times are inclusive, ms. */
export interface HeadChunkMeta {
  readonly ref: HeadChunkRef;
  readonly seriesRef: number;
  readonly mint: number;
  readonly maxt: number;
  /** From the chunk's 2-byte header. */
  readonly numSamples: number;
  /** Encoding with the out-of-order bit removed. */
  readonly encoding: Encoding;
  readonly outOfOrder: boolean;
}

/** Outcome of `iterate`: on corruption, the number of the first damaged file (see `deleteFrom`). */
export type HeadChunkIterateResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly fileSeq: number; readonly message: string };

interface HeadFile {
  readonly seq: number;
  readonly path: string;
  fd: number;
  /** Bytes on disk (for the open file: flushed bytes). */
  size: number;
}

/**
 * The `chunks_head` directory: appends chunks to the newest file, reads any chunk back by reference, and iterates
 * all chunks for replay. A restart never appends to an old file: the first write opens a new one. Not safe for
 * concurrent use; writes are buffered until `flush()`, a file cut or `close()` (reads see buffered chunks too).
 */
export class HeadChunkFiles {
  private readonly dir: string;
  private readonly maxFileSize: number;
  private readonly writeBufferSize: number;
  private readonly files = new Map<number, HeadFile>();
  /** The file being appended to, or null before the first write after opening or a cut request. */
  private cur: HeadFile | null = null;
  /** Offset in the current file where the next chunk goes (flushed + buffered bytes). */
  private curOffset = 0;
  private cutRequested = false;
  private readonly buf = new Encbuf(64 * 1024);
  private readonly scratch: Scratch = { bytes: new Uint8Array(512) };
  /** Pages of the files read for queries; a page of the file being written is cached once it is complete. */
  private readonly pages = new PageCache();
  private closed = false;

  private constructor(dir: string, maxFileSize: number, writeBufferSize: number) {
    this.dir = dir;
    this.maxFileSize = maxFileSize;
    this.writeBufferSize = writeBufferSize;
  }

  /**
   * Opens (creating if needed) the head chunk directory `dir`. A last file without a valid magic number (a crash
   * while cutting it) is deleted; other bad headers or gaps in the numbering throw `corruption`.
   * `maxFileSize` defaults to 128 MiB, `writeBufferSize` (bytes buffered before writing) to 4 MiB.
   */
  static open(opts: { dir: string; maxFileSize?: number; writeBufferSize?: number }): HeadChunkFiles {
    mkdirSync(opts.dir, { recursive: true });
    const h = new HeadChunkFiles(
      opts.dir,
      opts.maxFileSize ?? MAX_HEAD_CHUNK_FILE_SIZE,
      opts.writeBufferSize ?? 4 * 1024 * 1024,
    );
    const segs = listSegments(opts.dir);
    const last = segs[segs.length - 1];
    if (last !== undefined && last.seq > 0 && !hasMagic(last.path)) {
      rmSync(last.path, { force: true });
      segs.pop();
    }
    try {
      for (let i = 0; i < segs.length; i++) {
        const { seq, path } = segs[i];
        if (i > 0 && seq !== segs[i - 1].seq + 1) {
          throw new ContrailError("corruption", `head chunk files are not sequential: ${segs[i - 1].path}, ${path}`);
        }
        const fd = openSync(path, "r");
        const size = fstatSync(fd).size;
        h.files.set(seq, { seq, path, fd, size });
        checkHeader(fd, size, path);
      }
    } catch (e) {
      h.closeFiles();
      throw e;
    }
    return h;
  }

  /** Numbers of the files present, ascending. */
  fileSeqs(): number[] {
    return [...this.files.keys()].sort((a, b) => a - b);
  }

  /** Number of the file being written, 0 if none is open. */
  get currentSeq(): number {
    return this.cur?.seq ?? 0;
  }

  /**
   * Appends a chunk of series `seriesRef` covering [mint, maxt] ms and returns its reference. The chunk's bytes are
   * copied; `outOfOrder` sets the encoding's out-of-order bit.
   */
  write(opts: { seriesRef: number; mint: number; maxt: number; chunk: Chunk; outOfOrder?: boolean }): HeadChunkRef {
    if (this.closed) throw new ContrailError("internal", "head chunk files are closed");
    const data = opts.chunk.data;
    const size = META_FIXED_SIZE + uvarintSize(data.length) + data.length + CRC_SIZE;
    if (this.cur === null || this.cutRequested || this.curOffset + size > this.maxFileSize) this.cut();
    const cur = this.cur as HeadFile;
    const ref = headChunkRef(cur.seq, this.curOffset);
    if (
      data.length + MAX_META_SIZE < this.writeBufferSize &&
      this.buf.length + data.length + MAX_META_SIZE > this.writeBufferSize
    ) {
      this.flush();
    }
    const buf = this.buf;
    const start = buf.length;
    buf.putBE64(opts.seriesRef);
    buf.putBE64Int(opts.mint);
    buf.putBE64Int(opts.maxt);
    buf.putByte(opts.outOfOrder ? opts.chunk.encoding | OUT_OF_ORDER_MASK : opts.chunk.encoding);
    buf.putUvarint(data.length);
    buf.putBytes(data);
    buf.putBE32(crc32c(buf.get(), start, buf.length));
    this.curOffset += size;
    if (buf.length >= this.writeBufferSize) this.flush();
    return ref;
  }

  /** Makes the next `write` start a new file (e.g. before truncating older ones). */
  cutNewFile(): void {
    this.cutRequested = true;
  }

  /** Writes buffered chunks to the current file (no fsync). */
  flush(): void {
    const cur = this.cur;
    if (cur === null || this.buf.length === 0) return;
    const b = this.buf.get();
    let off = 0;
    while (off < b.length) off += writeSync(cur.fd, b, off, b.length - off, cur.size + off);
    cur.size += b.length;
    this.buf.reset();
  }

  /** Finishes the current file (flush + fsync; it stays open for reads) and starts the next one. */
  private cut(): void {
    this.finishCurrent();
    let last = 0;
    for (const seq of this.files.keys()) if (seq > last) last = seq;
    const seq = last + 1;
    const path = join(this.dir, segmentName(seq));
    const fd = openSync(path, "w+");
    const header = segmentHeader(MAGIC_HEAD_CHUNKS);
    writeSync(fd, header, 0, header.length, 0);
    syncDir(this.dir);
    const f: HeadFile = { seq, path, fd, size: SEGMENT_HEADER_SIZE };
    this.files.set(seq, f);
    this.cur = f;
    this.curOffset = SEGMENT_HEADER_SIZE;
    this.cutRequested = false;
  }

  private finishCurrent(): void {
    if (this.cur === null) return;
    this.flush();
    fsyncSync(this.cur.fd);
  }

  /**
   * The chunk at `ref`; throws `corruption` if missing or damaged. Its data may be a view into a cached page of the
   * file, handed out again later: it must not be modified (it stays valid as long as it is referenced).
   */
  chunk(ref: HeadChunkRef): Chunk {
    const seq = refSegment(ref);
    const start = refOffset(ref);
    const f = this.files.get(seq);
    if (f === undefined) throw new ContrailError("corruption", `head chunk file ${segmentName(seq)} does not exist`);
    if (f === this.cur && start >= f.size) {
      // Still in the write buffer.
      const bytes = this.buf.get();
      const r = parseRecord(bytes, start - f.size, bytes.length);
      if (typeof r === "string") throw new ContrailError("corruption", `${f.path}: chunk at ${start}: ${r}`);
      return { encoding: r.encoding, data: bytes.slice(r.dataStart, r.dataEnd) };
    }
    return this.chunkFromPage(f, start) ?? readChunkAt(f, start, this.scratch);
  }

  /**
   * How many samples the float (XOR) chunk at `ref` holds, read from its header where the bytes are in memory (the
   * write buffer, or a cached page) without verifying or copying the chunk: a query's estimate of its work. -1 when
   * its bytes are not at hand, or it is not a float chunk; read it with `chunk` then (which verifies it).
   */
  sampleCount(ref: HeadChunkRef): number {
    const seq = refSegment(ref);
    const start = refOffset(ref);
    const f = this.files.get(seq);
    if (f === undefined) return -1;
    if (f === this.cur && start >= f.size) {
      const bytes = this.buf.get();
      return recordSampleCount(bytes, start - f.size, bytes.length);
    }
    const pageNo = Math.floor(start / PAGE_SIZE);
    const cached = this.pages.get(f.seq, pageNo);
    return cached === undefined ? -1 : recordSampleCount(cached.bytes, start - pageNo * PAGE_SIZE, cached.bytes.length);
  }

  // The chunk at `start` of `f` from its cached page, verified once. Null when that page is not complete yet (the
  // tail of the file being written) or the record does not lie within it, or is damaged: then it is read on its
  // own, which reports the damage.
  private chunkFromPage(f: HeadFile, start: number): Chunk | null {
    const pageNo = Math.floor(start / PAGE_SIZE);
    if (f === this.cur && (pageNo + 1) * PAGE_SIZE > f.size) return null;
    const cached =
      this.pages.get(f.seq, pageNo) ?? this.pages.put(f.seq, pageNo, readPage(f.fd, f.path, f.size, pageNo));
    const off = start - pageNo * PAGE_SIZE;
    const known = cached.chunks.get(off);
    if (known !== undefined) return known;
    const r = parseRecord(cached.bytes, off, cached.bytes.length);
    if (typeof r === "string") return null;
    const chunk = { encoding: r.encoding, data: cached.bytes.subarray(r.dataStart, r.dataEnd) };
    cached.chunks.set(off, chunk);
    return chunk;
  }

  /**
   * Calls `fn` for every chunk of every file, oldest first (flushing buffered writes first). Stops at the zero
   * padding a preallocated file may end with. Returns where the first corruption is instead of throwing, so that
   * the caller can `deleteFrom` that file and fall back to the WAL; errors thrown by `fn` propagate.
   */
  iterate(fn: (meta: HeadChunkMeta) => void): HeadChunkIterateResult {
    this.flush();
    for (const seq of this.fileSeqs()) {
      const f = this.files.get(seq) as HeadFile;
      const b = f === this.cur ? readAll(f) : readFileSync(f.path);
      const fileEnd = f === this.cur ? f.size : b.length;
      let idx = SEGMENT_HEADER_SIZE;
      while (idx < fileEnd) {
        if (fileEnd - idx < MAX_META_SIZE) {
          if (allZero(b, idx, fileEnd)) break;
          return { ok: false, fileSeq: seq, message: `${f.path}: truncated chunk header at ${idx}` };
        }
        const d = new Decbuf(b, idx, fileEnd);
        const seriesRef = d.be64();
        const mint = d.be64Int();
        const maxt = d.be64Int();
        if (seriesRef === 0 && mint === 0 && maxt === 0 && d.err() === null) break;
        const r = parseRecord(b, idx, fileEnd);
        if (typeof r === "string") return { ok: false, fileSeq: seq, message: `${f.path}: chunk at ${idx}: ${r}` };
        fn({
          ref: headChunkRef(seq, idx),
          seriesRef: r.seriesRef,
          mint: r.mint,
          maxt: r.maxt,
          numSamples: r.dataEnd - r.dataStart >= 2 ? (b[r.dataStart] << 8) | b[r.dataStart + 1] : 0,
          encoding: r.encoding,
          outOfOrder: r.outOfOrder,
        });
        idx = r.end;
      }
    }
    return { ok: true };
  }

  /** Deletes the files numbered below `fileSeq`, never the one being written. */
  truncate(fileSeq: number): void {
    for (const path of this.release(fileSeq)) rmSync(path, { force: true });
    syncDir(this.dir);
  }

  /**
   * Forgets the files numbered below `fileSeq` (never the one being written) and closes them, leaving their deletion
   * to the caller: returns their paths. Nothing references their chunks any more, and a restart before they are
   * deleted only replays chunks that the blocks already hold (replay skips them).
   */
  release(fileSeq: number): string[] {
    if (this.cur !== null && this.curOffset > SEGMENT_HEADER_SIZE) this.cutRequested = true;
    const out: string[] = [];
    for (const seq of this.fileSeqs()) {
      const f = this.files.get(seq) as HeadFile;
      if (seq >= fileSeq || f === this.cur) break;
      closeSync(f.fd);
      this.files.delete(seq);
      this.pages.dropFile(seq);
      out.push(f.path);
    }
    return out;
  }

  /** Deletes file `fileSeq` and every later one (after `iterate` reported corruption there). */
  deleteFrom(fileSeq: number): void {
    for (const seq of this.fileSeqs()) {
      if (seq < fileSeq) continue;
      if (this.files.get(seq) === this.cur) {
        this.buf.reset();
        this.cur = null;
      }
      this.remove(seq);
    }
    syncDir(this.dir);
  }

  private remove(seq: number): void {
    const f = this.files.get(seq) as HeadFile;
    closeSync(f.fd);
    this.files.delete(seq);
    this.pages.dropFile(seq);
    rmSync(f.path, { force: true });
  }

  /** Flushes and fsyncs the current file and closes all files. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.finishCurrent();
    this.closeFiles();
    this.cur = null;
    this.closed = true;
  }

  private closeFiles(): void {
    for (const f of this.files.values()) closeSync(f.fd);
    this.files.clear();
    this.pages.clear();
  }
}

/**
 * Reads chunks from the head chunk files of a directory by reference, without writing or repairing anything: what
 * the maintenance worker uses while the head keeps appending to the newest file. The chunks it reads must have been
 * flushed (`HeadChunkFiles.flush`) before. Files are opened on first use and closed by `close()`.
 */
export class HeadChunkFileReader {
  private readonly dir: string;
  private readonly files = new Map<number, { fd: number; size: number; path: string }>();
  private readonly scratch: Scratch = { bytes: new Uint8Array(512) };

  /** A reader of the head chunk files in `dir`. */
  constructor(dir: string) {
    this.dir = dir;
  }

  /** The chunk at `ref` (data owned by the caller); throws `corruption` when missing or damaged. */
  chunk(ref: HeadChunkRef): Chunk {
    const seq = refSegment(ref);
    let f = this.files.get(seq);
    if (f === undefined) {
      const path = join(this.dir, segmentName(seq));
      let fd: number;
      try {
        fd = openSync(path, "r");
      } catch (err) {
        throw new ContrailError("corruption", `head chunk file ${path} cannot be opened: ${(err as Error).message}`);
      }
      f = { fd, size: fstatSync(fd).size, path };
      this.files.set(seq, f);
    }
    const start = refOffset(ref);
    // The newest file grows while the head appends: look again when a chunk seems to lie past its end.
    if (start + MAX_META_SIZE > f.size) f.size = fstatSync(f.fd).size;
    return readChunkAt(f, start, this.scratch);
  }

  /** Closes the files opened so far. */
  close(): void {
    for (const f of this.files.values()) closeSync(f.fd);
    this.files.clear();
  }
}

/** A read buffer that grows as needed, shared by the reads of one reader. */
interface Scratch {
  bytes: Uint8Array;
}

/** Reads and checks the chunk record at byte `start` of the open file `f` (of `f.size` bytes). */
function readChunkAt(f: { fd: number; size: number; path: string }, start: number, scratch: Scratch): Chunk {
  let bytes = scratch.bytes;
  let end = Math.max(0, Math.min(f.size - start, bytes.length));
  end = readSync(f.fd, bytes, 0, end, start);
  if (end >= META_FIXED_SIZE + 1) {
    const need = chunkRecordSize(bytes, 0, end);
    if (need > end && start + need <= f.size) {
      if (need > bytes.length) scratch.bytes = new Uint8Array(Math.max(need, bytes.length * 2));
      bytes = scratch.bytes;
      end = readSync(f.fd, bytes, 0, need, start);
    }
  }
  const r = parseRecord(bytes, 0, end);
  if (typeof r === "string") throw new ContrailError("corruption", `${f.path}: chunk at ${start}: ${r}`);
  return { encoding: r.encoding, data: bytes.slice(r.dataStart, r.dataEnd) };
}

/** The sample count in the header of the float chunk of the record at `b[at, end)`; -1 when not a float chunk or cut. */
function recordSampleCount(b: Uint8Array, at: number, end: number): number {
  const enc = at + META_FIXED_SIZE - 1;
  if (enc >= end || (b[enc] & ~OUT_OF_ORDER_MASK) !== Encoding.xor) return -1;
  let data = enc + 1;
  while (data < end && b[data] >= 0x80) data++;
  data++;
  return data + 1 < end ? (b[data] << 8) | b[data + 1] : -1;
}

interface ParsedRecord {
  readonly seriesRef: number;
  readonly mint: number;
  readonly maxt: number;
  readonly encoding: Encoding;
  readonly outOfOrder: boolean;
  readonly dataStart: number;
  readonly dataEnd: number;
  /** Offset just past the checksum. */
  readonly end: number;
}

/** Parses and verifies the record at `b[at, end)`; returns a reason string when it is damaged. */
function parseRecord(b: Uint8Array, at: number, end: number): ParsedRecord | string {
  const d = new Decbuf(b, at, end);
  const seriesRef = d.be64();
  const mint = d.be64Int();
  const maxt = d.be64Int();
  const encByte = d.byte();
  const len = d.uvarint();
  const dataStart = d.offset;
  d.skip(len);
  const dataEnd = d.offset;
  const sum = d.be32();
  if (d.err() !== null) return `record runs past the end of the file (${d.err()})`;
  if (crc32c(b, at, dataEnd) !== sum) return "checksum mismatch";
  const encoding = encByte & ~OUT_OF_ORDER_MASK;
  if (!isValidEncoding(encoding)) return `unknown encoding ${encByte}`;
  return {
    seriesRef,
    mint,
    maxt,
    encoding,
    outOfOrder: (encByte & OUT_OF_ORDER_MASK) !== 0,
    dataStart,
    dataEnd,
    end: d.offset,
  };
}

/** Total size of the record starting at `b[at]` from its length field, or `end - at` if that is not readable. */
function chunkRecordSize(b: Uint8Array, at: number, end: number): number {
  const d = new Decbuf(b, at + META_FIXED_SIZE, end);
  const len = d.uvarint();
  if (d.err() !== null) return end - at;
  return d.offset - at + len + CRC_SIZE;
}

/** Bytes of the uvarint of `n`. */
function uvarintSize(n: number): number {
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}

function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function readAll(f: HeadFile): Uint8Array {
  const b = new Uint8Array(f.size);
  let off = 0;
  while (off < f.size) {
    const n = readSync(f.fd, b, off, f.size - off, off);
    if (n === 0) break;
    off += n;
  }
  return b;
}

/** True when the file at `path` starts with a non-zero 4-byte magic number. */
function hasMagic(path: string): boolean {
  if (statSync(path).size < 4) return false;
  const fd = openSync(path, "r");
  try {
    const h = new Uint8Array(4);
    readSync(fd, h, 0, 4, 0);
    return (h[0] | h[1] | h[2] | h[3]) !== 0;
  } finally {
    closeSync(fd);
  }
}

function checkHeader(fd: number, size: number, path: string): void {
  const h = new Uint8Array(SEGMENT_HEADER_SIZE);
  if (size < SEGMENT_HEADER_SIZE || readSync(fd, h, 0, SEGMENT_HEADER_SIZE, 0) < SEGMENT_HEADER_SIZE) {
    throw new ContrailError("corruption", `${path}: invalid head chunk file header`);
  }
  const magic = new DataView(h.buffer).getUint32(0);
  if (magic !== MAGIC_HEAD_CHUNKS) {
    throw new ContrailError("corruption", `${path}: invalid magic number ${magic.toString(16)}`);
  }
  if (h[4] !== CHUNKS_FORMAT_V1) throw new ContrailError("corruption", `${path}: invalid chunk format version ${h[4]}`);
}
