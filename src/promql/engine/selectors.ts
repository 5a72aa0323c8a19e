// Reading samples: instant vector selectors (lookback and staleness), the window of a range selector for each
// step, `smoothed` instant selectors, and range selectors evaluated on their own (an instant query of `foo[5m]`).
// Samples stream from the storage iterator into reused typed-array windows; nothing is allocated per sample.

import type { Histogram } from "../../model/histogram.ts";
import { cloneHistogram } from "../../model/histogram-buckets.ts";
import { histogramPointSamples } from "../../model/histogram-size.ts";
import type { Labels } from "../../model/labels.ts";
import { isStaleNaN as isStale, SampleBuffer } from "../../model/sample.ts";
import type { SampleIterator, Series as StorageSeries } from "../../storage/interface.ts";
import type { Annotation } from "./annotations.ts";
import { evalError, type QueryContext, tooManySamples } from "./context.ts";
import type { Evaluator } from "./evaluator.ts";
import type { MatrixNode, SelectorNode } from "./plan.ts";
import { keepHistogramStats, smoothedHistogram } from "./selector-histograms.ts";
import { INITIAL_POINTS, type Matrix, Series } from "./value.ts";

/** A series to read: its labels, whether its name is already marked for removal (absent: no), and its samples.
 * A storage series is one as it is. */
export interface SourceSeries {
  readonly labels: Labels;
  readonly dropName?: boolean;
  iterator(reuse?: SampleIterator): SampleIterator;
}

function storageWarning(text: string): Annotation {
  return { level: "warning", key: text, pos: null, render: () => text };
}

/** The series of `node` from storage, selected once per query. */
export function selectSeries(q: QueryContext, node: SelectorNode): StorageSeries[] {
  if (node.series === null) {
    const hints = node.hints ?? { start: 0, end: 0 };
    const set = q.querier.select(node.matchers, hints);
    node.series = [...set];
    for (const w of set.warnings) q.annotations.add(storageWarning(w));
  }
  return node.series;
}

/**
 * The series of `node` one at a time, for a caller that reads each once and keeps nothing of it (an aggregation
 * folding them): the selection cached on the node when there is one, else a fresh selection that is not cached, so
 * a store that sends its series in pages holds only the pages being read. Its warnings are added once it has been
 * read through (a paged store knows them only then). Each call reads the selection anew.
 */
export function* streamSeries(q: QueryContext, node: SelectorNode): Generator<StorageSeries, void, undefined> {
  if (node.series !== null) {
    yield* node.series;
    return;
  }
  const set = q.querier.select(node.matchers, node.hints ?? { start: 0, end: 0 });
  yield* set;
  for (const w of set.warnings) q.annotations.add(storageWarning(w));
}

/** Storage series as sources (their names are not marked for removal). */
export function storageSources(series: readonly StorageSeries[]): readonly SourceSeries[] {
  return series;
}

/** Iterates the points of an evaluated series, so a subquery result can be read like stored data. */
class PointsIterator implements SampleIterator {
  private s: Series;
  private i = -1;

  constructor(s: Series) {
    this.s = s;
  }

  reset(s: Series): void {
    this.s = s;
    this.i = -1;
  }

  private kind() {
    if (this.i >= this.s.n) return "none" as const;
    return this.s.histAt(this.i) === undefined ? ("float" as const) : ("histogram" as const);
  }

  next() {
    if (this.i < this.s.n) this.i++;
    return this.kind();
  }

  seek(t: number) {
    if (this.i < 0) this.i = 0;
    while (this.i < this.s.n && this.s.t[this.i] < t) this.i++;
    return this.kind();
  }

  atT(): number {
    return this.s.t[this.i];
  }

  atV(): number {
    return this.s.v[this.i];
  }

  atH(): Histogram {
    return this.s.histAt(this.i) as Histogram;
  }

  readInto(mint: number, maxt: number, out: SampleBuffer): void {
    const s = this.s;
    const a = lowerBound(s.t, 0, s.n, mint);
    const b = lowerBound(s.t, a, s.n, maxt + 1);
    out.appendFrom(s.t, s.v, s.h, a, b);
    this.i = s.n;
  }
}

// First index in [lo, hi) with t[i] >= x.
function lowerBound(t: Float64Array, lo: number, hi: number, x: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (t[mid] < x) a = mid + 1;
    else b = mid;
  }
  return a;
}

/**
 * Replaces the content of `out` with the samples of the fresh iterator `it` with `mint <= t <= maxt` (ms), in one
 * batch when the iterator can, else sample by sample.
 */
export function loadSamples(it: SampleIterator, mint: number, maxt: number, out: SampleBuffer): void {
  out.clear();
  appendSamples(it, mint, maxt, out);
}

/** Appends to `out` the samples of the fresh iterator `it` with `mint <= t <= maxt` (ms), as {@link loadSamples}. */
export function appendSamples(it: SampleIterator, mint: number, maxt: number, out: SampleBuffer): void {
  if (it.readInto !== undefined) {
    it.readInto(mint, maxt, out);
    return;
  }
  for (let k = it.seek(mint); k !== "none"; k = it.next()) {
    const t = it.atT();
    if (t > maxt) break;
    if (k === "histogram" && it.atH !== undefined) {
      // The iterator may reuse its histogram; a stale one (StaleNaN sum) is kept as the float marker.
      const h = it.atH();
      if (isStale(h.sum)) out.push(t, h.sum);
      else out.pushHistogram(t, cloneHistogram(h));
    } else out.push(t, it.atV());
  }
}

/** Removes the staleness markers from `out`, keeping the order of the other samples. */
export function dropStale(out: SampleBuffer): void {
  const t = out.t;
  const v = out.v;
  const h = out.h;
  const n = out.n;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (!Number.isNaN(x) || !isStale(x)) {
      if (k !== i) {
        t[k] = t[i];
        v[k] = x;
        if (h !== null) h[k] = h[i];
      }
      k++;
    }
  }
  out.n = k;
  if (h !== null) h.length = k;
}

/** Evaluated series as sources, keeping their delayed-name-removal mark. */
export function matrixSources(m: Matrix): SourceSeries[] {
  return m.map((s) => ({
    labels: s.labels,
    dropName: s.dropName,
    iterator(reuse?: SampleIterator): SampleIterator {
      if (reuse instanceof PointsIterator) {
        reuse.reset(s);
        return reuse;
      }
      return new PointsIterator(s);
    },
  }));
}

/** Steps of a grid beyond which an instant selector counts every series' points before evaluating any (a second
 * read of the samples), so a grid too long for the sample limit fails at once instead of after whole series. */
export const PRECOUNT_STEPS = 1 << 16;

/**
 * The samples an instant selector over the loaded samples `t`/`v` (first `n`, ascending; `h` their histograms,
 * null when none is one) holds over `ev`'s grid: step `ts` has a point when the newest sample at or before
 * `ref = (at ?? ts) - offset` is younger than the lookback delta and not a staleness marker, and that point
 * weighs 1, or histogramPointSamples for a histogram. O(n): each sample covers a run of steps.
 */
export function countSelectorPoints(
  ev: Evaluator,
  t: Float64Array,
  v: Float64Array,
  n: number,
  offset: number,
  at: number | null,
  h: readonly (Histogram | undefined)[] | null = null,
): number {
  const lookback = ev.q.settings.lookbackDelta;
  const steps = ev.numSteps();
  // Steps before time x: those with ts < x.
  const stepsBefore = (x: number) => Math.min(steps, Math.max(0, Math.ceil((x - ev.start) / ev.interval)));
  if (at !== null) {
    const ref = at - offset;
    let i = n - 1;
    while (i >= 0 && t[i] > ref) i--;
    return i >= 0 && t[i] > ref - lookback && !isStaleValue(v[i]) ? steps * weighSamples(h, i, i + 1) : 0;
  }
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (isStaleValue(v[i])) continue;
    // Sample i is the newest one for refs in [t[i], t[i+1]) and young enough for refs before t[i] + lookback.
    const until = i + 1 < n ? Math.min(t[i + 1], t[i] + lookback) : t[i] + lookback;
    count += Math.max(0, stepsBefore(until + offset) - stepsBefore(t[i] + offset)) * weighSamples(h, i, i + 1);
  }
  return count;
}

function isStaleValue(x: number): boolean {
  return Number.isNaN(x) && isStale(x);
}

/**
 * Evaluates an instant vector selector: for each step the newest sample at or before `ts - offset` that is not
 * older than the lookback delta and not a staleness marker. `at` pins the lookup time (info series); with
 * `recordOrigT` the value becomes the sample's own timestamp; `statsOnly` reads histograms as counts and sums;
 * `floatsOnly` is the error raised for a histogram sample. On long grids that might exceed the sample limit,
 * every series' points are counted before any is computed.
 */
export function evalVectorSelector(
  ev: Evaluator,
  sources: readonly SourceSeries[],
  offset: number,
  opts: SelectorOptions = {},
): Matrix {
  const q = ev.q;
  const at = opts.at ?? null;
  const steps = ev.numSteps();
  if (steps > PRECOUNT_STEPS && steps * sources.length > q.settings.maxSamples - q.current) {
    const buf = new SampleBuffer(Math.min(steps + 64, 4096));
    const lookback = q.settings.lookbackDelta;
    let it: SampleIterator | undefined;
    let total = 0;
    for (const src of sources) {
      q.check();
      it = src.iterator(it);
      loadSamples(it, (at ?? ev.start) - offset - lookback + 1, (at ?? ev.end) - offset, buf);
      total += countSelectorPoints(ev, buf.t, buf.v, buf.n, offset, at, buf.h);
      if (q.current + total > q.settings.maxSamples) tooManySamples();
    }
  }
  const out: Matrix = [];
  eachSelectorSeries(ev, sources, offset, opts, (s) => {
    out.push(s);
    return true;
  });
  return out;
}

/** Options of an instant vector selector's evaluation (see evalVectorSelector). */
export interface SelectorOptions {
  readonly at?: number | null;
  readonly recordOrigT?: boolean;
  readonly statsOnly?: boolean;
  readonly floatsOnly?: string;
}

/**
 * Evaluates an instant vector selector as evalVectorSelector does, without its precount of long grids, handing each
 * series with points to `sink` as soon as it is evaluated (points counted as held), until `sink` returns false.
 * Reads `sources` once, in order: they may be a selection streamed from storage.
 */
export function eachSelectorSeries(
  ev: Evaluator,
  sources: Iterable<SourceSeries>,
  offset: number,
  opts: SelectorOptions,
  sink: (s: Series) => boolean,
): void {
  const q = ev.q;
  const lookback = q.settings.lookbackDelta;
  const at = opts.at ?? null;
  const recordOrigT = opts.recordOrigT === true;
  const steps = ev.numSteps();
  const buf = new SampleBuffer(Math.min(steps + 64, 4096));
  const loadMint = (at ?? ev.start) - offset - lookback + 1;
  const loadMaxt = (at ?? ev.end) - offset;
  let it: SampleIterator | undefined;
  for (const src of sources) {
    q.check();
    it = src.iterator(it);
    loadSamples(it, loadMint, loadMaxt, buf);
    if (opts.statsOnly === true) keepHistogramStats(buf);
    const t = buf.t;
    const v = buf.v;
    const bh = buf.h;
    const n = buf.n;
    if (n === 0) continue;
    // An upper bound of the points: with `at` every step or none; else each sample is the newest one for at most
    // lookback / interval + 1 steps. Points are counted against the limit once the series is done.
    const room = at !== null ? steps : Math.min(steps, n * (Math.floor(lookback / ev.interval) + 1));
    let out1: Series | null = null;
    // What the series' histogram points weigh beyond one sample each.
    let extra = 0;
    let p = 0;
    let lastT = Number.NEGATIVE_INFINITY;
    let lastV = 0;
    for (let ts = ev.start; ts <= ev.end; ts += ev.interval) {
      q.tick();
      const ref = (at ?? ts) - offset;
      // lastT/lastV: the newest sample at or before `ref`; a staleness marker there hides the older ones.
      while (p < n && t[p] <= ref) {
        lastT = t[p];
        lastV = v[p];
        p++;
      }
      if (lastT > ref - lookback && lastT <= ref && (!Number.isNaN(lastV) || !isStale(lastV))) {
        if (out1 === null) out1 = new Series(src.labels, false, room);
        else if (out1.n === out1.t.length) out1.grow(Math.min(out1.n * 2, steps));
        // p - 1 is the sample read last: its histogram, if it is one.
        if (opts.floatsOnly !== undefined && bh !== null && bh[p - 1] !== undefined) evalError(opts.floatsOnly);
        const h = bh === null || recordOrigT ? undefined : bh[p - 1];
        if (h !== undefined) {
          out1.pushH(ts, h);
          extra += histogramPointSamples(h) - 1;
        } else {
          out1.t[out1.n] = ts;
          out1.v[out1.n++] = recordOrigT ? lastT : lastV;
        }
      }
    }
    if (out1 !== null) {
      q.add(out1.n + extra);
      q.loaded += out1.n + extra;
      if (!sink(out1)) return;
    }
  }
}

/** A Window's first room, samples; it grows to the longest series loaded. */
const WINDOW_SAMPLES = 256;
/** Spare window buffers a thread keeps, and the most samples one may hold to be kept (64 Ki: 1 MiB of arrays). */
const MAX_SPARE_WINDOWS = 4;
const MAX_SPARE_WINDOW_SAMPLES = 1 << 16;
const NO_SAMPLES = new Float64Array(0);
/** Buffers of released Windows, for the next ones on this thread (a range-function call's, query after query). */
const spareWindowBuffers: SampleBuffer[] = [];

/**
 * A sliding window over one series: `load` reads the non-stale samples a whole run of steps needs, then successive
 * `fill` calls with non-decreasing bounds move the window `[lo, hi)` over them to the samples with
 * `mint < t <= maxt`.
 */
export class Window {
  /** The loaded samples' buffer: taken from this thread's spares at the first `load`, given back by `release`. */
  private buf: SampleBuffer | null = null;
  /** The loaded samples; the window is `[lo, hi)` of them. */
  t: Float64Array = NO_SAMPLES;
  v: Float64Array = NO_SAMPLES;
  /** The histograms of the loaded samples that are ones; null when all are floats. */
  h: readonly (Histogram | undefined)[] | null = null;
  /** Number of loaded samples. */
  n = 0;
  lo = 0;
  hi = 0;
  /** Number of decreasing value pairs (counter resets) inside the window. */
  drops = 0;

  /**
   * Starts over on another series: reads the samples of the fresh iterator `it` with `mint < t <= maxt` (with
   * `statsOnly`, histograms as their counts and sums, see keepHistogramStats).
   */
  load(it: SampleIterator, mint: number, maxt: number, statsOnly = false): void {
    if (this.buf === null) this.buf = spareWindowBuffers.pop() ?? new SampleBuffer(WINDOW_SAMPLES);
    const buf = this.buf;
    loadSamples(it, mint + 1, maxt, buf);
    if (statsOnly) keepHistogramStats(buf);
    dropStale(buf);
    this.t = buf.t;
    this.v = buf.v;
    this.h = buf.h;
    this.n = buf.n;
    this.lo = 0;
    this.hi = 0;
    this.drops = 0;
  }

  /** Gives the buffer back to this thread's spares (kept when small enough) and empties the window; a later `load`
   * takes a buffer again. The arrays `t` and `v` held before must not be used after. */
  release(): void {
    const buf = this.buf;
    if (buf === null) return;
    this.buf = null;
    this.t = NO_SAMPLES;
    this.v = NO_SAMPLES;
    this.h = null;
    this.n = 0;
    this.lo = 0;
    this.hi = 0;
    this.drops = 0;
    if (spareWindowBuffers.length < MAX_SPARE_WINDOWS && buf.t.length <= MAX_SPARE_WINDOW_SAMPLES) {
      buf.n = 0;
      buf.h = null;
      spareWindowBuffers.push(buf);
    }
  }

  /** Number of samples in the window. */
  get size(): number {
    return this.hi - this.lo;
  }

  /** What the samples in the window weigh in the sample limit: 1 per float, histogramPointSamples per histogram. */
  samples(): number {
    return weighSamples(this.h, this.lo, this.hi);
  }

  /** Bounds for `fill`: (mint, maxt], ms. Fields rather than arguments keep doubles unboxed on this hot path. */
  mint = 0;
  maxt = 0;

  /** Moves the window to (mint, maxt]. */
  fill(mint: number, maxt: number): void {
    this.mint = mint;
    this.maxt = maxt;
    this.fillBounds();
  }

  /** Moves the window to (this.mint, this.maxt]. */
  fillBounds(): void {
    const mint = this.mint;
    const maxt = this.maxt;
    const t = this.t;
    const v = this.v;
    const n = this.n;
    let lo = this.lo;
    let hi = this.hi;
    let drops = this.drops;
    while (hi < n && t[hi] <= maxt) {
      if (hi > lo && v[hi] < v[hi - 1]) drops++;
      hi++;
    }
    while (lo < hi && t[lo] <= mint) {
      if (lo + 1 < hi && v[lo + 1] < v[lo]) drops--;
      lo++;
    }
    this.lo = lo;
    this.hi = hi;
    this.drops = drops;
  }
}

/** What samples [lo, hi) weigh in the sample limit, `h` their histograms (null when none is one): 1 per float,
 * histogramPointSamples per histogram. */
export function weighSamples(h: readonly (Histogram | undefined)[] | null, lo: number, hi: number): number {
  if (h === null) return hi - lo;
  let n = hi - lo;
  for (let i = lo; i < hi; i++) {
    const x = h[i];
    if (x !== undefined) n += histogramPointSamples(x) - 1;
  }
  return n;
}

/** Linear interpolation of the value at `t` between (t1, v1) and (t2, v2); a counter restarts from 0 on a drop. */
export function interpolate(t1: number, v1: number, t2: number, v2: number, t: number, isCounter: boolean): number {
  const y1 = isCounter && v2 < v1 ? 0 : v1;
  return y1 + ((v2 - y1) * (t - t1)) / (t2 - t1);
}

// First index in [lo, hi) with t[i] > x (or >= x when `inclusive`).
function searchAfter(t: Float64Array, lo: number, hi: number, x: number, inclusive: boolean): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (inclusive ? t[mid] < x : t[mid] <= x) a = mid + 1;
    else b = mid;
  }
  return a;
}

/**
 * Turns the samples of an anchored or smoothed range (read with the lookback margin) into the points of
 * [mint, maxt]: a point at each boundary (the sample before it, or for `smoothed` the interpolation across it),
 * and the samples strictly inside. Returns null when no sample lies after `mint`.
 */
export function extendWindow(
  t: Float64Array,
  v: Float64Array,
  lo: number,
  hi: number,
  mint: number,
  maxt: number,
  smoothed: boolean,
): { t: number[]; v: number[] } | null {
  let last = hi - 1;
  const first = Math.max(lo, searchAfter(t, lo, last, mint, false) - 1);
  if (smoothed) last = searchAfter(t, lo, last, maxt, true);
  if (t[last] <= mint) return null;
  const left =
    smoothed && t[first] < mint ? interpolate(t[first], v[first], t[first + 1], v[first + 1], mint, false) : v[first];
  const right =
    smoothed && last > lo && t[last] > maxt
      ? interpolate(t[last - 1], v[last - 1], t[last], v[last], maxt, false)
      : v[last];
  let a = first;
  let b = last;
  if (t[a] <= mint) a++;
  if (t[b] >= maxt) b--;
  const outT = [mint];
  const outV = [left];
  for (let i = a; i <= b; i++) {
    outT.push(t[i]);
    outV.push(v[i]);
  }
  outT.push(maxt);
  outV.push(right);
  return { t: outT, v: outV };
}

/** Evaluates a range selector at the evaluator's single step: each series' raw samples in the range. */
export function evalMatrixSelector(ev: Evaluator, node: MatrixNode): Matrix {
  const q = ev.q;
  const vs = node.selector;
  const lookback = q.settings.lookbackDelta;
  const maxt0 = ev.start - vs.offset;
  const mint0 = maxt0 - node.range;
  let mint = mint0;
  let maxt = maxt0;
  if (vs.anchored) mint -= lookback;
  else if (vs.smoothed) {
    mint -= lookback;
    maxt += lookback;
  }
  const out: Matrix = [];
  const w = new Window();
  let it: SampleIterator | undefined;
  for (const src of storageSources(selectSeries(q, vs))) {
    q.check();
    it = src.iterator(it);
    w.load(it, mint, maxt, vs.statsOnly);
    w.fill(mint, maxt);
    if (w.size === 0) continue;
    let s: Series;
    let samples: number;
    if (vs.anchored || vs.smoothed) {
      const ext = extendWindow(w.t, w.v, w.lo, w.hi, mint0, maxt0, vs.smoothed);
      if (ext === null) continue;
      samples = ext.t.length;
      q.add(samples);
      s = new Series(src.labels, false, ext.t.length);
      for (let i = 0; i < ext.t.length; i++) s.push(ext.t[i], ext.v[i]);
    } else {
      samples = w.samples();
      q.add(samples);
      s = new Series(src.labels, false, w.size);
      const h = w.h;
      for (let i = w.lo; i < w.hi; i++) {
        const x = h === null ? undefined : h[i];
        if (x === undefined) s.push(w.t[i], w.v[i]);
        else s.pushH(w.t[i], x);
      }
    }
    q.loaded += samples;
    out.push(s);
  }
  return out;
}

/**
 * Evaluates a `smoothed` instant selector: the value at each step interpolated between the samples around
 * `ts - offset` (within the lookback delta on both sides), or the last value when none follows.
 */
export function evalSmoothedSelector(ev: Evaluator, node: SelectorNode): Matrix {
  const q = ev.q;
  const lb = q.settings.lookbackDelta;
  const out: Matrix = [];
  const w = new Window();
  let it: SampleIterator | undefined;
  for (const src of storageSources(selectSeries(q, node))) {
    q.check();
    it = src.iterator(it);
    w.load(it, ev.start - node.offset - lb, ev.end - node.offset + lb);
    let s: Series | null = null;
    for (let ts = ev.start; ts <= ev.end; ts += ev.interval) {
      q.tick();
      const dataTS = ts - node.offset;
      w.fill(dataTS - lb, dataTS + lb);
      if (w.size === 0) continue;
      const i = searchAfter(w.t, w.lo, w.hi, dataTS, true);
      if (w.h !== null) {
        const h = smoothedHistogram(ev, node, src.labels, w, i, dataTS);
        if (h === "floats") {
          // Only floats around this step: interpolated below as usual.
        } else {
          if (h !== null) {
            if (s === null) s = new Series(src.labels, false, Math.min(ev.numSteps(), INITIAL_POINTS));
            s.pushH(ts, h);
            q.add(histogramPointSamples(h));
          }
          continue;
        }
      }
      let val: number;
      if (i < w.hi && w.t[i] === dataTS) val = w.v[i];
      else if (i > w.lo && i < w.hi) val = interpolate(w.t[i - 1], w.v[i - 1], w.t[i], w.v[i], dataTS, false);
      else if (i > w.lo) val = w.v[i - 1];
      else continue;
      if (s === null) s = new Series(src.labels, false, Math.min(ev.numSteps(), INITIAL_POINTS));
      s.push(ts, val);
      q.add(1);
    }
    if (s !== null) out.push(s);
  }
  return out;
}
