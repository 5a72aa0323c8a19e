// Values the evaluator passes between nodes. Every instant-vector or scalar node evaluates to a matrix over the
// evaluator's steps: one `Series` per label set with the points it has. Points live in growable Float64Arrays
// (timestamps in ms and values side by side), never as one object per sample.
//
// Native histograms are a second point kind: a point that is one has its histogram in the series' (or step
// vector's) `h` array at its index and 0 in `v`. `h` stays null while every point is a float, so float paths only
// ever test it for null.

import type { Histogram } from "../../model/histogram.ts";
import { histogramPointSamples } from "../../model/histogram-size.ts";
import type { Labels } from "../../model/labels.ts";

// Point arrays come from shared slabs: one large buffer serves many series, so evaluating ten thousand series does
// not mean twenty thousand separate ArrayBuffer allocations. Big arrays get their own buffer.
const SLAB = 1 << 16;
let slab = new Float64Array(SLAB);
let slabUsed = 0;

/** A zeroed Float64Array of length `n`, usually a view into a shared slab. */
export function allocFloats(n: number): Float64Array {
  if (n > SLAB >> 4) return new Float64Array(n);
  if (slabUsed + n > SLAB) {
    slab = new Float64Array(SLAB);
    slabUsed = 0;
  }
  const a = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  return a;
}

/** Initial room (points) of an output series whose length is not known in advance. Small, because a query may
 * produce many short series (sparse data over a long range) and room is memory the sample limit does not see;
 * a series that needs more doubles its room as points come. */
export const INITIAL_POINTS = 64;

/** One evaluated series: labels, the delayed `__name__` removal mark, and its float points in time order. */
export class Series {
  labels: Labels;
  /** True when `__name__` (and the other metadata labels) must be dropped once evaluation ends. */
  dropName: boolean;
  /** Timestamps (ms) of the first `n` points; capacity may exceed `n`. */
  t: Float64Array;
  /** Values of the first `n` points. */
  v: Float64Array;
  n = 0;
  /** The histogram of each point that is one (others undefined); null while every point is a float. */
  h: (Histogram | undefined)[] | null = null;

  constructor(labels: Labels, dropName: boolean, capacity = 4) {
    this.labels = labels;
    this.dropName = dropName;
    const cap = Math.max(capacity, 1);
    this.t = allocFloats(cap);
    this.v = allocFloats(cap);
  }

  /** Appends one point; timestamps must not decrease. */
  push(t: number, v: number): void {
    if (this.n === this.t.length) this.grow(this.n * 2);
    this.t[this.n] = t;
    this.v[this.n] = v;
    this.n++;
  }

  /** Appends one histogram point; timestamps must not decrease. The series keeps `h`: it must not change. */
  pushH(t: number, h: Histogram): void {
    if (this.h === null) this.h = [];
    this.h[this.n] = h;
    this.push(t, 0);
  }

  /** The histogram of point `i`, or undefined for a float point. */
  histAt(i: number): Histogram | undefined {
    return this.h === null ? undefined : this.h[i];
  }

  /** Ensures room for `cap` points. */
  grow(cap: number): void {
    if (cap <= this.t.length) return;
    const t = allocFloats(cap);
    const v = allocFloats(cap);
    t.set(this.t.subarray(0, this.n));
    v.set(this.v.subarray(0, this.n));
    this.t = t;
    this.v = v;
  }
}

/** The value of a non-string node: a list of series. A scalar is one series with empty labels. */
export type Matrix = Series[];

/** Samples the points of `s` weigh in the query's sample limit: 1 per float, a histogram by its size
 * (histogramPointSamples), as Prometheus counts a series' points. */
export function seriesSamples(s: Series): number {
  const hs = s.h;
  if (hs === null) return s.n;
  let n = s.n;
  for (let i = 0; i < s.n; i++) {
    const h = hs[i];
    if (h !== undefined) n += histogramPointSamples(h) - 1;
  }
  return n;
}

/** Samples the points of `m` weigh in the query's sample limit (see seriesSamples): Prometheus's
 * Matrix.TotalSamples. */
export function totalSamples(m: Matrix): number {
  let n = 0;
  for (const s of m) n += seriesSamples(s);
  return n;
}

/** True when some series of `m` has a histogram point. */
export function hasHistograms(m: Matrix): boolean {
  for (const s of m) if (s.h !== null) return true;
  return false;
}

/**
 * The points of several series at one step, columnar: `ids[i]` indexes the source matrix, `f[i]` is the value.
 * When `anyH` is set, `h[i]` is the histogram of the entries that are histograms (their `f` is 0).
 */
export class StepVector {
  n = 0;
  ids: Int32Array;
  f: Float64Array;
  /** True when some entry of this step is a histogram; `h` is valid for the first `n` entries then. */
  anyH = false;
  h: (Histogram | undefined)[] = [];

  constructor(capacity: number) {
    const cap = Math.max(capacity, 1);
    this.ids = new Int32Array(cap);
    this.f = new Float64Array(cap);
  }

  /** Appends a sample of source series `id`. */
  push(id: number, f: number): void {
    if (this.n === this.ids.length) {
      const ids = new Int32Array(this.n * 2);
      const f2 = new Float64Array(this.n * 2);
      ids.set(this.ids);
      f2.set(this.f);
      this.ids = ids;
      this.f = f2;
    }
    this.ids[this.n] = id;
    this.f[this.n] = f;
    if (this.anyH) this.h[this.n] = undefined;
    this.n++;
  }

  /** Appends a histogram sample of source series `id`. */
  pushH(id: number, h: Histogram): void {
    if (!this.anyH) {
      this.anyH = true;
      this.h.length = 0;
      for (let i = 0; i < this.n; i++) this.h.push(undefined);
    }
    this.push(id, 0);
    this.h[this.n - 1] = h;
  }

  /** The histogram of entry `i`, or undefined for a float. */
  histAt(i: number): Histogram | undefined {
    return this.anyH ? this.h[i] : undefined;
  }

  /** Empties the vector. */
  reset(): void {
    this.n = 0;
    this.anyH = false;
  }
}

/**
 * Reads a matrix step by step in time order: one cursor per series, so each point is visited once. `gather` fills a
 * StepVector (reused by the caller) with the series that have a point exactly at `ts`.
 */
export class MatrixCursor {
  readonly m: Matrix;
  private readonly pos: Int32Array;

  constructor(m: Matrix) {
    this.m = m;
    this.pos = new Int32Array(m.length);
  }

  /** Fills `out` with the points at `ts` and moves past them (and past any older point left unread). */
  gather(ts: number, out: StepVector): void {
    out.reset();
    const m = this.m;
    const pos = this.pos;
    for (let i = 0; i < m.length; i++) {
      const s = m[i];
      let p = pos[i];
      while (p < s.n && s.t[p] < ts) p++;
      if (p < s.n && s.t[p] === ts) {
        const h = s.h === null ? undefined : s.h[p];
        if (h === undefined) out.push(i, s.v[p]);
        else out.pushH(i, h);
        p++;
      }
      pos[i] = p;
    }
  }

  /** Value read by the last successful `next`. */
  value = 0;
  /** Histogram read by the last successful `next`, undefined for a float. */
  hist: Histogram | undefined = undefined;

  /** True when series `i` has a point at `ts`, whose value is then in `value`; moves past it. */
  next(i: number, ts: number): boolean {
    const s = this.m[i];
    let p = this.pos[i];
    while (p < s.n && s.t[p] < ts) p++;
    if (p < s.n && s.t[p] === ts) {
      this.pos[i] = p + 1;
      this.value = s.v[p];
      this.hist = s.h === null ? undefined : s.h[p];
      return true;
    }
    this.pos[i] = p;
    return false;
  }
}
