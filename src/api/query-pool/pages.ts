// The main thread's side of a selection: a SeriesSet read into pages bounded by series, samples, chunk bytes and
// time, so serving a large selection never holds its event loop for long. A series whose store can give its
// encoded chunks (storage/interface.ts `Series.chunks`), float and native histogram chunks alike, travels as chunk
// bytes, decoded by the worker (page-reader.ts); any other series is decoded here and travels as samples.

import type { Histogram } from "../../model/histogram.ts";
import { histogramPointSamples } from "../../model/histogram-size.ts";
import { SampleBuffer } from "../../model/sample.ts";
import { appendSamples } from "../../promql/engine/selectors.ts";
import type { ChunkSource, EncodedChunk, SampleIterator, Series, SeriesSet } from "../../storage/interface.ts";
import { Encoding } from "../../tsdb/chunkenc/chunk.ts";
import { isHistogramEncoding } from "../../tsdb/chunkenc/iterators.ts";
import { NumberList } from "./number-list.ts";
import type { SeriesPage } from "./protocol.ts";

/** Bounds of one page. A page ends at the first bound reached (one read may pass the sample bound). */
export interface PageBounds {
  /** Most series (entries) in a page. */
  readonly series: number;
  /** Decoded samples in a page past which no further read starts. */
  readonly samples: number;
  /** Chunk bytes in a page past which no further chunk is read. */
  readonly bytes: number;
  /** Time spent building a page past which no further read starts, ms; only a page past a small size is cut by it. */
  readonly ms: number;
  /** Samples one read aims at: a long series is read in time windows of about this many samples. */
  readonly readSamples: number;
}

/**
 * Pages of about a megabyte and a few milliseconds of the main thread's time: decoding takes ~100 ns a sample,
 * copying a chunk (~1.4 bytes a sample) about a hundredth of that.
 */
export const DEFAULT_PAGE_BOUNDS: PageBounds = {
  series: 4096,
  samples: 65_536,
  bytes: 1 << 20,
  ms: 4,
  readSamples: 16_384,
};

/**
 * What a page holds before its time bound may end it: series, decoded samples and chunk bytes (any one suffices).
 * Below all three a page costs well under a tenth of a millisecond to build, so a clock past the bound means the
 * thread was preempted or its code was still cold; ending the page then only splits a small selection, which then
 * cannot be evaluated inline (inline.ts) and waits for a worker.
 */
const TIMED_MIN_SERIES = 64;
const TIMED_MIN_SAMPLES = 1024;
const TIMED_MIN_BYTES = 16 << 10;

/** The first window of a selection, as a fraction of its time range, before any sample density is known. */
const FIRST_WINDOW_FRACTION = 1 / 64;
/** Initial size of the thread's sample scratch (samples) and chunk byte scratch (bytes). */
const INITIAL_SAMPLES = 256;
const INITIAL_BYTES = 4096;
/** Chunks copied between two looks at the clock. */
const CHUNKS_PER_CLOCK_CHECK = 16;

/**
 * Chunk bytes of the page being built, shared by every cursor of the thread: a page is built in one synchronous
 * call, so no two builders hold it at once, and each page gets an exact-size copy. It grows to the largest page built
 * (the byte bound and one chunk at most) and stays, so a large selection no longer grows a fresh buffer from a few
 * KiB (8 doublings, their copies and garbage, for a 1 MiB page) each time it is read.
 */
let pageBytes: Uint8Array = new Uint8Array(INITIAL_BYTES);

/**
 * Decoded samples of the page being built, shared by every cursor of the thread as `pageBytes` is (each page gets
 * an exact-size copy). Starts small (most selections are a few series, sent as chunks) and grows to what the
 * largest page needed (the sample bound and one read at most).
 */
const pageSamples = new SampleBuffer(INITIAL_SAMPLES);

/**
 * The number lists of the page being built, shared by every cursor of the thread as `pageBytes` is (each page gets
 * exact-size copies): filled again page after page instead of arrays grown afresh from empty for each (growing
 * them was ~13% of the large case's selection).
 */
const pageLists: NumberList[] = [];

/** The thread's `k`th page list, made on first use. */
function pageList(k: number): NumberList {
  while (pageLists.length <= k) pageLists.push(new NumberList());
  return pageLists[k];
}

/** Where the chunks of the series being read stand. */
interface ChunkState {
  readonly sources: readonly ChunkSource[];
  /** Source and chunk to read next. */
  si: number;
  ci: number;
  /** True once the current source's start has been sent (on this page or an earlier one). */
  started: boolean;
  /** Newest chunk end seen in the current source, and of the chunks counted for the series, ms (see `count`). */
  sourceMaxt: number;
  countedMaxt: number;
}

/**
 * Reads one selection page by page. Decoded samples of a series are read over `[mint, maxt]` (the select hints'
 * range, which is what the storage's iterators hold) in time windows sized from the density seen so far; chunks
 * are copied as they are.
 */
export class SelectionCursor {
  private readonly series: Iterator<Series>;
  private readonly set: SeriesSet;
  private readonly mint: number;
  private readonly maxt: number;
  private readonly bounds: PageBounds;
  /** The series being read and, for one read as samples, the start of its next window (ms); null between series. */
  private current: Series | null = null;
  private from = 0;
  /** The series being read as chunks; null for one read as samples. */
  private chunkState: ChunkState | null = null;
  /** Width of the next read window, ms: sized from the last non-empty read, doubled after an empty one. */
  private span: number;
  private finished = false;
  private countedSamples = 0;

  /** A cursor over `set`, read over [mint, maxt] ms inclusive. */
  constructor(set: SeriesSet, range: { readonly mint: number; readonly maxt: number }, bounds = DEFAULT_PAGE_BOUNDS) {
    this.set = set;
    this.series = set[Symbol.iterator]();
    this.mint = range.mint;
    this.maxt = range.maxt;
    this.bounds = bounds;
    this.span = Math.max(1, Math.ceil((range.maxt - range.mint + 1) * FIRST_WINDOW_FRACTION));
  }

  /** True once the last page was built. */
  get done(): boolean {
    return this.finished;
  }

  /**
   * Samples sent so far, for the query's sample limit: decoded samples exactly (a native histogram by its size,
   * see histogramPointSamples), and for chunks a lower bound of
   * what the worker will decode from them (the samples of chunks wholly inside their source's range, when their
   * count is known and no chunk counted before overlaps them).
   */
  get counted(): number {
    return this.countedSamples;
  }

  /**
   * Builds the next page within `bounds` (the cursor's own unless given); `cursor` is the id the worker will ask for
   * the following one with.
   */
  nextPage(cursor: number, bounds: PageBounds = this.bounds): SeriesPage {
    const p = new PageBuilder(pageSamples, pageBytes, bounds);
    const continued = this.current !== null;
    if (continued) p.entry(0, this.chunkState !== null);
    for (;;) {
      if (this.current === null) {
        if (p.entries >= bounds.series || (p.entries > 0 && p.full())) break;
        const r = this.series.next();
        if (r.done === true) {
          this.finished = true;
          break;
        }
        this.start(r.value, p);
      }
      const spent = this.chunkState !== null ? this.readChunks(p, this.chunkState) : this.readWindows(p);
      p.endEntry();
      if (!spent) break;
      this.current = null;
      this.chunkState = null;
    }
    pageBytes = p.bytes;
    return p.page(cursor, this.finished, continued, this.finished ? [...this.set.warnings] : []);
  }

  // Starts the series `s` as a new entry of `p`: as chunks when its store gives them, else as samples.
  private start(s: Series, p: PageBuilder): void {
    this.current = s;
    this.from = this.mint;
    const sources = s.chunks?.() ?? null;
    this.chunkState =
      sources !== null && sources.length > 0
        ? { sources, si: 0, ci: 0, started: false, sourceMaxt: -Infinity, countedMaxt: -Infinity }
        : null;
    const labels = s.labels;
    const n = labels.size;
    for (let k = 0; k < n; k++) p.label(k, labels.nameAt(k), labels.valueAt(k));
    p.entry(n, this.chunkState !== null);
  }

  // Reads windows of the current series until it is spent (true) or the page is full first (false).
  private readWindows(p: PageBuilder): boolean {
    const s = this.current as Series;
    const out = p.samples;
    while (this.from <= this.maxt) {
      const to = Math.min(this.maxt, this.from + this.span - 1);
      const before = out.n;
      const it = s.iterator();
      let heavier: number;
      if (it.readInto !== undefined) {
        appendSamples(it, this.from, to, out);
        heavier = p.takeHistograms(before);
      } else heavier = p.appendKinds(it, this.from, to);
      const got = out.n - before;
      this.countedSamples += got + heavier;
      const width = to - this.from + 1;
      this.span = got > 0 ? Math.max(1, Math.floor((this.bounds.readSamples * width) / got)) : this.span * 2;
      this.from = to + 1;
      if (this.from <= this.maxt && p.full()) return false;
    }
    return true;
  }

  // Copies chunks of the current series until it is spent (true) or the page is full first (false).
  private readChunks(p: PageBuilder, st: ChunkState): boolean {
    let sinceClock = 0;
    for (; st.si < st.sources.length; st.si++, st.ci = 0, st.started = false, st.sourceMaxt = -Infinity) {
      const src = st.sources[st.si];
      while (st.ci < src.length) {
        if (p.chunkCount > 0 && (p.bytesFull() || (++sinceClock % CHUNKS_PER_CLOCK_CHECK === 0 && p.full()))) {
          return false;
        }
        const c = src.chunk(st.ci++);
        // Chunks of encodings the store's iterators do not read are skipped, as those iterators skip them.
        if (c.encoding !== Encoding.xor && !isHistogramEncoding(c.encoding)) continue;
        if (!st.started) {
          p.source(src.mint, src.maxt);
          st.started = true;
        }
        p.chunk(c);
        // A lower bound of the samples the worker keeps: a chunk wholly inside the source's range whose count is
        // known and which no chunk seen before in its source, nor any counted chunk, reaches.
        if (c.samples >= 0 && c.mint >= src.mint && c.maxt <= src.maxt) {
          if (c.mint > st.sourceMaxt && c.mint > st.countedMaxt) {
            this.countedSamples += c.samples;
            st.countedMaxt = c.maxt;
          }
        }
        if (c.maxt > st.sourceMaxt) st.sourceMaxt = c.maxt;
      }
    }
    return true;
  }
}

/** One page being built: growable arrays of entries, labels, samples and chunks. */
class PageBuilder {
  readonly samples: SampleBuffer;
  bytes: Uint8Array;
  private readonly bounds: PageBounds;
  private readonly started = performance.now();
  private readonly names: string[] = [];
  private readonly nameIds = new Map<string, number>();
  /** The name and its id at each label position of the series before: most series repeat their names in order. */
  private readonly lastNames: string[] = [];
  private readonly lastIds: number[] = [];
  /** The label values in order, joined when the page is made: appended to one string, each would add a rope node
   * that lives (and is copied by every scavenge) until then. */
  private readonly values: string[] = [];
  private readonly pairs = pageList(0);
  private readonly nameRefs = pageList(1);
  private readonly valueLengths = pageList(2);
  private readonly chunked = pageList(3);
  private readonly offsets = pageList(4);
  private readonly chunkIndex = pageList(5);
  private readonly chunkRanges = pageList(6);
  private readonly chunkEnds = pageList(7);
  private readonly chunkEncodings = pageList(8);
  private readonly sourceStarts = pageList(9);
  private readonly sourceRanges = pageList(10);
  private readonly histogramAt = pageList(11);
  private readonly histograms: Histogram[] = [];
  private byteCount = 0;

  /** A page building on the reused buffers `samples` (emptied) and `bytes`. */
  constructor(samples: SampleBuffer, bytes: Uint8Array, bounds: PageBounds) {
    this.samples = samples;
    this.samples.n = 0;
    this.bytes = bytes;
    this.bounds = bounds;
    for (const list of pageLists) list.clear();
    this.offsets.push(0);
    this.chunkIndex.push(0);
  }

  get entries(): number {
    return this.pairs.length;
  }

  get chunkCount(): number {
    return this.chunkEnds.length;
  }

  /** True once a bound on samples or bytes is reached, or the time bound once the page holds enough to be cut. */
  full(): boolean {
    if (this.samples.n >= this.bounds.samples || this.bytesFull()) return true;
    const substantial =
      this.pairs.length >= TIMED_MIN_SERIES || this.samples.n >= TIMED_MIN_SAMPLES || this.byteCount >= TIMED_MIN_BYTES;
    return substantial && performance.now() - this.started >= this.bounds.ms;
  }

  bytesFull(): boolean {
    return this.byteCount >= this.bounds.bytes;
  }

  /** Adds the label at position `k` of the series being started. */
  label(k: number, name: string, value: string): void {
    let id: number;
    if (this.lastNames[k] === name) id = this.lastIds[k];
    else {
      id = this.nameIds.get(name) ?? this.names.length;
      if (id === this.names.length) {
        this.names.push(name);
        this.nameIds.set(name, id);
      }
      this.lastNames[k] = name;
      this.lastIds[k] = id;
    }
    this.nameRefs.push(id);
    this.valueLengths.push(value.length);
    this.values.push(value);
  }

  /** Starts an entry with `pairs` labels (given before it), sent as chunks or as samples. */
  entry(pairs: number, chunked: boolean): void {
    this.pairs.push(pairs);
    this.chunked.push(chunked ? 1 : 0);
  }

  /** Ends the entry: what was added since it started is its samples or chunks. */
  endEntry(): void {
    this.offsets.push(this.samples.n);
    this.chunkIndex.push(this.chunkEnds.length);
  }

  /**
   * Appends the samples of the fresh iterator `it` in [mint, maxt] ms, native histograms included (a series that
   * may hold some has no batch read), stale histogram markers as histograms, as the iterator gives them. Returns
   * what the histograms weigh in the sample limit beyond one sample each (see histogramPointSamples).
   */
  appendKinds(it: SampleIterator, mint: number, maxt: number): number {
    const out = this.samples;
    let heavier = 0;
    for (let k = it.seek(mint); k !== "none"; k = it.next()) {
      const t = it.atT();
      if (t > maxt) break;
      if (k !== "histogram" || it.atH === undefined) {
        out.push(t, it.atV());
        continue;
      }
      const h = it.atH();
      this.histogramAt.push(out.n);
      this.histograms.push(h);
      heavier += histogramPointSamples(h) - 1;
      out.push(t, Number.NaN);
    }
    return heavier;
  }

  /**
   * Moves the native histograms a batch read left in the sample buffer's `h` (samples `from` on) to the page's own
   * histogram list, as `appendKinds` records them; a float-only read left `h` null and costs nothing here. Returns
   * what they weigh in the sample limit beyond one sample each.
   */
  takeHistograms(from: number): number {
    const out = this.samples;
    const h = out.h;
    if (h === null) return 0;
    let heavier = 0;
    for (let i = from; i < out.n; i++) {
      const hist = h[i];
      if (hist === undefined) continue;
      this.histogramAt.push(i);
      this.histograms.push(hist);
      heavier += histogramPointSamples(hist) - 1;
      out.v[i] = Number.NaN;
    }
    out.h = null;
    return heavier;
  }

  /** Starts a chunk source with the range [mint, maxt] ms at the next chunk. */
  source(mint: number, maxt: number): void {
    this.sourceStarts.push(this.chunkEnds.length);
    this.sourceRanges.push(mint);
    this.sourceRanges.push(maxt);
  }

  /** Copies the chunk `c`: its bytes, range and encoding. */
  chunk(c: EncodedChunk): void {
    const data = c.data;
    const end = this.byteCount + data.length;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(Math.max(end, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.byteCount));
      this.bytes = grown;
    }
    this.bytes.set(data, this.byteCount);
    this.byteCount = end;
    this.chunkEnds.push(end);
    this.chunkRanges.push(c.mint);
    this.chunkRanges.push(c.maxt);
    this.chunkEncodings.push(c.encoding);
  }

  /**
   * The page, its arrays exact-size copies laid out in one shared buffer (one allocation, which a worker the page is
   * posted to shares rather than copies: docs/architecture.md, "Query threads never detach a buffer"): the chunk
   * bytes first, so the arrays after them let most chunks be decoded where they lie (xor-batch.ts PADDING), then
   * the float64 arrays, the 32-bit ones and the bytes.
   */
  page(cursor: number, done: boolean, continued: boolean, warnings: string[]): SeriesPage {
    const n = this.samples.n;
    const u32Count =
      this.pairs.length +
      this.nameRefs.length +
      this.valueLengths.length +
      this.offsets.length +
      this.chunkIndex.length +
      this.chunkEnds.length +
      this.sourceStarts.length +
      this.histogramAt.length;
    const floatsAt = Math.ceil(this.byteCount / 8) * 8;
    const floats = 2 * n + this.chunkRanges.length + this.sourceRanges.length;
    const u32At = floatsAt + 8 * floats;
    const u8At = u32At + 4 * u32Count;
    const buffer = new SharedArrayBuffer(u8At + this.chunked.length + this.chunkEncodings.length);
    const chunkBytes = new Uint8Array(buffer, 0, this.byteCount);
    chunkBytes.set(this.bytes.subarray(0, this.byteCount));
    let at = floatsAt;
    const f64 = (from: NumberList): Float64Array => {
      const a = new Float64Array(buffer, at, from.length);
      a.set(from.view());
      at += 8 * from.length;
      return a;
    };
    const u32 = (from: NumberList): Uint32Array => {
      const a = new Uint32Array(buffer, at, from.length);
      a.set(from.view());
      at += 4 * from.length;
      return a;
    };
    const u8 = (from: NumberList): Uint8Array => {
      const a = new Uint8Array(buffer, at, from.length);
      a.set(from.view());
      at += from.length;
      return a;
    };
    const t = new Float64Array(buffer, at, n);
    t.set(this.samples.t.subarray(0, n));
    at += 8 * n;
    const v = new Float64Array(buffer, at, n);
    v.set(this.samples.v.subarray(0, n));
    at += 8 * n;
    const chunkRanges = f64(this.chunkRanges);
    const sourceRanges = f64(this.sourceRanges);
    const page: SeriesPage = {
      cursor,
      done,
      continued,
      pairs: u32(this.pairs),
      names: this.names,
      nameRefs: u32(this.nameRefs),
      valueLengths: u32(this.valueLengths),
      values: this.values.join(""),
      offsets: u32(this.offsets),
      t,
      v,
      chunkIndex: u32(this.chunkIndex),
      chunkRanges,
      chunkEnds: u32(this.chunkEnds),
      chunkBytes,
      sourceStarts: u32(this.sourceStarts),
      sourceRanges,
      histogramAt: u32(this.histogramAt),
      chunked: u8(this.chunked),
      chunkEncodings: u8(this.chunkEncodings),
      histograms: this.histograms,
      warnings,
    };
    return page;
  }
}
