// Sample and series types shared by every layer, and the staleness marker.
// Times are milliseconds since the Unix epoch (UTC), as in Prometheus; values are float64.

import type { Histogram } from "./histogram.ts";
import type { Labels } from "./labels.ts";

/** Milliseconds since the Unix epoch. Branded so a duration or a seconds value is not passed by mistake;
 * make one with `millis(n)`. */
export type Millis = number & { readonly __brand: "Millis" };

/** Brands a number of milliseconds since the epoch. */
export function millis(ms: number): Millis {
  return ms as Millis;
}

/** One float sample: `t` in milliseconds since the epoch, `v` the value. */
export interface Sample {
  readonly t: number;
  readonly v: number;
}

/** A series with its samples in ascending time order. Owned by whoever built it; treat as immutable. */
export interface Series {
  readonly labels: Labels;
  readonly samples: readonly Sample[];
}

// Shared 8-byte view to read a float64's bits without allocating.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Index of the high and low 32-bit words in the view on this machine's byte order.
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** The staleness marker: a NaN with bit pattern 0x7ff0000000000002, written when a series disappears. */
export const STALE_NAN: number = (() => {
  u32[HI] = 0x7ff00000;
  u32[LO] = 0x00000002;
  return f64[0];
})();

/**
 * True when `v` is the staleness marker (not just any NaN). Allocation-free. V8 sets the quiet bit of a NaN that
 * passes through a plain JS array (giving 0x7ff80000_00000002), so that form counts as stale too; typed arrays and
 * the chunk encoding keep the exact bits.
 */
export function isStaleNaN(v: number): boolean {
  if (!Number.isNaN(v)) return false;
  f64[0] = v;
  return (u32[HI] | 0x00080000) === 0x7ff80000 && u32[LO] === 0x00000002;
}

/** The raw bits of a float64 as [high, low] unsigned 32-bit words (for encoders and tests). */
export function float64Bits(v: number): [number, number] {
  f64[0] = v;
  return [u32[HI], u32[LO]];
}

/**
 * Samples of one series in two parallel growable arrays, timestamps (ms) and values; the first `n` are valid.
 * Owned and reused by one reader (a query, a decoder); `t` and `v` are replaced when they grow, so re-read them
 * after `reserve` or `push`. Native histogram samples, when there are any, sit in `h` at their index (their `v` is
 * 0); `h` stays null while the buffer holds floats only, so float readers never look at it.
 */
export class SampleBuffer {
  t: Float64Array;
  v: Float64Array;
  n = 0;
  /** The histogram of each sample that is one (others undefined), or null when none is. Reset it with `n`. */
  h: (Histogram | undefined)[] | null = null;

  /** A buffer with room for `capacity` samples. */
  constructor(capacity = 256) {
    const cap = Math.max(capacity, 1);
    this.t = new Float64Array(cap);
    this.v = new Float64Array(cap);
  }

  /** Makes room for `extra` more samples after the first `n`, keeping those. */
  reserve(extra: number): void {
    const need = this.n + extra;
    if (need <= this.t.length) return;
    const cap = Math.max(need, this.t.length * 2);
    const t = new Float64Array(cap);
    const v = new Float64Array(cap);
    t.set(this.t.subarray(0, this.n));
    v.set(this.v.subarray(0, this.n));
    this.t = t;
    this.v = v;
  }

  /** Appends one sample. */
  push(t: number, v: number): void {
    if (this.n === this.t.length) this.reserve(1);
    this.t[this.n] = t;
    this.v[this.n] = v;
    if (this.h !== null) this.h[this.n] = undefined;
    this.n++;
  }

  /** Appends one native histogram sample; the buffer keeps `h` (the caller must not change it). */
  pushHistogram(t: number, h: Histogram): void {
    if (this.h === null) this.h = [];
    this.h.length = this.n;
    this.push(t, 0);
    this.h[this.n - 1] = h;
  }

  /** Appends samples `[a, b)` of the arrays `t` (ms), `v` and `h` (histograms of the samples that are ones, or null). */
  appendFrom(
    t: Float64Array,
    v: Float64Array,
    h: readonly (Histogram | undefined)[] | null,
    a: number,
    b: number,
  ): void {
    this.reserve(b - a);
    if (h === null) {
      this.t.set(t.subarray(a, b), this.n);
      this.v.set(v.subarray(a, b), this.n);
      if (this.h !== null) this.h.length = this.n;
      this.n += b - a;
      return;
    }
    for (let i = a; i < b; i++) {
      const x = h[i];
      if (x === undefined) this.push(t[i], v[i]);
      else this.pushHistogram(t[i], x);
    }
  }

  /** Empties the buffer (keeps its room). */
  clear(): void {
    this.n = 0;
    this.h = null;
  }
}
