// Queriers over block readers (the head or on-disk blocks) and the merge of several of them into one.
// A block querier selects series through the index's postings, reads their chunks lazily, trims samples to the
// requested range and skips deleted ones; the merge querier joins sorted series sets from several blocks, merging
// series with identical labels into one sample stream without duplicate timestamps.

import { ContrailError } from "../model/errors.ts";
import type { Histogram } from "../model/histogram.ts";
import { compareStrings, type Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import { SampleBuffer } from "../model/sample.ts";
import type {
  ChunkSource,
  EncodedChunk,
  LabelHints,
  Querier,
  SampleIterator,
  SelectHints,
  Series,
  SeriesSet,
  ValueKind,
} from "../storage/interface.ts";
import type { BlockChunkReader, BlockReader, ChunkMeta } from "./block-reader.ts";
import { ChunkChainIterator } from "./chain-iterator.ts";
import { type Chain, ChainReader, mergeParts } from "./chunk-chain.ts";
import { type Chunk, Encoding } from "./chunkenc/chunk.ts";
import { numSamples } from "./chunkenc/xor.ts";
import { postingsForMatchers } from "./index/postings.ts";
import { type Interval, isSubrange } from "./tombstones/tombstones.ts";

/** A series set produced on demand; iterating it again starts over. */
class LazySeriesSet implements SeriesSet {
  readonly warnings: readonly string[];
  private readonly gen: () => Iterator<Series>;

  constructor(gen: () => Iterator<Series>, warnings: readonly string[] = []) {
    this.gen = gen;
    this.warnings = warnings;
  }

  [Symbol.iterator](): Iterator<Series> {
    return this.gen();
  }
}

const EMPTY_SET: SeriesSet = new LazySeriesSet(() => [][Symbol.iterator]());

/**
 * A querier over `block` for [mint, maxt] ms inclusive. `select` uses the hints' start/end as the sample range (as
 * Prometheus does). Series come in postings order, or in label order when `hints.sorted`; a series is returned only
 * when it has a sample in the range that is not deleted (Prometheus also returns a series whose chunk merely spans
 * the range; the storage contract does not). Label lookups read the index only.
 */
export function blockQuerier(block: BlockReader, mint: number, maxt: number): Querier {
  return new BlockQuerier(block, mint, maxt);
}

class BlockQuerier implements Querier {
  private readonly block: BlockReader;
  private readonly mint: number;
  private readonly maxt: number;

  constructor(block: BlockReader, mint: number, maxt: number) {
    this.block = block;
    this.mint = mint;
    this.maxt = maxt;
  }

  select(matchers: readonly Matcher[], hints: SelectHints): SeriesSet {
    const ix = this.block.index();
    // An immutable index's refs ascend with the labels already; it may keep the entries of a repeated selection.
    const matched = ix.matchingSeries?.(matchers);
    let refs = matched?.refs ?? postingsForMatchers(ix, matchers);
    if (hints.sorted && matched === undefined) refs = ix.sortedPostings(refs);
    const mint = hints.start ?? this.mint;
    const maxt = hints.end ?? this.maxt;
    const limit = hints.limit !== undefined && hints.limit > 0 ? hints.limit : Number.POSITIVE_INFINITY;
    const chunks = this.block.chunks();
    const stones = this.block.tombstones();
    const labelsOnly = hints.func === "series";
    return new LazySeriesSet(function* () {
      let n = 0;
      for (let i = 0; i < refs.length; i++) {
        if (n >= limit) return;
        const ref = refs[i];
        const s = matched !== undefined ? matched.series(i) : ix.series(ref);
        if (s === null) continue;
        const deleted = stones.get(ref);
        const picked = pickChunks(s.chunks, mint, maxt, deleted);
        if (picked.length === 0) continue;
        // A series of a block that may hold histograms is looked at closer: most series are floats all the same.
        // The encoding only: the raw chunk spares the head trimming a chunk to read its first byte.
        const histograms =
          s.histograms === true &&
          picked.some((c) => (chunks.rawChunk?.(c) ?? chunks.chunk(c)).encoding !== Encoding.xor);
        const src = new BlockChain(picked, chunks, mint, maxt, deleted, histograms);
        if (!surelyHasSample(picked, mint, maxt, deleted) && new ChunkChainIterator(src).next() === "none") continue;
        n++;
        yield labelsOnly ? new LabelsOnlySeries(s.labels) : new BlockSeriesView(s.labels, src);
      }
    });
  }

  labelNames(matchers: readonly Matcher[], hints?: LabelHints): string[] {
    return limitList(this.block.index().labelNames(matchers), hints);
  }

  labelValues(name: string, matchers: readonly Matcher[], hints?: LabelHints): string[] {
    return limitList(this.block.index().labelValues(name, matchers), hints);
  }

  close(): void {}
}

/**
 * The chunks of `chunks` that reach into [mint, maxt] ms and are not wholly deleted: `chunks` itself (shared, as the
 * index's entry may be) when that is every one of them, which is the common case, else a new array.
 */
function pickChunks(
  chunks: readonly ChunkMeta[],
  mint: number,
  maxt: number,
  deleted: readonly Interval[],
): readonly ChunkMeta[] {
  let all = deleted.length === 0;
  for (let i = 0; all && i < chunks.length; i++) all = chunks[i].maxt >= mint && chunks[i].mint <= maxt;
  if (all) return chunks;
  const picked: ChunkMeta[] = [];
  for (const c of chunks) {
    if (c.maxt < mint || c.mint > maxt) continue;
    if (deleted.length > 0 && isSubrange({ mint: c.mint, maxt: c.maxt }, deleted)) continue;
    picked.push(c);
  }
  return picked;
}

/**
 * True when the chunks' bounds alone prove a sample in [mint, maxt]: a chunk's mint and maxt are sample times, so a
 * chunk starting or ending inside the range holds one (unless deletions may hide it). Otherwise the only chunk is
 * one spanning the whole range, which may have no sample inside it; the caller then reads it.
 */
function surelyHasSample(
  chunks: readonly ChunkMeta[],
  mint: number,
  maxt: number,
  deleted: readonly Interval[],
): boolean {
  if (deleted.length > 0) return false;
  for (const c of chunks) {
    if ((c.mint >= mint && c.mint <= maxt) || (c.maxt >= mint && c.maxt <= maxt)) return true;
  }
  return false;
}

function limitList(list: readonly string[], hints?: LabelHints): string[] {
  const limit = hints?.limit;
  return limit !== undefined && limit > 0 && list.length > limit ? list.slice(0, limit) : list.slice();
}

/**
 * What a block series' samples come from: the chunks picked for the range, read on demand. Also the series' one
 * chunk source when a reader asks for its chunks (storage/interface.ts `Series.chunks`).
 */
class BlockChain implements Chain, ChunkSource {
  readonly chunks: readonly ChunkMeta[];
  readonly reader: BlockChunkReader;
  readonly mint: number;
  readonly maxt: number;
  readonly deleted: readonly Interval[];
  /** Whether some chunks may be histogram chunks (then samples are read one by one, never in float batches). */
  readonly histograms: boolean;

  /** Chunks of one series in time order, read through `reader`; samples in [mint, maxt] ms not in `deleted`. */
  constructor(
    chunks: readonly ChunkMeta[],
    reader: BlockChunkReader,
    mint: number,
    maxt: number,
    deleted: readonly Interval[],
    histograms = false,
  ) {
    this.chunks = chunks;
    this.reader = reader;
    this.mint = mint;
    this.maxt = maxt;
    this.deleted = deleted;
    this.histograms = histograms;
  }

  get length(): number {
    return this.chunks.length;
  }

  chunkMint(i: number): number {
    return this.chunks[i].mint;
  }

  chunkMaxt(i: number): number {
    return this.chunks[i].maxt;
  }

  chunkData(i: number): Chunk {
    const meta = this.chunks[i];
    // A chain's readers keep to each chunk's range themselves (chunk-chain.ts), so a stored chunk the query's range
    // cuts is read as stored, not trimmed (re-encoded) first; a view of memory still being written is copied.
    const raw = this.reader.rawChunk?.(meta);
    return raw !== undefined && !raw.live ? raw : this.reader.chunk(meta);
  }

  chunkName(i: number): string {
    return String(this.chunks[i].ref);
  }

  /** Samples of float chunk `i` as stored, when the reader knows them without reading it; else -1. */
  sampleCount(i: number): number {
    const count = this.reader.chunkSamples;
    return this.histograms || count === undefined ? -1 : count.call(this.reader, this.chunks[i]);
  }

  /** Chunk `i` as it is stored (not trimmed to its range when the reader can avoid it). */
  chunk(i: number): EncodedChunk {
    const meta = this.chunks[i];
    const raw = this.reader.rawChunk?.(meta);
    if (raw !== undefined)
      return { encoding: raw.encoding, mint: meta.mint, maxt: meta.maxt, samples: raw.samples, data: raw.data };
    const c = this.reader.chunk(meta);
    const samples = c.data.length >= 2 ? numSamples(c.data) : -1;
    return { encoding: c.encoding, mint: meta.mint, maxt: meta.maxt, samples, data: c.data };
  }
}

/** The empty chain of a series selected for its labels only. */
const NO_SAMPLES = new BlockChain(
  [],
  {
    chunk() {
      throw new ContrailError("internal", "no chunks to read");
    },
  },
  0,
  -1,
  [],
);

class BlockSeriesView implements Series {
  readonly labels: Labels;
  private readonly src: BlockChain;

  constructor(labels: Labels, src: BlockChain) {
    this.labels = labels;
    this.src = src;
  }

  /**
   * The series' chunks, float and histogram ones alike; null when it has deleted intervals (its iterator skips
   * them; chunks cannot say so).
   */
  chunks(): readonly ChunkSource[] | null {
    return this.src.deleted.length > 0 ? null : [this.src];
  }

  iterator(reuse?: SampleIterator): SampleIterator {
    const kind = this.src.histograms ? ChunkChainIterator : FloatChainIterator;
    if (reuse instanceof ChunkChainIterator && reuse.constructor === kind) {
      reuse.reset(this.src);
      return reuse;
    }
    return new kind(this.src);
  }
}

class LabelsOnlySeries implements Series {
  readonly labels: Labels;

  constructor(labels: Labels) {
    this.labels = labels;
  }

  iterator(): SampleIterator {
    return new ChunkChainIterator(NO_SAMPLES);
  }

  chunks(): readonly ChunkSource[] {
    return [];
  }
}

/**
 * The thread's decoder of batch reads: a read holds it only while it runs, so one serves every series (made per
 * series, its buffers were a tenth of a one-series query on the main thread).
 */
const threadReader = new ChainReader();

/** The iterator of a float-only series: also reads in batches (`readInto`), straight from the XOR chunks. */
class FloatChainIterator extends ChunkChainIterator {
  // The same samples as seek(mint) and next() up to maxt, a chunk at a time (chunk-chain.ts).
  readInto(mint: number, maxt: number, out: SampleBuffer): void {
    this.ended = true;
    threadReader.read(this.src, mint, maxt, out);
  }
}

/**
 * A querier over several queriers (blocks and the head) as one: series with identical labels become one series
 * whose samples are merged by time; at equal timestamps the sample of the earlier querier in `queriers` wins.
 * Children are asked for sorted series; the result is sorted. Closing it closes them all.
 */
export function mergeQuerier(queriers: readonly Querier[]): Querier {
  if (queriers.length === 1) return queriers[0];
  return new MergeQuerier(queriers);
}

class MergeQuerier implements Querier {
  private readonly queriers: readonly Querier[];

  constructor(queriers: readonly Querier[]) {
    this.queriers = queriers;
  }

  select(matchers: readonly Matcher[], hints: SelectHints): SeriesSet {
    if (this.queriers.length === 0) return EMPTY_SET;
    // Object.assign, not an object spread: in V8 11 a spread's copy survives scavenges, and what it points to with it.
    const sets = this.queriers.map((q) => q.select(matchers, Object.assign({}, hints, { sorted: true })));
    const warnings = [...new Set(sets.flatMap((s) => s.warnings))];
    const limit = hints.limit !== undefined && hints.limit > 0 ? hints.limit : Number.POSITIVE_INFINITY;
    return new LazySeriesSet(() => mergeSeriesSets(sets, limit), warnings);
  }

  labelNames(matchers: readonly Matcher[], hints?: LabelHints): string[] {
    return limitList(mergeSorted(this.queriers.map((q) => q.labelNames(matchers, hints))), hints);
  }

  labelValues(name: string, matchers: readonly Matcher[], hints?: LabelHints): string[] {
    return limitList(mergeSorted(this.queriers.map((q) => q.labelValues(name, matchers, hints))), hints);
  }

  close(): void {
    for (const q of this.queriers) q.close();
  }
}

// Union of sorted string lists, sorted, without duplicates.
function mergeSorted(lists: readonly string[][]): string[] {
  const all = new Set<string>();
  for (const l of lists) for (const s of l) all.add(s);
  return [...all].sort(compareStrings);
}

// The merge of the sets' series, at most `limit`: of two sets (two blocks, or a block and the head: the common case)
// with one label comparison a series, of more through a generator.
function mergeSeriesSets(sets: readonly SeriesSet[], limit: number): Iterator<Series> {
  return sets.length === 2
    ? new MergeTwo(sets[0][Symbol.iterator](), sets[1][Symbol.iterator](), limit)
    : mergeMany(sets, limit);
}

const MERGE_DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** The merge of two sorted series sets, as `mergeMany` merges them: series of equal labels merged, the first's first. */
class MergeTwo implements Iterator<Series> {
  private readonly ia: Iterator<Series>;
  private readonly ib: Iterator<Series>;
  private readonly limit: number;
  private a: Series | undefined;
  private b: Series | undefined;
  private started = false;
  private n = 0;

  /** Merges the series of `ia` and `ib` (each sorted by labels), at most `limit`; neither is read before `next`. */
  constructor(ia: Iterator<Series>, ib: Iterator<Series>, limit: number) {
    this.ia = ia;
    this.ib = ib;
    this.limit = limit;
  }

  next(): IteratorResult<Series> {
    if (this.n >= this.limit) return MERGE_DONE;
    if (!this.started) {
      this.started = true;
      this.a = pull(this.ia);
      this.b = pull(this.ib);
    }
    const a = this.a;
    const b = this.b;
    let s: Series;
    if (a === undefined) {
      if (b === undefined) return MERGE_DONE;
      s = b;
      this.b = pull(this.ib);
    } else if (b === undefined) {
      s = a;
      this.a = pull(this.ia);
    } else {
      const c = a.labels.compare(b.labels);
      if (c < 0) {
        s = a;
        this.a = pull(this.ia);
      } else if (c > 0) {
        s = b;
        this.b = pull(this.ib);
      } else {
        s = new MergedSeries([a, b]);
        this.a = pull(this.ia);
        this.b = pull(this.ib);
      }
    }
    this.n++;
    return { done: false, value: s };
  }
}

function* mergeMany(sets: readonly SeriesSet[], limit: number): Generator<Series> {
  const its = sets.map((s) => s[Symbol.iterator]());
  const cur: (Series | undefined)[] = its.map((it) => pull(it));
  let n = 0;
  while (n < limit) {
    let min: Labels | undefined;
    for (const s of cur) if (s !== undefined && (min === undefined || s.labels.compare(min) < 0)) min = s.labels;
    if (min === undefined) return;
    const group: Series[] = [];
    for (let i = 0; i < cur.length; i++) {
      const s = cur[i];
      if (s !== undefined && s.labels.compare(min) === 0) {
        group.push(s);
        cur[i] = pull(its[i]);
      }
    }
    n++;
    yield group.length === 1 ? group[0] : new MergedSeries(group);
  }
}

function pull(it: Iterator<Series>): Series | undefined {
  const r = it.next();
  return r.done ? undefined : r.value;
}

class MergedSeries implements Series {
  readonly labels: Labels;
  private readonly parts: readonly Series[];

  constructor(parts: readonly Series[]) {
    this.labels = parts[0].labels;
    this.parts = parts;
  }

  iterator(reuse?: SampleIterator): SampleIterator {
    if (reuse instanceof MergeIterator && reuse.width === this.parts.length) {
      reuse.reset(this.parts);
      if (reuse.batchable() === reuse instanceof BatchMergeIterator) return reuse;
    }
    const its = this.parts.map((p) => p.iterator());
    // Batches carry floats only: a part that may give histograms is merged sample by sample.
    return its.every((it) => it.readInto !== undefined) ? new BatchMergeIterator(its) : new MergeIterator(its);
  }

  /** The parts' sources in the parts' order (which is the merge's order of precedence); null if a part has none. */
  chunks(): readonly ChunkSource[] | null {
    const out: ChunkSource[] = [];
    for (const p of this.parts) {
      const sources = p.chunks?.() ?? null;
      if (sources === null) return null;
      for (const src of sources) out.push(src);
    }
    return out;
  }
}

/**
 * Merges sample iterators by time, each sample with its kind; equal timestamps yield one sample, the first
 * iterator's. Also merges the sources of a series a query worker received as chunks (api/query-pool).
 */
export class MergeIterator implements SampleIterator {
  protected its: SampleIterator[];
  /** Current timestamp per iterator; +Infinity once exhausted, NaN before the first move. */
  protected readonly ts: Float64Array;
  /** Kind of each iterator's current sample. */
  private readonly kinds: ValueKind[];
  protected cur = -1;

  constructor(its: SampleIterator[]) {
    this.its = its;
    this.ts = new Float64Array(its.length).fill(Number.NaN);
    this.kinds = its.map(() => "none");
  }

  /** Whether every part can read in batches (they are all float-only). */
  batchable(): boolean {
    return this.its.every((it) => it.readInto !== undefined);
  }

  /** The current sample's histogram, when the last move returned "histogram". */
  atH(): Histogram {
    const h = this.its[this.cur]?.atH?.();
    if (h === undefined) throw new ContrailError("internal", "atH() called on a float sample");
    return h;
  }

  /** Number of iterators merged. */
  get width(): number {
    return this.its.length;
  }

  /** Starts over on the series `parts` (as many as this iterator merges), reusing the part iterators. */
  reset(parts: readonly Series[]): void {
    this.its = parts.map((p, i) => p.iterator(this.its[i]));
    this.ts.fill(Number.NaN);
    this.cur = -1;
  }

  atT(): number {
    return this.ts[this.cur];
  }

  atV(): number {
    return this.its[this.cur].atV();
  }

  next(): ValueKind {
    const ts = this.ts;
    const last = this.cur < 0 ? Number.NaN : ts[this.cur];
    for (let i = 0; i < this.its.length; i++) {
      // Move the iterators that have not started and those standing on the sample just returned.
      if (Number.isNaN(ts[i]) || ts[i] === last) ts[i] = this.move(i, this.its[i].next());
    }
    return this.pick();
  }

  seek(t: number): ValueKind {
    if (this.cur >= 0 && this.ts[this.cur] >= t) return this.kinds[this.cur];
    for (let i = 0; i < this.its.length; i++) {
      if (Number.isNaN(this.ts[i]) || this.ts[i] < t) this.ts[i] = this.move(i, this.its[i].seek(t));
    }
    return this.pick();
  }

  private move(i: number, k: ValueKind): number {
    this.kinds[i] = k;
    return k === "none" ? Number.POSITIVE_INFINITY : this.its[i].atT();
  }

  private pick(): ValueKind {
    let best = -1;
    for (let i = 0; i < this.ts.length; i++) {
      if (this.ts[i] !== Number.POSITIVE_INFINITY && (best < 0 || this.ts[i] < this.ts[best])) best = i;
    }
    if (best < 0) {
      this.cur = -1;
      this.ts.fill(Number.POSITIVE_INFINITY);
      return "none";
    }
    this.cur = best;
    return this.kinds[best];
  }
}

/** A merge of float-only parts that also reads in batches. */
class BatchMergeIterator extends MergeIterator {
  /** Per-part buffers and errors of `readInto`, reused from series to series. */
  private readonly parts: SampleBuffer[] = [];
  private readonly errors: unknown[] = [];

  // Reads every part's samples in the range, then merges them by time; at equal timestamps the earliest part wins.
  // A part that fails throws where the merge would have met the failure: at the seek when it gave no sample,
  // otherwise when the merge moves that part past its last good sample.
  readInto(mint: number, maxt: number, out: SampleBuffer): void {
    const k = this.its.length;
    const parts = this.parts;
    const errors = this.errors;
    while (parts.length < k) parts.push(new SampleBuffer(64));
    for (let i = 0; i < k; i++) {
      const it = this.its[i];
      const b = parts[i];
      b.n = 0;
      errors[i] = undefined;
      try {
        if (it.readInto !== undefined) it.readInto(mint, maxt, b);
        else {
          for (let kind = it.seek(mint); kind !== "none"; kind = it.next()) {
            const t = it.atT();
            if (t > maxt) break;
            b.push(t, it.atV());
          }
        }
      } catch (err) {
        errors[i] = err ?? new ContrailError("internal", "merge: a part failed");
      }
    }
    this.cur = -1;
    this.ts.fill(Number.POSITIVE_INFINITY);
    mergeParts(parts, errors, k, out);
  }
}
