// Values the evaluator passes between nodes. Every instant-vector or scalar node evaluates to a matrix over the
// evaluator's steps: one `Series` per label set with the points it has. Points live in growable Float64Arrays
// (timestamps in ms and values side by side), never as one object per sample.
//
// Native histograms will come as a second point kind: a `Series` will then carry histogram points beside the float
// ones (as Prometheus's Series has Floats and Histograms); every consumer reads floats through `t`/`v` only.

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

/** Number of points held by `m`. */
export function totalPoints(m: Matrix): number {
  let n = 0;
  for (const s of m) n += s.n;
  return n;
}

/** The points of several series at one step, columnar: `ids[i]` indexes the source matrix, `f[i]` is the value. */
export class StepVector {
  n = 0;
  ids: Int32Array;
  f: Float64Array;

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
    this.n++;
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
    out.n = 0;
    const m = this.m;
    const pos = this.pos;
    for (let i = 0; i < m.length; i++) {
      const s = m[i];
      let p = pos[i];
      while (p < s.n && s.t[p] < ts) p++;
      if (p < s.n && s.t[p] === ts) {
        out.push(i, s.v[p]);
        p++;
      }
      pos[i] = p;
    }
  }

  /** Value read by the last successful `next`. */
  value = 0;

  /** True when series `i` has a point at `ts`, whose value is then in `value`; moves past it. */
  next(i: number, ts: number): boolean {
    const s = this.m[i];
    let p = this.pos[i];
    while (p < s.n && s.t[p] < ts) p++;
    if (p < s.n && s.t[p] === ts) {
      this.pos[i] = p + 1;
      this.value = s.v[p];
      return true;
    }
    this.pos[i] = p;
    return false;
  }
}
