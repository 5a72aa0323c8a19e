// A block's `meta.json` (layout in docs/format/block.md) and the ULIDs that name blocks. The JSON is written with the
// same key order, tab indentation and omitted-when-zero fields as Prometheus, so a meta file we write is byte for byte
// the one Prometheus would write for the same block.

import { randomFillSync } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ContrailError } from "../model/errors.ts";

/** A ULID: 26 Crockford base32 characters, 48-bit millisecond time then 80 random bits; sorts by creation time. */
export type Ulid = string & { readonly __brand: "Ulid" };

/** Name of the meta file inside a block directory. */
export const META_FILENAME = "meta.json";

/** The only meta file version Prometheus has defined. */
export const META_VERSION = 1;

/** Counts over a block's contents. Absent or zero counts are omitted from the file, as upstream does. */
export interface BlockStats {
  readonly numSamples?: number;
  readonly numFloatSamples?: number;
  readonly numHistogramSamples?: number;
  readonly numSeries?: number;
  readonly numChunks?: number;
  readonly numTombstones?: number;
}

/** A short reference to a block: its id and time range (ms, `maxTime` exclusive). */
export interface BlockDesc {
  readonly ulid: Ulid;
  readonly minTime: number;
  readonly maxTime: number;
}

/** How a block came to be: compaction level (1 for a block cut from the head) and the blocks it came from. */
export interface BlockCompaction {
  readonly level: number;
  /** ULIDs of every level-1 block whose data ended up here (a head block lists itself). */
  readonly sources?: readonly Ulid[];
  /** True when compaction produced no samples and the block should be deleted. */
  readonly deletable?: boolean;
  /** The blocks compacted directly into this one. */
  readonly parents?: readonly BlockDesc[];
  /** True when a compaction of this block failed; the planner then skips it. */
  readonly failed?: boolean;
  /** Free-form hints such as "from-out-of-order", kept sorted. */
  readonly hints?: readonly string[];
}

/** The content of `meta.json`. Times in ms: `minTime` inclusive, `maxTime` exclusive. */
export interface BlockMeta {
  readonly ulid: Ulid;
  readonly minTime: number;
  readonly maxTime: number;
  readonly stats: BlockStats;
  readonly compaction: BlockCompaction;
  /** Always META_VERSION (1); the index format version lives in the index file itself. */
  readonly version: number;
}

const STAT_KEYS = [
  "numSamples",
  "numFloatSamples",
  "numHistogramSamples",
  "numSeries",
  "numChunks",
  "numTombstones",
] as const;

/** Serializes `meta` exactly as Prometheus does (Go's json.MarshalIndent with a tab, no trailing newline). */
export function encodeBlockMeta(meta: BlockMeta): string {
  // Build fresh objects so the key order is upstream's whatever order the caller used.
  const stats: Record<string, number> = {};
  for (const k of STAT_KEYS) {
    const v = meta.stats[k];
    if (v !== undefined && v !== 0) stats[k] = v;
  }
  const c = meta.compaction;
  const compaction: Record<string, unknown> = { level: c.level };
  if (c.sources !== undefined && c.sources.length > 0) compaction.sources = c.sources;
  if (c.deletable === true) compaction.deletable = true;
  if (c.parents !== undefined && c.parents.length > 0) {
    compaction.parents = c.parents.map((p) => ({ ulid: p.ulid, minTime: p.minTime, maxTime: p.maxTime }));
  }
  if (c.failed === true) compaction.failed = true;
  if (c.hints !== undefined && c.hints.length > 0) compaction.hints = c.hints;
  const out = {
    ulid: meta.ulid,
    minTime: meta.minTime,
    maxTime: meta.maxTime,
    stats,
    compaction,
    version: META_VERSION,
  };
  return JSON.stringify(out, null, "\t");
}

/** Parses and validates a meta file's text; throws ContrailError `corruption` naming the bad field. */
export function decodeBlockMeta(text: string, what = META_FILENAME): BlockMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ContrailError("corruption", `${what}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  const obj = asObject(raw, what);
  const version = int(obj.version, `${what}: version`);
  if (version !== META_VERSION)
    throw new ContrailError("corruption", `${what}: unexpected meta file version ${version}`);
  const ulid = parseUlid(str(obj.ulid, `${what}: ulid`));
  const minTime = int(obj.minTime, `${what}: minTime`);
  const maxTime = int(obj.maxTime, `${what}: maxTime`);
  const statsObj = obj.stats === undefined ? {} : asObject(obj.stats, `${what}: stats`);
  const stats: Record<string, number> = {};
  for (const k of STAT_KEYS) {
    if (statsObj[k] !== undefined) stats[k] = int(statsObj[k], `${what}: stats.${k}`);
  }
  const co = asObject(obj.compaction, `${what}: compaction`);
  const compaction: {
    level: number;
    sources?: Ulid[];
    deletable?: boolean;
    parents?: BlockDesc[];
    failed?: boolean;
    hints?: string[];
  } = { level: int(co.level, `${what}: compaction.level`) };
  if (co.sources !== undefined) {
    compaction.sources = list(co.sources, `${what}: compaction.sources`).map((s, i) =>
      parseUlid(str(s, `${what}: compaction.sources[${i}]`)),
    );
  }
  if (co.deletable !== undefined) compaction.deletable = bool(co.deletable, `${what}: compaction.deletable`);
  if (co.parents !== undefined) {
    compaction.parents = list(co.parents, `${what}: compaction.parents`).map((p, i) => {
      const at = `${what}: compaction.parents[${i}]`;
      const po = asObject(p, at);
      return {
        ulid: parseUlid(str(po.ulid, `${at}.ulid`)),
        minTime: int(po.minTime, `${at}.minTime`),
        maxTime: int(po.maxTime, `${at}.maxTime`),
      };
    });
  }
  if (co.failed !== undefined) compaction.failed = bool(co.failed, `${what}: compaction.failed`);
  if (co.hints !== undefined) {
    compaction.hints = list(co.hints, `${what}: compaction.hints`).map((h, i) =>
      str(h, `${what}: compaction.hints[${i}]`),
    );
  }
  return { ulid, minTime, maxTime, stats, compaction, version };
}

/** Reads `<dir>/meta.json`; throws ContrailError `not_found` when it is missing, `corruption` when it is invalid. */
export function readBlockMeta(dir: string): BlockMeta {
  const path = join(dir, META_FILENAME);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === "ENOENT" ? "not_found" : "internal";
    throw new ContrailError(code, `read ${META_FILENAME}: ${(err as Error).message}`, { cause: err });
  }
  return decodeBlockMeta(text, path);
}

/** Writes `<dir>/meta.json` atomically (temporary file, fsync, rename); returns the number of bytes written. */
export function writeBlockMeta(dir: string, meta: BlockMeta): number {
  const path = join(dir, META_FILENAME);
  const tmp = `${path}.tmp`;
  const bytes = Buffer.from(encodeBlockMeta(meta), "utf8");
  try {
    const fd = openSync(tmp, "w", 0o666);
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    syncDir(dir);
  } finally {
    rmSync(tmp, { force: true });
  }
  return bytes.length;
}

function syncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return; // Platforms that cannot open directories cannot sync them either.
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    closeSync(fd);
  }
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ContrailError("corruption", `${what}: expected an object`);
  }
  return v as Record<string, unknown>;
}

function int(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw new ContrailError("corruption", `${what}: expected an integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== "string") throw new ContrailError("corruption", `${what}: expected a string`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== "boolean") throw new ContrailError("corruption", `${what}: expected a boolean`);
  return v;
}

function list(v: unknown, what: string): unknown[] {
  if (v === null) return [];
  if (!Array.isArray(v)) throw new ContrailError("corruption", `${what}: expected an array`);
  return v;
}

// ---- ULIDs ----

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const DECODE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < CROCKFORD.length; i++) {
    t[CROCKFORD.charCodeAt(i)] = i;
    t[CROCKFORD.toLowerCase().charCodeAt(i)] = i;
  }
  return t;
})();

/** Largest ULID time: 48 bits of milliseconds. */
const MAX_ULID_TIME = 2 ** 48 - 1;

/** Encodes 16 bytes (big-endian 128-bit number) as 26 Crockford base32 characters. */
function encodeUlidBytes(b: Uint8Array): Ulid {
  let out = "";
  // 130 bits of output: two leading zero bits, then the 128 bits, 5 at a time.
  let acc = 0;
  let bits = 2;
  for (let i = 0; i < 16; i++) {
    acc = ((acc << 8) | b[i]) & 0x1fff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(acc >>> bits) & 31];
    }
  }
  return out as Ulid;
}

/** Decodes a ULID string (either case) into its 16 bytes; throws ContrailError `bad_data` when invalid. */
export function ulidBytes(s: string): Uint8Array {
  if (s.length !== 26) throw new ContrailError("bad_data", `invalid ULID ${JSON.stringify(s)}: length must be 26`);
  const out = new Uint8Array(16);
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (let i = 0; i < 26; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? DECODE[c] : -1;
    if (v < 0) throw new ContrailError("bad_data", `invalid ULID ${JSON.stringify(s)}: bad character at ${i}`);
    if (i === 0 && v > 7) throw new ContrailError("bad_data", `invalid ULID ${JSON.stringify(s)}: overflows 128 bits`);
    acc = ((acc << 5) | v) & 0x1fff;
    bits += 5;
    if (i === 0) bits -= 2; // The two leading bits of the first character are padding.
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >>> bits) & 0xff;
    }
  }
  return out;
}

/** Validates and normalizes (upper case) a ULID string; throws ContrailError `bad_data` when invalid. */
export function parseUlid(s: string): Ulid {
  return encodeUlidBytes(ulidBytes(s));
}

/** The millisecond timestamp encoded in a ULID. */
export function ulidTime(u: Ulid): number {
  const b = ulidBytes(u);
  let t = 0;
  for (let i = 0; i < 6; i++) t = t * 256 + b[i];
  return t;
}

/**
 * Makes ULIDs. Within one millisecond each new ULID is the previous one plus one in its random part, so ULIDs made
 * by one generator in the same millisecond sort in creation order. Not shared between processes.
 */
export class UlidGenerator {
  private lastTime = -1;
  private readonly last = new Uint8Array(16);
  private readonly random: (buf: Uint8Array) => void;

  /** `random` fills a buffer with random bytes; defaults to the crypto module's generator. */
  constructor(random: (buf: Uint8Array) => void = (buf) => randomFillSync(buf)) {
    this.random = random;
  }

  /** A new ULID for time `nowMs` (default: the wall clock); throws `bad_data` if the time does not fit 48 bits. */
  next(nowMs: number = Date.now()): Ulid {
    if (!Number.isSafeInteger(nowMs) || nowMs < 0 || nowMs > MAX_ULID_TIME) {
      throw new ContrailError("bad_data", `ULID time ${nowMs} out of range`);
    }
    const b = this.last;
    if (nowMs === this.lastTime) {
      // Increment the 80-bit random part (bytes 6..15) by one.
      let i = 15;
      while (i >= 6 && b[i] === 0xff) b[i--] = 0;
      if (i < 6) throw new ContrailError("limit_exceeded", "ULID random part overflowed within one millisecond");
      b[i]++;
    } else {
      this.lastTime = nowMs;
      let t = nowMs;
      for (let i = 5; i >= 0; i--) {
        b[i] = t % 256;
        t = Math.floor(t / 256);
      }
      this.random(b.subarray(6));
    }
    return encodeUlidBytes(b);
  }
}

const defaultGenerator = new UlidGenerator();

/** A new ULID from the process-wide generator (monotonic within a millisecond). */
export function newUlid(nowMs?: number): Ulid {
  return defaultGenerator.next(nowMs);
}
