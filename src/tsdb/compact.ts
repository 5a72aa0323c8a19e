// Writing blocks (layout: docs/format/block.md). `writeBlock` turns one or more BlockReaders (the head's range, or
// on-disk blocks) into a new block: series merged in label order, chunks copied when they can be or re-encoded when
// they must be trimmed to the block's range, cleaned of deleted samples or merged with overlapping chunks. Files are
// written into `<ulid>.tmp-for-creation`, fsync'd, and the directory is renamed into place, so a block directory
// named by a bare ULID is always complete. `compactBlockDirs` merges the blocks `planCompaction` (compact-plan.ts)
// chooses.

import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ContrailError } from "../model/errors.ts";
import { compareStrings, type Labels } from "../model/labels.ts";
import { Block, CHUNKS_DIRNAME, INDEX_FILENAME, TMP_FOR_CREATION_SUFFIX } from "./block.ts";
import { type BlockMeta, type BlockStats, newUlid, readBlockMeta, type Ulid, writeBlockMeta } from "./block-meta.ts";
import type { BlockChunkReader, BlockIndexReader, BlockReader, BlockSeries, ChunkMeta } from "./block-reader.ts";
import { type Chunk, Encoding, SAMPLES_PER_CHUNK } from "./chunkenc/chunk.ts";
import { numSamples, XorAppender, XorIterator } from "./chunkenc/xor.ts";
import { encodeXorPlanned } from "./chunkenc/xor-windows.ts";
import { ChunkWriter } from "./chunks/block-chunks.ts";
import { syncDir } from "./chunks/segment-files.ts";
import { reencodeMixed } from "./compact-histograms.ts";
import { compactBlockMetas } from "./compact-plan.ts";
import { IndexWriter } from "./index/writer.ts";
import { type Interval, MemTombstones, writeTombstonesFile } from "./tombstones/tombstones.ts";

/** Options of `writeBlock`. */
export interface WriteBlockOptions {
  /** The database directory the block is created in. */
  readonly dest: string;
  /** The data, sorted by `minTime`; samples outside [minTime, maxTime) are left out. */
  readonly readers: readonly BlockReader[];
  /** The new block's identity and range (ms, maxTime exclusive) and its compaction history; stats are computed. */
  readonly meta: Omit<BlockMeta, "stats" | "version">;
  /** Largest chunk segment file in bytes (default 512 MiB). */
  readonly segmentSize?: number;
  /**
   * Consecutive chunks of a series are joined into chunks of up to this many samples (default
   * BLOCK_SAMPLES_PER_CHUNK; 0 keeps the chunks as the inputs cut them). At most MAX_SAMPLES_PER_CHUNK.
   */
  readonly samplesPerChunk?: number;
}

/**
 * Samples per chunk in written blocks: four head chunks (2 h of 15 s scrapes) in one. Each chunk repeats a full
 * timestamp and value and costs a length, a CRC and an index entry (about 30 bytes); in a block, where no appender
 * needs small chunks, fewer of them save that. Prometheus's readers (promtool, the 2.x server) read XOR chunks of
 * any length up to MAX_SAMPLES_PER_CHUNK.
 */
export const BLOCK_SAMPLES_PER_CHUNK = 480;
/** Most samples an XOR chunk can hold: its sample count is a 16-bit field. */
export const MAX_SAMPLES_PER_CHUNK = 0xffff;

/**
 * Writes a block from `readers` and returns its meta data, or null when no sample fell in the range (then nothing
 * is left on disk). On failure the temporary directory is removed and the error rethrown.
 */
export function writeBlock(opts: WriteBlockOptions): BlockMeta | null {
  if (opts.readers.length === 0) throw new ContrailError("bad_data", "cannot write a block from no readers");
  const dir = join(opts.dest, opts.meta.ulid);
  const tmp = dir + TMP_FOR_CREATION_SUFFIX;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const cw = new ChunkWriter({ dir: join(tmp, CHUNKS_DIRNAME), segmentSize: opts.segmentSize });
    const iw = new IndexWriter(join(tmp, INDEX_FILENAME));
    let stats: BlockStats;
    try {
      const perChunk = opts.samplesPerChunk ?? BLOCK_SAMPLES_PER_CHUNK;
      if (!Number.isInteger(perChunk) || perChunk < 0 || perChunk > MAX_SAMPLES_PER_CHUNK) {
        throw new ContrailError("bad_data", `samples per chunk must be 0..${MAX_SAMPLES_PER_CHUNK}, got ${perChunk}`);
      }
      stats = populate(opts.readers, opts.meta.minTime, opts.meta.maxTime, iw, cw, perChunk);
    } catch (err) {
      iw.abort();
      cw.close();
      throw err;
    }
    cw.close();
    iw.close();
    if (!stats.numSamples) {
      rmSync(tmp, { recursive: true, force: true });
      return null;
    }
    const meta: BlockMeta = { ...opts.meta, stats, version: 1 };
    writeBlockMeta(tmp, meta);
    writeTombstonesFile(tmp, new MemTombstones());
    syncDir(tmp);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    syncDir(opts.dest);
    return meta;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** The meta data (without stats) of a level-1 block cut from the head over [minTime, maxTime) ms. */
export function headBlockMeta(
  minTime: number,
  maxTime: number,
  ulid: Ulid = newUlid(),
): Omit<BlockMeta, "stats" | "version"> {
  return { ulid, minTime, maxTime, compaction: { level: 1, sources: [ulid] } };
}

/** Options of `compactBlockDirs`. */
export interface CompactDirsOptions {
  /** The database directory holding the blocks; the new block is created there. */
  readonly dest: string;
  /** The block directories to merge (as returned by the planner). */
  readonly dirs: readonly string[];
  /** Blocks already open, used instead of opening their directories again. */
  readonly open?: readonly Block[];
  readonly segmentSize?: number;
  /** Samples per chunk of the merged block (see WriteBlockOptions). */
  readonly samplesPerChunk?: number;
}

/**
 * Merges the blocks in `dirs` into one new block and returns its meta, or null when nothing was left in them (the
 * parents are then marked deletable). The parents are not deleted here: the database deletes every block that is
 * a parent of a loaded block, which also finishes the job after a crash. When writing fails the parents are marked
 * as failed, so the planner does not pick them again, and the error is rethrown.
 */
export function compactBlockDirs(opts: CompactDirsOptions): BlockMeta | null {
  return withBlocks(opts, (blocks) => {
    let written: BlockMeta | null;
    try {
      written = writeMerged(blocks, opts);
    } catch (err) {
      for (const b of blocks) {
        try {
          b.setCompactionFailed();
        } catch {
          // The original error matters more; the planner simply may pick the block again.
        }
      }
      throw err;
    }
    if (written === null) for (const b of blocks) b.setDeletable();
    return written;
  });
}

/**
 * Writes the merge of the blocks in `dirs` as a new block (ULID `ulid`, or a new one) and returns its meta, or null
 * when nothing was left in them. Unlike `compactBlockDirs` it changes nothing in the parents: marking them deletable
 * or failed is left to the caller (the database, when the maintenance worker did the merge).
 */
export function mergeBlockDirs(opts: CompactDirsOptions & { readonly ulid?: Ulid }): BlockMeta | null {
  return withBlocks(opts, (blocks) => writeMerged(blocks, opts, opts.ulid));
}

// Opens the blocks of `opts.dirs` (reusing `opts.open`), sorted by minTime, and closes the ones it opened after `fn`.
function withBlocks<T>(opts: CompactDirsOptions, fn: (blocks: Block[]) => T): T {
  const blocks: Block[] = [];
  const opened: Block[] = [];
  try {
    for (const d of opts.dirs) {
      const meta = readBlockMeta(d);
      let b = opts.open?.find((o) => o.meta.ulid === meta.ulid);
      if (b === undefined) {
        b = Block.open(d);
        opened.push(b);
      }
      blocks.push(b);
    }
    blocks.sort((a, b) => a.minTime - b.minTime);
    return fn(blocks);
  } finally {
    for (const b of opened) b.close();
  }
}

function writeMerged(blocks: readonly Block[], opts: CompactDirsOptions, ulid: Ulid = newUlid()): BlockMeta | null {
  const meta = compactBlockMetas(
    ulid,
    blocks.map((b) => b.meta),
  );
  return writeBlock({
    dest: opts.dest,
    readers: blocks,
    meta,
    segmentSize: opts.segmentSize,
    samplesPerChunk: opts.samplesPerChunk,
  });
}

// ---- planning ----

// ---- population ----

/** One input series during the merge: where it comes from and its chunks inside the output range. */
interface SourceChunk {
  readonly reader: number;
  readonly meta: ChunkMeta;
  readonly deleted: readonly Interval[];
}

interface Input {
  readonly ix: BlockIndexReader;
  readonly cr: BlockChunkReader;
  readonly reader: BlockReader;
  readonly refs: number[];
  pos: number;
  cur: { series: BlockSeries; ref: number } | null;
}

function advance(inp: Input): void {
  inp.cur = null;
  while (inp.pos < inp.refs.length) {
    const ref = inp.refs[inp.pos++];
    const s = inp.ix.series(ref);
    if (s !== null) {
      inp.cur = { series: s, ref };
      return;
    }
  }
}

/** Fills the writers with the union of `readers` over [mint, maxt) and returns the block's stats. */
function populate(
  readers: readonly BlockReader[],
  mint: number,
  maxt: number,
  iw: IndexWriter,
  cw: ChunkWriter,
  samplesPerChunk: number,
): BlockStats {
  const last = maxt - 1; // Chunk ranges are inclusive, the block's end is not.
  const inputs: Input[] = readers.map((r) => {
    const ix = r.index();
    return { ix, cr: r.chunks(), reader: r, refs: ix.sortedPostings(ix.allPostings()), pos: 0, cur: null };
  });

  // Every label string of every input: a superset of what the written series use, which the format allows.
  const symbols = new Set<string>();
  for (const { ix } of inputs) {
    for (const name of ix.labelNames()) {
      symbols.add(name);
      for (const v of ix.labelValues(name)) symbols.add(v);
    }
  }
  for (const s of [...symbols].sort(compareStrings)) iw.addSymbol(s);

  let numSeries = 0;
  let numChunks = 0;
  let samples = 0;
  let histogramSamples = 0;
  for (const inp of inputs) advance(inp);
  const group: SourceChunk[] = [];
  for (;;) {
    let labels: Labels | null = null;
    for (const inp of inputs) {
      const l = inp.cur?.series.labels;
      if (l !== undefined && (labels === null || l.compare(labels) < 0)) labels = l;
    }
    if (labels === null) break;
    group.length = 0;
    for (let i = 0; i < inputs.length; i++) {
      const inp = inputs[i];
      if (inp.cur === null || !inp.cur.series.labels.equals(labels)) continue;
      const deleted = inp.reader.tombstones().get(inp.cur.ref);
      for (const meta of inp.cur.series.chunks) {
        if (meta.maxt < mint || meta.mint > last) continue;
        group.push({ reader: i, meta, deleted });
      }
      advance(inp);
    }
    if (group.length === 0) continue;
    let out = mergeChunks(group, inputs, mint, last);
    if (out.length === 0) continue;
    if (samplesPerChunk > 0) out = joinChunks(out, samplesPerChunk);
    const refs = cw.writeChunks(out.map((c) => c.chunk));
    iw.addSeries(
      labels,
      out.map((c, i) => ({ mint: c.mint, maxt: c.maxt, ref: refs[i] })),
    );
    numSeries++;
    numChunks += out.length;
    for (const c of out) {
      const n = numSamples(c.chunk.data);
      samples += n;
      if (c.chunk.encoding !== Encoding.xor) histogramSamples += n;
    }
  }
  const stats = { numSamples: samples, numFloatSamples: samples - histogramSamples, numSeries, numChunks };
  return histogramSamples > 0 ? { ...stats, numHistogramSamples: histogramSamples } : stats;
}

interface OutChunk {
  readonly chunk: Chunk;
  readonly mint: number;
  readonly maxt: number;
}

/**
 * The chunks of one series from every input, in time order without overlap. A chunk inside [mint, last] with no
 * deleted interval touching it is copied as is; otherwise it and every chunk overlapping it are decoded, trimmed,
 * cleaned of deleted samples, merged (the earlier input wins on equal timestamps) and re-encoded.
 */
function mergeChunks(group: SourceChunk[], inputs: readonly Input[], mint: number, last: number): OutChunk[] {
  // Stable sort by start time: on ties the earlier input (older block) comes first.
  group.sort((a, b) => a.meta.mint - b.meta.mint || a.reader - b.reader);
  const out: OutChunk[] = [];
  let i = 0;
  while (i < group.length) {
    let j = i + 1;
    let end = group[i].meta.maxt;
    while (j < group.length && group[j].meta.mint <= end) {
      end = Math.max(end, group[j].meta.maxt);
      j++;
    }
    const first = group[i];
    if (j === i + 1 && first.meta.mint >= mint && first.meta.maxt <= last && !touches(first.deleted, first.meta)) {
      const chunk = inputs[first.reader].cr.chunk(first.meta);
      if (chunk.data.length > 2 && numSamples(chunk.data) > 0) {
        out.push({ chunk, mint: first.meta.mint, maxt: first.meta.maxt });
      }
    } else {
      reencode(group.slice(i, j), inputs, mint, last, out);
    }
    i = j;
  }
  return out;
}

/**
 * `chunks` (time order, no overlap) with each run of consecutive XOR chunks whose samples add up to at most `max`
 * joined into one, re-encoded with planned value windows (chunkenc/xor-windows.ts: a long chunk written as
 * Prometheus writes it keeps the widest window it met).
 */
function joinChunks(chunks: OutChunk[], max: number): OutChunk[] {
  if (chunks.length < 2) return chunks;
  const joined: OutChunk[] = [];
  let i = 0;
  while (i < chunks.length) {
    const first = chunks[i];
    let total = numSamples(first.chunk.data);
    let j = i + 1;
    if (first.chunk.encoding === Encoding.xor) {
      while (j < chunks.length && chunks[j].chunk.encoding === Encoding.xor) {
        const n = numSamples(chunks[j].chunk.data);
        if (total + n > max) break;
        total += n;
        j++;
      }
    }
    if (j === i + 1) {
      joined.push(first);
      i = j;
      continue;
    }
    let n = 0;
    for (let k = i; k < j; k++) {
      const c = chunks[k];
      iter.reset(c.chunk.data);
      while (iter.next() !== "none") {
        if (n === scratchT.length) grow();
        scratchT[n] = iter.atT();
        scratchV[n] = iter.atV();
        n++;
      }
      const e = iter.err();
      if (e !== null) throw new ContrailError("corruption", `chunk of ${c.mint}..${c.maxt}: ${e}`);
    }
    const data = encodeXorPlanned(scratchT, scratchV, 0, n);
    joined.push({ chunk: { encoding: Encoding.xor, data }, mint: first.mint, maxt: chunks[j - 1].maxt });
    i = j;
  }
  return joined;
}

function touches(deleted: readonly Interval[], meta: ChunkMeta): boolean {
  for (const iv of deleted) if (iv.mint <= meta.maxt && iv.maxt >= meta.mint) return true;
  return false;
}

function isDeleted(deleted: readonly Interval[], t: number): boolean {
  for (const iv of deleted) if (t >= iv.mint && t <= iv.maxt) return true;
  return false;
}

// Scratch buffers for re-encoding, grown as needed and reused across series.
let scratchT = new Float64Array(1024);
let scratchV = new Float64Array(1024);
let scratchR = new Uint32Array(1024);
let scratchOrder = new Uint32Array(1024);
const iter = new XorIterator();

/** Decodes the overlapping chunks `part`, merges their kept samples and appends new chunks of up to 120 samples. */
function reencode(
  part: readonly SourceChunk[],
  inputs: readonly Input[],
  mint: number,
  last: number,
  out: OutChunk[],
): void {
  const chunks = part.map((sc) => inputs[sc.reader].cr.chunk(sc.meta));
  if (chunks.some((c) => c.encoding !== Encoding.xor)) {
    const mixed = part.map((sc, k) => ({
      chunk: chunks[k],
      rank: sc.reader,
      mint: Math.max(mint, sc.meta.mint),
      maxt: Math.min(last, sc.meta.maxt),
      isDeleted: (t: number) => sc.deleted.length > 0 && isDeleted(sc.deleted, t),
      name: String(sc.meta.ref),
    }));
    reencodeMixed(mixed, out);
    return;
  }
  let n = 0;
  for (const [ci, sc] of part.entries()) {
    const chunk = chunks[ci];
    iter.reset(chunk.data);
    const lo = Math.max(mint, sc.meta.mint);
    const hi = Math.min(last, sc.meta.maxt);
    for (let k = iter.seek(lo); k !== "none"; k = iter.next()) {
      const t = iter.atT();
      if (t > hi) break;
      if (sc.deleted.length > 0 && isDeleted(sc.deleted, t)) continue;
      if (n === scratchT.length) grow();
      scratchT[n] = t;
      scratchV[n] = iter.atV();
      scratchR[n] = sc.reader;
      n++;
    }
    const e = iter.err();
    if (e !== null) throw new ContrailError("corruption", `chunk ${sc.meta.ref}: ${e}`);
  }
  if (n === 0) return;
  // Equal timestamps: the earlier input (older block) sorts first and wins.
  const order = scratchOrder.subarray(0, n);
  for (let k = 0; k < n; k++) order[k] = k;
  if (part.length > 1) order.sort((a, b) => scratchT[a] - scratchT[b] || scratchR[a] - scratchR[b] || a - b);
  let app = new XorAppender();
  let cmint = 0;
  let prevT = Number.NaN;
  const flush = () => {
    if (app.numSamples === 0) return;
    out.push({ chunk: { encoding: Encoding.xor, data: app.bytes().slice() }, mint: cmint, maxt: prevT });
    app = new XorAppender();
  };
  for (let k = 0; k < n; k++) {
    const idx = order[k];
    const t = scratchT[idx];
    if (t === prevT) continue;
    if (app.numSamples >= SAMPLES_PER_CHUNK && part.length > 1) flush();
    if (app.numSamples === 0) cmint = t;
    app.append(t, scratchV[idx]);
    prevT = t;
  }
  flush();
}

function grow(): void {
  const t = new Float64Array(scratchT.length * 2);
  t.set(scratchT);
  scratchT = t;
  const v = new Float64Array(scratchV.length * 2);
  v.set(scratchV);
  scratchV = v;
  const r = new Uint32Array(scratchR.length * 2);
  r.set(scratchR);
  scratchR = r;
  scratchOrder = new Uint32Array(scratchT.length);
}
