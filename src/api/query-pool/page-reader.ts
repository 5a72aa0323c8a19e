// The worker's side of a selection: pages turned back into Series. Samples stay in the page's shared arrays (views,
// no copies); chunks stay encoded until the engine reads their series, then are decoded by the TSDB's own chain
// readers (tsdb/chunk-chain.ts for float-only series in batches, tsdb/chain-iterator.ts sample by sample with
// their kinds for series holding native histograms), so a series reads exactly as it would have on the main thread.

import { ContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import { histogramPointSamples } from "../../model/histogram-size.ts";
import { Labels } from "../../model/labels.ts";
import { SampleBuffer } from "../../model/sample.ts";
import type { SampleIterator, Series, SeriesSet, ValueKind } from "../../storage/interface.ts";
import { SeriesView } from "../../storage/memory.ts";
import { ChunkChainIterator } from "../../tsdb/chain-iterator.ts";
import { type Chain, ChainReader } from "../../tsdb/chunk-chain.ts";
import { type Chunk, Encoding } from "../../tsdb/chunkenc/chunk.ts";
import { MergeIterator } from "../../tsdb/querier.ts";
import type { Interval } from "../../tsdb/tombstones/tombstones.ts";
import { HistogramSeriesView } from "./histogram-series.ts";
import type { SeriesPage } from "./protocol.ts";
import { SampleBudget } from "./sample-budget.ts";

/** Initial capacity of a buffer that may never be used (samples). */
const EMPTY = 1;

/**
 * What the series of one selection share when read: the job's budget, and the thread's chain reader with its
 * scratch buffer (decoding is synchronous, one read at a time, so one of each serves every series of every
 * selection the thread reads; they keep the size of the largest read, and the decoder a view of the last page
 * it read chunks from in place).
 */
interface SharedReads {
  readonly budget: SampleBudget;
  readonly reader: ChainReader;
  readonly scratch: SampleBuffer;
}

const threadReader = new ChainReader();
const threadScratch = new SampleBuffer(64);

/** Where the reading of a page stands: its next entry, and the next of its label pairs, value text, source and
 * histogram. */
interface PageAt {
  entry: number;
  pos: number;
  label: number;
  source: number;
  histogram: number;
}

/**
 * Collects pages back into series, in order, each series made only when the reading reaches it: a page's series
 * are not all made when it arrives, since objects alive at a scavenge are copied (and soon promoted), and a page
 * may hold thousands of series.
 */
export class PageReader {
  /** Pages added and not read through; the first is read from `at`. */
  private readonly pages: SeriesPage[] = [];
  private readonly at: PageAt = { entry: 0, pos: 0, label: 0, source: 0, histogram: 0 };
  /** The last series made: the next page may continue it. */
  private last: Series | null = null;
  private readonly shared: SharedReads;
  private warnings: readonly string[] = [];

  /** A reader counting the samples it is given against `budget` (none by default). */
  constructor(budget = new SampleBudget(Number.POSITIVE_INFINITY)) {
    this.shared = { budget, reader: threadReader, scratch: threadScratch };
  }

  /** Adds one page; its samples count against the budget now, a native histogram by its size. */
  add(page: SeriesPage): void {
    let heavier = 0;
    for (const h of page.histograms) heavier += histogramPointSamples(h) - 1;
    this.shared.budget.add(page.offsets[page.offsets.length - 1] + heavier);
    this.pages.push(page);
    if (page.done) this.warnings = page.warnings;
  }

  /** Every series of the pages added, with the selection's warnings (the pages are read through). */
  result(): SeriesSet {
    return Object.assign([...this.take(true)], { warnings: this.warnings });
  }

  /**
   * The series of the pages added that a later page cannot continue (every one when `done`, else all but the
   * last), each made as the iteration reaches it and then forgotten: a reader drained after each page holds one
   * series at most.
   */
  *take(done: boolean): Generator<Series> {
    for (let page = this.pages[0]; page !== undefined; page = this.pages[0]) {
      while (this.at.entry < page.pairs.length) {
        const started = this.read(page);
        if (started === null) continue;
        const before = this.last;
        this.last = started;
        if (before !== null) yield before;
      }
      this.pages.shift();
      this.at.entry = this.at.pos = this.at.label = this.at.source = this.at.histogram = 0;
    }
    if (!done || this.last === null) return;
    const last = this.last;
    this.last = null;
    yield last;
  }

  /** The selection's warnings, known once its last page was added. */
  get selectionWarnings(): readonly string[] {
    return this.warnings;
  }

  // Reads the next entry of `page`: the series it starts, or null when it continues the last one (which it extends).
  private read(page: SeriesPage): Series | null {
    const at = this.at;
    const i = at.entry++;
    const continues = i === 0 && page.continued;
    let labels: Labels | null = null;
    if (!continues) {
      const names = page.names;
      const flat: string[] = new Array(page.pairs[i] * 2);
      for (let k = 0; k < flat.length; k += 2) {
        const len = page.valueLengths[at.label];
        flat[k] = names[page.nameRefs[at.label++]];
        flat[k + 1] = page.values.slice(at.pos, at.pos + len);
        at.pos += len;
      }
      labels = Labels.fromSortedUnchecked(flat);
    }
    if (page.chunked[i] === 1) {
      const s = labels === null ? (this.last as ChunkSeries) : new ChunkSeries(labels, this.shared);
      at.source = s.addChunks(page, page.chunkIndex[i], page.chunkIndex[i + 1], at.source);
      return labels === null ? null : s;
    }
    const from = page.offsets[i];
    const to = page.offsets[i + 1];
    const hs = histogramsIn(page, from, to, at.histogram);
    at.histogram += hs.size;
    if (labels === null) {
      this.extendLast(page.t.subarray(from, to), page.v.subarray(from, to), hs, from);
      return null;
    }
    if (hs.size > 0) {
      return new HistogramSeriesView(labels, page.t.subarray(from, to), page.v.subarray(from, to), rebase(hs, from));
    }
    return new SeriesView(labels, page.t, page.v, from, to);
  }

  // Appends samples (with the histograms `hs`, keyed by page index from `base`) to the last series read.
  private extendLast(t: Float64Array, v: Float64Array, hs: ReadonlyMap<number, Histogram>, base: number): void {
    const last = this.last;
    if (last === null) return;
    const buf = new SampleBuffer(t.length + 1024);
    const all = new Map<number, Histogram>();
    const it = last.iterator();
    for (let k = it.next(); k !== "none"; k = it.next()) {
      if (k === "histogram" && it.atH !== undefined) all.set(buf.n, it.atH());
      buf.push(it.atT(), it.atV());
    }
    for (const [i, h] of hs) all.set(buf.n + i - base, h);
    buf.reserve(t.length);
    buf.t.set(t, buf.n);
    buf.v.set(v, buf.n);
    buf.n += t.length;
    this.last =
      all.size > 0
        ? new HistogramSeriesView(last.labels, buf.t.subarray(0, buf.n), buf.v.subarray(0, buf.n), all)
        : new SeriesView(last.labels, buf.t, buf.v, 0, buf.n);
  }
}

/** The histograms of the page's samples [from, to), by page sample index; `j` is the first one not yet taken. */
function histogramsIn(page: SeriesPage, from: number, to: number, j: number): Map<number, Histogram> {
  const out = new Map<number, Histogram>();
  const at = page.histogramAt;
  for (; j < at.length && at[j] < to; j++) if (at[j] >= from) out.set(at[j], page.histograms[j]);
  return out;
}

/** `hs` keyed from `base` on. */
function rebase(hs: ReadonlyMap<number, Histogram>, base: number): Map<number, Histogram> {
  const out = new Map<number, Histogram>();
  for (const [i, h] of hs) out.set(i - base, h);
  return out;
}

/** Deleted intervals of a series received as chunks: none (a series with deletions travels as samples, pages.ts). */
const NO_DELETIONS: readonly Interval[] = [];

/** A run of a chain's chunks in one page: chunks `first`.. of `page`, from the chain's chunk `at` on. */
interface ChunkRun {
  readonly page: SeriesPage;
  readonly first: number;
  readonly at: number;
}

/**
 * One source of a series as received: its range and where its chunks lie in the pages. A chunk's bytes are viewed
 * only when it is read, so a series holds no object per chunk for the whole query (objects that live that long are
 * copied by every scavenge of the worker's heap). A source's chunks follow each other in its pages: one run in
 * the page it begins in (almost every source), one more per page it continues on.
 */
class WireChain implements Chain {
  readonly mint: number;
  readonly maxt: number;
  readonly deleted = NO_DELETIONS;
  length = 0;
  /** The first run: chunks `first`.. of `page`, `firstLength` of them. */
  private readonly page: SeriesPage;
  private readonly first: number;
  private firstLength = 0;
  /** The runs after the first, when the source continues on later pages. */
  private more: ChunkRun[] | null = null;

  /** A source with the range [mint, maxt] ms, whose chunks begin with chunk `first` of `page`. */
  constructor(mint: number, maxt: number, page: SeriesPage, first: number) {
    this.mint = mint;
    this.maxt = maxt;
    this.page = page;
    this.first = first;
  }

  /** Adds chunk `k` of `page` as the chain's next chunk. */
  push(page: SeriesPage, k: number): void {
    if (this.more === null && page === this.page && k === this.first + this.firstLength) this.firstLength++;
    else {
      this.more ??= [];
      const last = this.more[this.more.length - 1];
      if (last === undefined || last.page !== page || k !== last.first + this.length - last.at) {
        this.more.push({ page, first: k, at: this.length });
      }
    }
    this.length++;
  }

  chunkMint(i: number): number {
    if (i < this.firstLength) return this.page.chunkRanges[2 * (this.first + i)];
    const r = this.run(i);
    return r.page.chunkRanges[2 * (r.first + i - r.at)];
  }

  chunkMaxt(i: number): number {
    if (i < this.firstLength) return this.page.chunkRanges[2 * (this.first + i) + 1];
    const r = this.run(i);
    return r.page.chunkRanges[2 * (r.first + i - r.at) + 1];
  }

  chunkData(i: number): Chunk {
    if (i < this.firstLength) return chunkOf(this.page, this.first + i);
    const r = this.run(i);
    return chunkOf(r.page, r.first + i - r.at);
  }

  chunkName(i: number): string {
    return `${i} of a series read in a query worker`;
  }

  // The run after the first holding the chain's chunk `i`.
  private run(i: number): ChunkRun {
    const more = this.more ?? [];
    let r = more.length - 1;
    while (r > 0 && more[r].at > i) r--;
    return more[r];
  }
}

/** Chunk `k` of `page`: its encoding and a view of its bytes. */
function chunkOf(page: SeriesPage, k: number): Chunk {
  const start = k === 0 ? 0 : page.chunkEnds[k - 1];
  return { encoding: page.chunkEncodings[k] as Encoding, data: page.chunkBytes.subarray(start, page.chunkEnds[k]) };
}

/**
 * A series received as chunks, decoded when read. A float-only one counts its samples against the budget on its
 * first read; one holding native histograms (some chunk of a histogram encoding) counts each sample the first time
 * a read passes it.
 */
class ChunkSeries implements Series {
  readonly labels: Labels;
  readonly sources: WireChain[] = [];
  readonly shared: SharedReads;
  /** True once a chunk of a histogram encoding was added: the series is then read sample by sample, with kinds. */
  histograms = false;
  private counted = false;
  /** The newest sample time counted so far, ms (series holding histograms). */
  private countedT = Number.NEGATIVE_INFINITY;

  constructor(labels: Labels, shared: SharedReads) {
    this.labels = labels;
    this.shared = shared;
  }

  /**
   * Adds the chunks `[from, to)` of `page`; `sj` is the page's next source start. Chunks before a source start
   * continue the last source. Returns the next source start after these chunks.
   */
  addChunks(page: SeriesPage, from: number, to: number, sj: number): number {
    let chain = this.sources[this.sources.length - 1];
    let next = sj;
    for (let k = from; k < to; k++) {
      if (next < page.sourceStarts.length && page.sourceStarts[next] === k) {
        chain = new WireChain(page.sourceRanges[2 * next], page.sourceRanges[2 * next + 1], page, k);
        this.sources.push(chain);
        next++;
      }
      if (chain === undefined) throw new ContrailError("internal", "a page's chunks came before their source");
      if (page.chunkEncodings[k] !== Encoding.xor) this.histograms = true;
      chain.push(page, k);
    }
    return next;
  }

  iterator(reuse?: SampleIterator): SampleIterator {
    if (this.histograms) return new KindsIterator(this);
    if (reuse instanceof ChunkSeriesIterator) {
      reuse.reset(this);
      return reuse;
    }
    return new ChunkSeriesIterator(this);
  }

  /**
   * Counts the series' samples on its first read: the `n` samples a read of [mint, maxt] ms gave when that covers
   * every source, else those of the whole series, decoded once more to count them.
   */
  count(mint: number, maxt: number, n: number): void {
    if (this.counted) return;
    this.counted = true;
    let all = n;
    if (this.sources.some((s) => s.mint < mint || s.maxt > maxt)) {
      const scratch = this.shared.scratch;
      scratch.n = 0;
      this.shared.reader.readMerged(this.sources, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, scratch);
      all = scratch.n;
    }
    this.shared.budget.add(all);
  }

  /**
   * Counts the sample at `t` ms as one sample, histogram or not, when no read has passed it yet (reads go forward in
   * time, so each counts once). This bounds reading work; the memory a histogram takes once decoded is weighed by
   * its size in the engine's own count, which holds such samples as Prometheus's does.
   */
  countAt(t: number): void {
    if (t <= this.countedT) return;
    this.countedT = t;
    this.shared.budget.add(1);
  }
}

/**
 * Iterates a ChunkSeries holding native histograms sample by sample, with each sample's kind, as the store's
 * iterators read such a series: each source through the TSDB's chain iterator, several sources merged by time (at
 * equal timestamps the earlier source's sample). No batch read: batches carry floats only.
 */
class KindsIterator implements SampleIterator {
  private readonly series: ChunkSeries;
  private readonly it: ChunkChainIterator | MergeIterator;

  constructor(series: ChunkSeries) {
    this.series = series;
    const its = series.sources.map((c) => new ChunkChainIterator(c));
    this.it = its.length === 1 ? its[0] : new MergeIterator(its);
  }

  next(): ValueKind {
    return this.counted(this.it.next());
  }

  seek(t: number): ValueKind {
    return this.counted(this.it.seek(t));
  }

  atT(): number {
    return this.it.atT();
  }

  atV(): number {
    return this.it.atV();
  }

  atH(): Histogram {
    return this.it.atH();
  }

  private counted(k: ValueKind): ValueKind {
    if (k !== "none") this.series.countAt(this.it.atT());
    return k;
  }
}

/** Iterates a ChunkSeries: `readInto` decodes straight into the caller's buffer; `next`/`seek` decode it first. */
class ChunkSeriesIterator implements SampleIterator {
  private series: ChunkSeries;
  /** The series' samples for `next`/`seek`, decoded on the first of them. */
  private readonly buf = new SampleBuffer(EMPTY);
  private decoded = false;
  /** The error that cut decoding short, thrown once the samples before it have been read. */
  private failure: unknown = undefined;
  private i = -1;

  constructor(series: ChunkSeries) {
    this.series = series;
  }

  reset(series: ChunkSeries): void {
    this.series = series;
    this.decoded = false;
    this.failure = undefined;
    this.i = -1;
  }

  readInto(mint: number, maxt: number, out: SampleBuffer): void {
    const before = out.n;
    this.series.shared.reader.readMerged(this.series.sources, mint, maxt, out);
    this.series.count(mint, maxt, out.n - before);
    this.decoded = true;
    this.buf.n = 0;
    this.i = 0;
  }

  next(): ValueKind {
    this.decode();
    if (this.i < this.buf.n) this.i++;
    return this.at();
  }

  seek(t: number): ValueKind {
    this.decode();
    if (this.i < 0) this.i = 0;
    const ts = this.buf.t;
    while (this.i < this.buf.n && ts[this.i] < t) this.i++;
    return this.at();
  }

  // The kind of the sample at `i`; past the last one, the decoding error if there was one.
  private at(): ValueKind {
    if (this.i < this.buf.n) return "float";
    if (this.failure !== undefined) throw this.failure;
    return "none";
  }

  atT(): number {
    return this.buf.t[this.i];
  }

  atV(): number {
    return this.buf.v[this.i];
  }

  private decode(): void {
    if (this.decoded) return;
    this.decoded = true;
    const all = this.buf;
    all.n = 0;
    try {
      this.series.shared.reader.readMerged(
        this.series.sources,
        Number.NEGATIVE_INFINITY,
        Number.POSITIVE_INFINITY,
        all,
      );
    } catch (err) {
      this.failure = err;
      return;
    }
    this.series.count(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, all.n);
  }
}
