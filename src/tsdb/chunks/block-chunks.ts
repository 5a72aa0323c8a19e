// Chunk segment files of a block (`<block>/chunks/000001`, ...): the layout of docs/format/chunks.md, which
// Prometheus reads. Each segment is a header followed by chunks `uvarint len | encoding | data | crc32c`, where the
// checksum covers the encoding byte and the data. The index refers to a chunk by `segment index << 32 | offset`,
// the segment index counting from 0 for the first file.

import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ContrailError } from "../../model/errors.ts";
import { type Chunk, type Encoding, isValidEncoding } from "../chunkenc/chunk.ts";
import { crc32c } from "../encoding/crc32c.ts";
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

/** Magic number opening every block chunk segment. */
export const MAGIC_CHUNKS = 0x85bd40dd;
/** Default (and Prometheus's) largest segment size: 512 MiB. */
export const DEFAULT_CHUNK_SEGMENT_SIZE = 512 * 1024 * 1024;

/** Reference of a chunk in a block: `segment index * 2^32 + byte offset` (segment index 0 = file 000001). */
export type ChunkRef = number & { readonly __brand: "ChunkRef" };

/** Packs a block chunk reference from a 0-based segment index and a byte offset. */
export function chunkRef(segmentIndex: number, offset: number): ChunkRef {
  return packRef(segmentIndex, offset) as ChunkRef;
}

/** Bytes buffered before they are written to the file. */
const FLUSH_THRESHOLD = 1 << 20;

/**
 * Writes the chunk segments of one new block directory. A new segment starts when the next chunk would make the
 * current one exceed the segment size (as Prometheus's writer does). `close()` flushes, fsyncs and trims the last
 * file and must be called.
 */
export class ChunkWriter {
  private readonly dir: string;
  private readonly segmentSize: number;
  private fd = -1;
  /** 0-based index of the open segment among the files this writer created. */
  private seq = -1;
  private nextFileNo = 1;
  /** Bytes of the open segment, written and buffered. */
  private n = 0;
  private readonly buf = new Encbuf(64 * 1024);
  private closed = false;

  /** `dir`: the block's `chunks` directory (created if missing). `segmentSize` in bytes, 512 MiB by default. */
  constructor(opts: { dir: string; segmentSize?: number }) {
    this.dir = opts.dir;
    this.segmentSize = opts.segmentSize && opts.segmentSize > 0 ? opts.segmentSize : DEFAULT_CHUNK_SEGMENT_SIZE;
    mkdirSync(this.dir, { recursive: true });
    const existing = listSegments(this.dir);
    if (existing.length > 0) this.nextFileNo = existing[existing.length - 1].seq + 1;
  }

  /**
   * Appends `chunks` (typically all chunks of one series) and returns their references, in order. Chunk data is
   * copied into the writer's buffer, so the caller may reuse it afterwards.
   */
  writeChunks(chunks: readonly Chunk[]): ChunkRef[] {
    if (this.closed) throw new ContrailError("internal", "chunk writer is closed");
    const refs: ChunkRef[] = [];
    if (chunks.length === 0) return refs;
    // Split into batches that each fit one segment; the first batch may continue the open segment.
    const batchStarts = [0];
    let batchSize = 0;
    let firstBatch = true;
    for (let i = 0; i < chunks.length; i++) {
      const chkSize = MAX_CHUNK_LENGTH_FIELD_SIZE + 1 + chunks[i].data.length + CRC_SIZE;
      batchSize += chkSize;
      let cutNew = i !== 0 && batchSize + SEGMENT_HEADER_SIZE > this.segmentSize;
      if (firstBatch && this.n > SEGMENT_HEADER_SIZE) {
        cutNew = batchSize + this.n > this.segmentSize;
        if (cutNew) firstBatch = false;
      }
      if (cutNew) {
        batchStarts.push(i);
        batchSize = chkSize;
      }
    }
    if (this.fd < 0) this.cut();
    for (let b = 0; b < batchStarts.length; b++) {
      if (b > 0) this.cut();
      const end = b + 1 < batchStarts.length ? batchStarts[b + 1] : chunks.length;
      for (let i = batchStarts[b]; i < end; i++) refs.push(this.writeChunk(chunks[i].encoding, chunks[i].data));
    }
    return refs;
  }

  private writeChunk(encoding: Encoding, data: Uint8Array): ChunkRef {
    const ref = chunkRef(this.seq, this.n);
    const buf = this.buf;
    const start = buf.length;
    buf.putUvarint(data.length);
    const encAt = buf.length;
    buf.putByte(encoding);
    buf.putBytes(data);
    const bytes = buf.get();
    buf.putBE32(crc32c(bytes, encAt, bytes.length));
    this.n += buf.length - start;
    if (buf.length >= FLUSH_THRESHOLD) this.flush();
    return ref;
  }

  private flush(): void {
    const b = this.buf.get();
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    this.buf.reset();
  }

  /** Finishes the open segment: flush, fsync, trim, close. */
  private finalize(): void {
    if (this.fd < 0) return;
    this.flush();
    ftruncateSync(this.fd, this.n);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }

  /** Starts the next segment file. */
  private cut(): void {
    this.finalize();
    const path = join(this.dir, segmentName(this.nextFileNo++));
    this.fd = openSync(path, "w");
    syncDir(this.dir);
    this.seq++;
    this.buf.putBytes(segmentHeader(MAGIC_CHUNKS));
    this.n = SEGMENT_HEADER_SIZE;
  }

  /** Flushes and fsyncs the last segment and closes the writer. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.finalize();
    syncDir(this.dir);
    this.closed = true;
  }
}

interface Segment {
  readonly path: string;
  readonly fd: number;
  readonly size: number;
}

/**
 * Reads chunks of a block by reference. Segment files are read in pages of 256 KiB kept in a small LRU cache, so
 * reading the chunks of many series (which lie next to each other, in series order) costs a few reads instead of
 * one system call per chunk, and a chunk read again (by the next query) is neither parsed nor checksummed again.
 * Chunk data it returns is a view into a page, possibly handed out before: it must not be modified and stays valid
 * as long as it is referenced (pages are never reused). `close()` releases the files.
 */
export class ChunkReader {
  private readonly segments: Segment[];
  private scratch = new Uint8Array(512);
  private readonly pages = new PageCache();
  /** Total size of all segment files, bytes. */
  readonly size: number;

  private constructor(segments: Segment[]) {
    this.segments = segments;
    this.size = segments.reduce((s, x) => s + x.size, 0);
  }

  /** Opens the segments of the `chunks` directory `dir`, checking each header; throws `corruption` on a bad one. */
  static open(dir: string): ChunkReader {
    const segments: Segment[] = [];
    try {
      for (const { path } of listSegments(dir)) {
        const fd = openSync(path, "r");
        const size = fstatSync(fd).size;
        segments.push({ path, fd, size });
        const h = new Uint8Array(SEGMENT_HEADER_SIZE);
        const got = size >= SEGMENT_HEADER_SIZE ? readSync(fd, h, 0, SEGMENT_HEADER_SIZE, 0) : 0;
        if (got < SEGMENT_HEADER_SIZE) throw new ContrailError("corruption", `${path}: invalid segment header size`);
        const magic = new DataView(h.buffer).getUint32(0);
        if (magic !== MAGIC_CHUNKS) {
          throw new ContrailError("corruption", `${path}: invalid magic number ${magic.toString(16)}`);
        }
        if (h[4] !== CHUNKS_FORMAT_V1) throw new ContrailError("corruption", `${path}: invalid chunk format version`);
      }
    } catch (e) {
      for (const s of segments) closeSync(s.fd);
      throw e;
    }
    return new ChunkReader(segments);
  }

  /** Number of segment files. */
  get numSegments(): number {
    return this.segments.length;
  }

  /** The chunk at `ref`, its checksum verified; throws `corruption` if it is out of range or damaged. */
  chunk(ref: ChunkRef): Chunk {
    const segIdx = refSegment(ref);
    const start = refOffset(ref);
    const seg = this.segments[segIdx];
    if (seg === undefined) throw new ContrailError("corruption", `chunk segment index ${segIdx} out of range`);
    if (start + MAX_CHUNK_LENGTH_FIELD_SIZE > seg.size) {
      throw new ContrailError("corruption", `${seg.path}: chunk length field at ${start} past the end of the segment`);
    }
    const fromPage = this.chunkFromPage(segIdx, seg, start);
    if (fromPage !== null) return fromPage;
    let got = readSync(seg.fd, this.scratch, 0, Math.min(this.scratch.length, seg.size - start), start);
    // Chunk length: a uvarint of at most 5 bytes.
    let len = 0;
    let n = 0;
    for (let mul = 1; n < MAX_CHUNK_LENGTH_FIELD_SIZE; mul *= 128) {
      const b = this.scratch[n++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      if (n === MAX_CHUNK_LENGTH_FIELD_SIZE) throw new ContrailError("corruption", `${seg.path}: bad chunk length`);
    }
    const total = n + 1 + len + CRC_SIZE;
    if (start + total > seg.size) {
      throw new ContrailError("corruption", `${seg.path}: chunk at ${start} runs past the end of the segment`);
    }
    if (total > got) {
      if (total > this.scratch.length) this.scratch = new Uint8Array(Math.max(total, this.scratch.length * 2));
      got = readSync(seg.fd, this.scratch, 0, total, start);
      if (got < total) throw new ContrailError("corruption", `${seg.path}: short read of chunk at ${start}`);
    }
    const s = this.scratch;
    const dataEnd = n + 1 + len;
    const want = ((s[dataEnd] << 24) | (s[dataEnd + 1] << 16) | (s[dataEnd + 2] << 8) | s[dataEnd + 3]) >>> 0;
    if (crc32c(s, n, dataEnd) !== want) {
      throw new ContrailError("corruption", `${seg.path}: checksum mismatch in chunk at ${start}`);
    }
    const encoding = s[n];
    if (!isValidEncoding(encoding)) {
      throw new ContrailError("corruption", `${seg.path}: unknown chunk encoding ${encoding} at ${start}`);
    }
    return { encoding, data: s.slice(n + 1, dataEnd) };
  }

  // The chunk at `start` read from its cached page, or null when it does not lie within one page (then it is read
  // on its own). Errors are those of the direct read.
  private chunkFromPage(segIdx: number, seg: Segment, start: number): Chunk | null {
    const pageNo = Math.floor(start / PAGE_SIZE);
    const cached =
      this.pages.get(segIdx, pageNo) ?? this.pages.put(segIdx, pageNo, readPage(seg.fd, seg.path, seg.size, pageNo));
    const off = start - pageNo * PAGE_SIZE;
    // A chunk read before from this page was verified then; the page's bytes never change.
    const known = cached.chunks.get(off);
    if (known !== undefined) return known;
    const page = cached.bytes;
    if (off + MAX_CHUNK_LENGTH_FIELD_SIZE > page.length) return null;
    // Chunk length: a uvarint of at most 5 bytes.
    let len = 0;
    let n = 0;
    for (let mul = 1; n < MAX_CHUNK_LENGTH_FIELD_SIZE; mul *= 128) {
      const b = page[off + n++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      if (n === MAX_CHUNK_LENGTH_FIELD_SIZE) throw new ContrailError("corruption", `${seg.path}: bad chunk length`);
    }
    const dataEnd = off + n + 1 + len;
    if (dataEnd + CRC_SIZE > page.length) return null;
    const want =
      ((page[dataEnd] << 24) | (page[dataEnd + 1] << 16) | (page[dataEnd + 2] << 8) | page[dataEnd + 3]) >>> 0;
    if (crc32c(page, off + n, dataEnd) !== want) {
      throw new ContrailError("corruption", `${seg.path}: checksum mismatch in chunk at ${start}`);
    }
    const encoding = page[off + n];
    if (!isValidEncoding(encoding)) {
      throw new ContrailError("corruption", `${seg.path}: unknown chunk encoding ${encoding} at ${start}`);
    }
    const chunk = { encoding, data: page.subarray(off + n + 1, dataEnd) };
    cached.chunks.set(off, chunk);
    return chunk;
  }

  /** Closes the segment files and drops the cached pages. Idempotent. */
  close(): void {
    for (const s of this.segments) closeSync(s.fd);
    this.segments.length = 0;
    this.pages.clear();
  }
}
