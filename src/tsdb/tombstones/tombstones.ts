// Tombstones: per-series time intervals whose samples are deleted but not yet compacted away, and the block's
// `tombstones` file that stores them (docs/format/tombstones.md): magic 0x0130BA30 (4 bytes BE), version 1 (1 byte),
// then one record `uvarint series ref | varint mint | varint maxt` per interval, then a CRC32C of the records.
// Interval ends are inclusive ms; the open ends Prometheus writes (MinInt64 / MaxInt64) read back as -(2^63) / 2^63
// and are written back as the same bytes (so are ±Infinity).

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ContrailError } from "../../model/errors.ts";
import { syncDir } from "../chunks/segment-files.ts";
import { crc32c } from "../encoding/crc32c.ts";
import { Decbuf } from "../encoding/decbuf.ts";
import { Encbuf } from "../encoding/encbuf.ts";

/** Name of the tombstones file in a block directory. */
export const TOMBSTONES_FILENAME = "tombstones";
/** Magic number opening the tombstones file. */
export const MAGIC_TOMBSTONE = 0x0130ba30;
const FORMAT_V1 = 1;
const HEADER_SIZE = 5;
const CRC_SIZE = 4;

/** A deleted time range, both ends inclusive, ms. */
export interface Interval {
  readonly mint: number;
  readonly maxt: number;
}

/** True when `t` (ms) lies in `iv`. */
export function inBounds(iv: Interval, t: number): boolean {
  return t >= iv.mint && t <= iv.maxt;
}

/** True when `iv` lies entirely inside one of `ranges`. */
export function isSubrange(iv: Interval, ranges: readonly Interval[]): boolean {
  for (const r of ranges) if (inBounds(r, iv.mint) && inBounds(r, iv.maxt)) return true;
  return false;
}

/**
 * Adds `n` to `list` (sorted by mint, disjoint, not adjacent) and returns the new list in the same form:
 * intervals that overlap `n` or touch it (end + 1 = start) merge with it. `list` is not modified.
 */
export function addInterval(list: readonly Interval[], n: Interval): Interval[] {
  const out: Interval[] = [];
  let mint = n.mint;
  let maxt = n.maxt;
  let i = 0;
  while (i < list.length && list[i].maxt < mint - 1) out.push(list[i++]);
  while (i < list.length && list[i].mint <= maxt + 1) {
    if (list[i].mint < mint) mint = list[i].mint;
    if (list[i].maxt > maxt) maxt = list[i].maxt;
    i++;
  }
  out.push({ mint, maxt });
  while (i < list.length) out.push(list[i++]);
  return out;
}

/** In-memory tombstones of one block or of the head: series ref → sorted, merged intervals. */
export class MemTombstones {
  private readonly groups = new Map<number, Interval[]>();

  /** The intervals of series `ref` (empty if none); the array must not be modified. */
  get(ref: number): readonly Interval[] {
    return this.groups.get(ref) ?? [];
  }

  /** Adds deleted ranges for series `ref`. */
  addInterval(ref: number, ...ivs: Interval[]): void {
    let list = this.groups.get(ref) ?? [];
    for (const iv of ivs) list = addInterval(list, iv);
    this.groups.set(ref, list);
  }

  /** Forgets every interval of the given series. */
  deleteTombstones(refs: Iterable<number>): void {
    for (const ref of refs) this.groups.delete(ref);
  }

  /** Drops intervals that end before `beforeT` (ms), and series left without any. */
  truncateBefore(beforeT: number): void {
    for (const [ref, ivs] of this.groups) {
      const kept = ivs.filter((iv) => iv.maxt >= beforeT);
      if (kept.length === 0) this.groups.delete(ref);
      else if (kept.length !== ivs.length) this.groups.set(ref, kept);
    }
  }

  /** Calls `fn` for each series with tombstones, in ascending series ref order. */
  iter(fn: (ref: number, ivs: readonly Interval[]) => void): void {
    for (const ref of [...this.groups.keys()].sort((a, b) => a - b)) fn(ref, this.groups.get(ref) as Interval[]);
  }

  /** Total number of intervals over all series. */
  total(): number {
    let n = 0;
    for (const ivs of this.groups.values()) n += ivs.length;
    return n;
  }

  /** Number of series with tombstones. */
  get numSeries(): number {
    return this.groups.size;
  }
}

/** The whole tombstones file for `t`: header, records in series ref order, checksum. */
export function encodeTombstonesFile(t: MemTombstones): Uint8Array {
  const e = new Encbuf(64 + t.total() * 12);
  e.putBE32(MAGIC_TOMBSTONE);
  e.putByte(FORMAT_V1);
  t.iter((ref, ivs) => {
    for (const iv of ivs) {
      e.putUvarint(ref);
      e.putVarint(iv.mint);
      e.putVarint(iv.maxt);
    }
  });
  // The checksum covers the records only, neither magic nor version.
  e.putBE32(crc32c(e.get(), HEADER_SIZE, e.length));
  return e.get().slice();
}

/** Parses a whole tombstones file; throws `corruption` on a bad magic, version, checksum or record. */
export function decodeTombstonesFile(b: Uint8Array): MemTombstones {
  if (b.length < HEADER_SIZE + CRC_SIZE) throw new ContrailError("corruption", "tombstones file too short");
  const d = new Decbuf(b, 0, b.length - CRC_SIZE);
  const magic = d.be32();
  if (magic !== MAGIC_TOMBSTONE)
    throw new ContrailError("corruption", `invalid tombstones magic ${magic.toString(16)}`);
  const version = d.byte();
  if (version !== FORMAT_V1) throw new ContrailError("corruption", `invalid tombstones format ${version}`);
  const want = new Decbuf(b, b.length - CRC_SIZE).be32();
  if (crc32c(b, HEADER_SIZE, b.length - CRC_SIZE) !== want) {
    throw new ContrailError("corruption", "tombstones checksum did not match");
  }
  const t = new MemTombstones();
  while (d.remaining() > 0) {
    const ref = d.uvarint();
    const mint = d.varint();
    const maxt = d.varint();
    if (d.err() !== null) throw new ContrailError("corruption", `tombstones record: ${d.err()}`);
    t.addInterval(ref, { mint, maxt });
  }
  return t;
}

/**
 * Writes `t` as `<dir>/tombstones` atomically (temporary file, fsync, rename, directory fsync). Returns the file
 * size in bytes.
 */
export function writeTombstonesFile(dir: string, t: MemTombstones): number {
  const path = join(dir, TOMBSTONES_FILENAME);
  const tmp = `${path}.tmp`;
  const bytes = encodeTombstonesFile(t);
  const fd = openSync(tmp, "w");
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  syncDir(dir);
  return bytes.length;
}

/** Reads `<dir>/tombstones`; a missing file means no tombstones (size 0). Throws `corruption` if it is damaged. */
export function readTombstonesFile(dir: string): { readonly tombstones: MemTombstones; readonly size: number } {
  let b: Uint8Array;
  try {
    b = readFileSync(join(dir, TOMBSTONES_FILENAME));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { tombstones: new MemTombstones(), size: 0 };
    throw e;
  }
  return { tombstones: decodeTombstonesFile(b), size: b.length };
}
