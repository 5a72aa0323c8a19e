// Constants of the WAL segment format and the naming of segment files. Layout: docs/format/wal.md.

import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ContrailError } from "../../model/errors.ts";

/** Size of one WAL page in bytes; a fragment never starts in the last `HEADER_SIZE - 1` bytes of a page. */
export const PAGE_SIZE = 32 * 1024;
/** Bytes of a fragment header: type byte, BE16 data length, BE32 CRC32C of the data. */
export const HEADER_SIZE = 7;
/** Default size of a segment in bytes (128 MiB); a record larger than this still goes into one segment. */
export const DEFAULT_SEGMENT_SIZE = 128 * 1024 * 1024;

/** Fragment type in the low 3 bits of the header byte: 0 pads the rest of the page. */
export const FRAG_PAGE_TERM = 0;
/** A whole record in one fragment. */
export const FRAG_FULL = 1;
/** The first fragment of a record split over pages. */
export const FRAG_FIRST = 2;
/** A middle fragment of a split record. */
export const FRAG_MIDDLE = 3;
/** The last fragment of a split record. */
export const FRAG_LAST = 4;
/** Mask of the fragment type in the header byte. */
export const FRAG_TYPE_MASK = 0x07;
/** Header flag: the record's bytes are snappy block-compressed. */
export const FLAG_SNAPPY = 0x08;
/** Header flag: the record's bytes are zstd-compressed (not supported by Contrail). */
export const FLAG_ZSTD = 0x10;

/** File name of segment `index`: eight decimal digits, zero-padded (`00000042`). */
export function segmentName(index: number): string {
  return String(index).padStart(8, "0");
}

/** Path of segment `index` inside `dir`. */
export function segmentPath(dir: string, index: number): string {
  return join(dir, segmentName(index));
}

/** Parses a segment file name (decimal digits only); returns -1 for any other name. */
export function parseSegmentName(name: string): number {
  if (name.length === 0 || name.length > 15) return -1;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(name);
}

/**
 * Indexes of the segment files in `dir`, ascending. Throws `corruption` when they are not consecutive (a gap means
 * lost data that no reader could replay in order).
 */
export function listSegments(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync(dir)) {
    const k = parseSegmentName(name);
    if (k >= 0) out.push(k);
  }
  out.sort((a, b) => a - b);
  for (let i = 1; i < out.length; i++) {
    if (out[i] !== out[i - 1] + 1) {
      throw new ContrailError(
        "corruption",
        `WAL segments in ${dir} are not consecutive: ${segmentName(out[i - 1])} is followed by ${segmentName(out[i])}`,
      );
    }
  }
  return out;
}

/** Deletes the segment files of `dir` numbered below `firstKeep`, oldest first, so a crash leaves them consecutive. */
export function removeSegmentsBelow(dir: string, firstKeep: number): void {
  for (const index of listSegments(dir)) {
    if (index >= firstKeep) break;
    rmSync(segmentPath(dir, index));
  }
}
