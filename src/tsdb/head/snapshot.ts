// A snapshot of the head's range [mint, maxt] in plain bytes, so another thread (the maintenance worker) can write
// it as a block while the head keeps accepting appends. The main thread encodes it in slices of bounded time
// (`HeadRangeSnapshot.step`); the worker decodes it into a BlockReader (`openHeadSnapshot`) that `writeBlock` reads
// exactly as it would read the head itself, so the block is the same byte for byte.
//
// Why slices are safe: the range lies wholly before the head's appendable window (a compactable head spans more
// than 1.5 chunk ranges, so `appendableMinValidTime` is past the range's end), hence appends made between slices
// never touch it; chunk ids and head chunk file references are stable, and only truncation (which the database
// runs after the block is written, never during a snapshot) removes series or chunks. Series created between slices
// may or may not be included: they hold no sample in the range either way.
//
// Encoding, per series: uvarint label count, then name and value strings (uvarint length + UTF-8); uvarint chunk
// count, then per chunk varint mint, varint maxt (ms, inclusive, narrowed to the range) and a kind byte: FILE_REF
// with the uvarint head chunk reference (the worker reads the chunk from `chunks_head/`), or INLINE with the
// encoding byte and the uvarint-prefixed chunk bytes (the open chunk, or one that had to be trimmed); uvarint tombstone count, then varint
// mint and maxt of each deleted interval. Series follow each other with no separator; parts end between series.

import { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { sharedCopy } from "../../runtime/shared-copy.ts";
import type { BlockChunkReader, BlockReader, ChunkMeta, TombstoneReader } from "../block-reader.ts";
import { type Chunk, Encoding } from "../chunkenc/chunk.ts";
import { HeadChunkFileReader, type HeadChunkRef } from "../chunks/head-chunks.ts";
import { Decbuf } from "../encoding/decbuf.ts";
import { Encbuf } from "../encoding/encbuf.ts";
import { MemIndex } from "../mem-index.ts";
import type { Interval } from "../tombstones/tombstones.ts";
import type { Head } from "./head.ts";
import { chunkMetas } from "./head-reader.ts";
import { CHUNK_ID_SPACE, type MemSeries, unpackHeadChunkId } from "./series.ts";

const FILE_REF = 0;
const INLINE = 1;
/** A part is closed once it holds this many bytes, so no single buffer grows very large. */
const PART_BYTES = 4 * 1024 * 1024;
/** Series encoded between two looks at the clock. */
const SERIES_PER_CLOCK_CHECK = 64;

/**
 * Encodes the head's series over [mint, maxt] ms (inclusive) a slice at a time. Every live series is included, even
 * without chunks in the range, because the block's symbol table holds every label string of the head (as
 * Prometheus's does). Single use: `step` until it returns true, then `finish`.
 */
export class HeadRangeSnapshot {
  private readonly head: Head;
  private readonly mint: number;
  private readonly maxt: number;
  private readonly it: Iterator<MemSeries>;
  private readonly buf = new Encbuf(64 * 1024);
  private readonly parts: SharedArrayBuffer[] = [];
  private done = false;
  private count = 0;

  /** A snapshot of `head` over [mint, maxt] ms inclusive; nothing is read before the first `step`. */
  constructor(head: Head, mint: number, maxt: number) {
    this.head = head;
    this.mint = mint;
    this.maxt = maxt;
    this.it = head.series.values();
  }

  /** Series encoded so far. */
  get numSeries(): number {
    return this.count;
  }

  /** Encodes series until `deadline` (a `performance.now()` time, ms) has passed; true once every series is in. */
  step(deadline: number): boolean {
    while (!this.done) {
      for (let i = 0; i < SERIES_PER_CLOCK_CHECK; i++) {
        const r = this.it.next();
        if (r.done === true) {
          this.done = true;
          break;
        }
        this.encode(r.value);
      }
      if (this.buf.length >= PART_BYTES) this.closePart();
      if (performance.now() >= deadline) break;
    }
    return this.done;
  }

  /**
   * Flushes the head chunk files (the worker reads the chunks the snapshot names from them) and returns the encoded
   * parts, which the caller owns: shared buffers, so posting them to the maintenance worker copies nothing and
   * detaches nothing here.
   */
  finish(): SharedArrayBuffer[] {
    if (!this.done) throw new ContrailError("internal", "head snapshot finished before its last step");
    this.head.files.flush();
    this.closePart();
    return this.parts;
  }

  private closePart(): void {
    if (this.buf.length === 0) return;
    this.parts.push(sharedCopy(this.buf.get()).buffer);
    this.buf.reset();
  }

  private encode(s: MemSeries): void {
    const b = this.buf;
    this.count++;
    const labels = s.labels;
    b.putUvarint(labels.size);
    labels.forEach((name, value) => {
      b.putUvarintStr(name);
      b.putUvarintStr(value);
    });
    const metas = chunkMetas(s, this.mint, this.maxt);
    b.putUvarint(metas.length);
    for (const meta of metas) {
      b.putVarint(meta.mint);
      b.putVarint(meta.maxt);
      const { chunkId } = unpackHeadChunkId(meta.ref);
      const idx = (((chunkId - s.firstChunkId) % CHUNK_ID_SPACE) + CHUNK_ID_SPACE) % CHUNK_ID_SPACE;
      const mm = idx < s.numMmapped ? s.mmappedChunk(idx) : undefined;
      if (mm !== undefined && meta.mint <= mm.mint && meta.maxt >= mm.maxt) {
        b.putByte(FILE_REF);
        b.putUvarint(mm.ref);
      } else {
        // The open chunk, or a chunk crossing the range's edge: its (trimmed) bytes travel with the snapshot.
        const c = this.head.chunks().chunk(meta);
        b.putByte(INLINE);
        b.putByte(c.encoding);
        b.putUvarintBytes(c.data);
      }
    }
    const deleted = this.head.tombstoneSet.get(s.ref);
    b.putUvarint(deleted.length);
    for (const iv of deleted) {
      b.putVarint(iv.mint);
      b.putVarint(iv.maxt);
    }
  }
}

/** A decoded head snapshot, read like a block; `close()` releases the head chunk files it opened. */
export interface HeadSnapshotReader extends BlockReader {
  close(): void;
}

interface SnapshotChunk {
  readonly fileRef: number;
  readonly encoding: Encoding;
  readonly data: Uint8Array | null;
}

/**
 * Decodes the parts of a `HeadRangeSnapshot` over [mint, maxt] ms inclusive; chunks named by reference are read
 * from the head chunk files in `chunksHeadDir`. Throws `corruption` when the parts do not decode.
 */
export function openHeadSnapshot(
  parts: readonly ArrayBufferLike[],
  chunksHeadDir: string,
  mint: number,
  maxt: number,
): HeadSnapshotReader {
  const strings = new Map<string, string>();
  const intern = (s: string) => {
    const have = strings.get(s);
    if (have !== undefined) return have;
    strings.set(s, s);
    return s;
  };
  const decoded: { labels: Labels; chunks: ChunkMeta[]; deleted: Interval[] }[] = [];
  const table: SnapshotChunk[] = [];
  for (const part of parts) {
    const d = new Decbuf(new Uint8Array(part));
    while (d.remaining() > 0 && d.err() === null) {
      const n = d.uvarint();
      const flat: string[] = [];
      for (let i = 0; i < n * 2 && d.err() === null; i++) flat.push(intern(d.uvarintStr()));
      const chunks: ChunkMeta[] = [];
      const nc = d.uvarint();
      for (let i = 0; i < nc && d.err() === null; i++) {
        const cmint = d.varint();
        const cmaxt = d.varint();
        const kind = d.byte();
        const entry: SnapshotChunk =
          kind === FILE_REF
            ? { fileRef: d.uvarint(), encoding: Encoding.xor, data: null }
            : { fileRef: -1, encoding: d.byte() as Encoding, data: d.uvarintBytes() };
        chunks.push({ ref: table.length, mint: cmint, maxt: cmaxt });
        table.push(entry);
      }
      const deleted: Interval[] = [];
      const nd = d.uvarint();
      for (let i = 0; i < nd && d.err() === null; i++) deleted.push({ mint: d.varint(), maxt: d.varint() });
      decoded.push({ labels: Labels.fromSortedUnchecked(flat), chunks, deleted });
    }
    if (d.err() !== null) throw new ContrailError("corruption", `head snapshot: ${d.err()}`);
  }
  decoded.sort((a, b) => a.labels.compare(b.labels));
  const files = new HeadChunkFileReader(chunksHeadDir);
  const index = new MemIndex(
    decoded.map((s) => s.labels),
    (ref) => decoded[ref].chunks,
  );
  const chunks: BlockChunkReader = {
    chunk(meta: ChunkMeta): Chunk {
      const c = table[meta.ref];
      if (c === undefined) throw new ContrailError("not_found", `no chunk ${meta.ref} in the head snapshot`);
      if (c.data !== null) return { encoding: c.encoding, data: c.data };
      return files.chunk(c.fileRef as HeadChunkRef);
    },
  };
  const tombstones: TombstoneReader = { get: (ref) => decoded[ref]?.deleted ?? [] };
  return {
    minTime: mint,
    maxTime: maxt + 1,
    index: () => index,
    chunks: () => chunks,
    tombstones: () => tombstones,
    close: () => files.close(),
  };
}
