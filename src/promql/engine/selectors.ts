// Reading samples: instant vector selectors (lookback and staleness), the window of a range selector for each
// step, `smoothed` instant selectors, and range selectors evaluated on their own (an instant query of `foo[5m]`).
// Samples stream from the storage iterator into reused typed-array windows; nothing is allocated per sample.

import type { Labels } from "../../model/labels.ts";
import { isStaleNaN as isStale } from "../../model/sample.ts";
import type { SampleIterator, Series as StorageSeries } from "../../storage/interface.ts";
import type { Annotation } from "./annotations.ts";
import type { QueryContext } from "./context.ts";
import type { Evaluator } from "./evaluator.ts";
import type { MatrixNode, SelectorNode } from "./plan.ts";
import { type Matrix, Series } from "./value.ts";

/** A series to read: its labels, whether its name is already marked for removal, and its samples. */
export interface SourceSeries {
  readonly labels: Labels;
  readonly dropName: boolean;
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

/** Storage series as sources (their names are not marked for removal). */
export function storageSources(series: readonly StorageSeries[]): SourceSeries[] {
  return series.map((s) => ({ labels: s.labels, dropName: false, iterator: (r?: SampleIterator) => s.iterator(r) }));
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

  next() {
    if (this.i < this.s.n) this.i++;
    return this.i < this.s.n ? ("float" as const) : ("none" as const);
  }

  seek(t: number) {
    if (this.i < 0) this.i = 0;
    while (this.i < this.s.n && this.s.t[this.i] < t) this.i++;
    return this.i < this.s.n ? ("float" as const) : ("none" as const);
  }

  atT(): number {
    return this.s.t[this.i];
  }

  atV(): number {
    return this.s.v[this.i];
  }
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

/**
 * Evaluates an instant vector selector: for each step the newest sample at or before `ts - offset` that is not
 * older than the lookback delta and not a staleness marker. `at` pins the lookup time (info series); with
 * `recordOrigT` the value becomes the sample's own timestamp.
 */
export function evalVectorSelector(
  ev: Evaluator,
  sources: readonly SourceSeries[],
  offset: number,
  opts: { at?: number | null; recordOrigT?: boolean } = {},
): Matrix {
  const q = ev.q;
  const lookback = q.settings.lookbackDelta;
  const at = opts.at ?? null;
  const steps = ev.numSteps();
  const out: Matrix = [];
  let it: SampleIterator | undefined;
  for (const src of sources) {
    q.check();
    it = src.iterator(it);
    let out1: Series | null = null;
    const firstRef = (at ?? ev.start) - offset;
    let has = it.seek(firstRef - lookback + 1) !== "none";
    let lastT = Number.NEGATIVE_INFINITY;
    let lastV = 0;
    for (let ts = ev.start; ts <= ev.end; ts += ev.interval) {
      const ref = (at ?? ts) - offset;
      if (has && it.atT() <= ref) {
        if (it.atT() <= ref - lookback) {
          has = it.seek(ref - lookback + 1) !== "none";
          lastT = Number.NEGATIVE_INFINITY;
        }
        while (has && it.atT() <= ref) {
          lastT = it.atT();
          lastV = it.atV();
          has = it.next() !== "none";
        }
      }
      if (lastT > ref - lookback && lastT <= ref && (!Number.isNaN(lastV) || !isStale(lastV))) {
        q.add(1);
        q.loaded++;
        if (out1 === null) out1 = new Series(src.labels, false, Math.min(steps, 5000));
        if (out1.n === out1.t.length) out1.grow(out1.n * 2);
        out1.t[out1.n] = ts;
        out1.v[out1.n++] = opts.recordOrigT ? lastT : lastV;
      }
    }
    if (out1 !== null) out.push(out1);
  }
  return out;
}

/**
 * A sliding window over one series: the non-stale samples with `mint < t <= maxt`. Successive `fill` calls with
 * non-decreasing bounds keep the samples still inside and read only the new ones.
 */
export class Window {
  t = new Float64Array(64);
  v = new Float64Array(64);
  /** The window is `[lo, hi)` of `t`/`v`. */
  lo = 0;
  hi = 0;
  /** Number of decreasing value pairs (counter resets) inside the window. */
  drops = 0;
  private it: SampleIterator | null = null;
  private has = false;
  private started = false;

  /** Starts over on another series. */
  reset(it: SampleIterator): void {
    this.it = it;
    this.lo = 0;
    this.hi = 0;
    this.drops = 0;
    this.has = false;
    this.started = false;
  }

  /** Number of samples in the window. */
  get size(): number {
    return this.hi - this.lo;
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
    const it = this.it!;
    const t = this.t;
    const v = this.v;
    while (this.lo < this.hi && t[this.lo] <= mint) {
      if (this.lo + 1 < this.hi && v[this.lo + 1] < v[this.lo]) this.drops--;
      this.lo++;
    }
    if (this.lo === this.hi) {
      this.lo = 0;
      this.hi = 0;
      this.drops = 0;
    }
    if (!this.started) {
      this.started = true;
      this.has = it.seek(mint + 1) !== "none";
    } else if (this.lo === this.hi && this.has && it.atT() <= mint) {
      this.has = it.seek(mint + 1) !== "none";
    }
    while (this.has) {
      const st = it.atT();
      if (st > maxt) break;
      const sv = it.atV();
      if (st > mint && (!Number.isNaN(sv) || !isStale(sv))) {
        if (this.hi === this.t.length) this.makeRoom();
        if (this.hi > this.lo && sv < this.v[this.hi - 1]) this.drops++;
        this.t[this.hi] = st;
        this.v[this.hi] = sv;
        this.hi++;
      }
      this.has = it.next() !== "none";
    }
  }

  // Compacts the window to the front of its arrays, or grows them when it fills more than half.
  private makeRoom(): void {
    const n = this.hi - this.lo;
    if (this.lo > 0 && n < this.t.length / 2) {
      this.t.copyWithin(0, this.lo, this.hi);
      this.v.copyWithin(0, this.lo, this.hi);
    } else {
      const t2 = new Float64Array(this.t.length * 2);
      const v2 = new Float64Array(this.t.length * 2);
      t2.set(this.t.subarray(this.lo, this.hi));
      v2.set(this.v.subarray(this.lo, this.hi));
      this.t = t2;
      this.v = v2;
    }
    this.lo = 0;
    this.hi = n;
  }
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
    w.reset(it);
    w.fill(mint, maxt);
    if (w.size === 0) continue;
    let s: Series;
    if (vs.anchored || vs.smoothed) {
      const ext = extendWindow(w.t, w.v, w.lo, w.hi, mint0, maxt0, vs.smoothed);
      if (ext === null) continue;
      s = new Series(src.labels, false, ext.t.length);
      for (let i = 0; i < ext.t.length; i++) s.push(ext.t[i], ext.v[i]);
    } else {
      s = new Series(src.labels, false, w.size);
      for (let i = w.lo; i < w.hi; i++) s.push(w.t[i], w.v[i]);
    }
    q.add(s.n);
    q.loaded += s.n;
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
    w.reset(it);
    let s: Series | null = null;
    for (let ts = ev.start; ts <= ev.end; ts += ev.interval) {
      const dataTS = ts - node.offset;
      w.fill(dataTS - lb, dataTS + lb);
      if (w.size === 0) continue;
      const i = searchAfter(w.t, w.lo, w.hi, dataTS, true);
      let val: number;
      if (i < w.hi && w.t[i] === dataTS) val = w.v[i];
      else if (i > w.lo && i < w.hi) val = interpolate(w.t[i - 1], w.v[i - 1], w.t[i], w.v[i], dataTS, false);
      else if (i > w.lo) val = w.v[i - 1];
      else continue;
      if (s === null) s = new Series(src.labels, false, Math.min(ev.numSteps(), 5000));
      s.push(ts, val);
      q.add(1);
    }
    if (s !== null) out.push(s);
  }
  return out;
}
