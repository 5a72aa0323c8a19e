// What block chunk files and head chunk files share: numbered segment files (000001, 000002, ...) that start with
// an 8-byte header (4-byte big-endian magic, 1-byte format version, 3 zero bytes), and references that pack a
// segment number and a byte offset into one number.

import { closeSync, fsyncSync, openSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Size of a segment header: magic (4) + version (1) + padding (3). */
export const SEGMENT_HEADER_SIZE = 8;
/** Format version byte of both chunk segment kinds. */
export const CHUNKS_FORMAT_V1 = 1;
/** Largest number of bytes a chunk's length takes as a uvarint (Prometheus bounds lengths to 32 bits). */
export const MAX_CHUNK_LENGTH_FIELD_SIZE = 5;
/** Size of a CRC32C checksum field. */
export const CRC_SIZE = 4;

const TWO_32 = 0x1_0000_0000;

/** A segment's number and a byte offset packed as `segment * 2^32 + offset` (Go's `seq << 32 | offset`), < 2^53. */
export function packRef(segment: number, offset: number): number {
  return segment * TWO_32 + offset;
}

/** Segment number of a packed reference. */
export function refSegment(ref: number): number {
  return Math.floor(ref / TWO_32);
}

/** Byte offset of a packed reference. */
export function refOffset(ref: number): number {
  return ref % TWO_32;
}

/** File name of segment `n`: six digits at least, zero-padded ("000001"). */
export function segmentName(n: number): string {
  return String(n).padStart(6, "0");
}

/** The numbered segment files of `dir`, ascending by number; names that are not all digits are ignored. */
export function listSegments(dir: string): { readonly seq: number; readonly path: string }[] {
  const out: { seq: number; path: string }[] = [];
  for (const name of readdirSync(dir)) {
    if (!/^\d+$/.test(name)) continue;
    out.push({ seq: Number(name), path: join(dir, name) });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** The 8-byte header of a segment with `magic`. */
export function segmentHeader(magic: number): Uint8Array {
  const h = new Uint8Array(SEGMENT_HEADER_SIZE);
  new DataView(h.buffer).setUint32(0, magic);
  h[4] = CHUNKS_FORMAT_V1;
  return h;
}

/** Flushes a directory's entries (new or removed files) to disk; a no-op where directories cannot be opened. */
export function syncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some platforms refuse fsync on directories; the data files themselves are synced separately.
  } finally {
    closeSync(fd);
  }
}
