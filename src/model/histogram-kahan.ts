// Sums and means of many native histograms with Kahan compensation on every count, the sum and every bucket, as
// Prometheus's sum/avg aggregations and sum/avg_over_time compute them (so 1e100 + 1 - 1e100 keeps its 1). A mean
// switches to an incremental form once a plain sum would overflow, as Prometheus's does.

import type { Histogram } from "./histogram.ts";
import { addHistograms, combinedHint, customBoundsMatch } from "./histogram-arith.ts";
import { compact, emptyHistogram, indexed, rebuild, targetIndex, usesCustomBuckets } from "./histogram-buckets.ts";

/** A value and its Kahan compensation. */
type Cell = [number, number];

// Kahan-Babuska step: adds `x` to `cell`.
function inc(cell: Cell, x: number): void {
  const sum = cell[0];
  const t = sum + x;
  if (!Number.isFinite(t)) cell[1] = 0;
  else if (Math.abs(sum) >= Math.abs(x)) cell[1] += sum - t + x;
  else cell[1] += x - t + sum;
  cell[0] = t;
}

function scale(cell: Cell, f: number): void {
  cell[0] *= f;
  cell[1] *= f;
}

function divide(cell: Cell, d: number): void {
  cell[0] /= d;
  cell[1] /= d;
}

function value(cell: Cell): number {
  return Number.isFinite(cell[0]) ? cell[0] + cell[1] : cell[0];
}

/** What adding one histogram to an accumulator noticed. */
export interface AddOutcome {
  /** One histogram used custom buckets and the other not: nothing was added. */
  readonly incompatible: boolean;
  /** Custom bucket bounds differed and were reduced to the shared ones. */
  readonly reconciled: boolean;
}

/** A running, compensated sum of histograms. Owned by one computation; `result()` may be taken at any time. */
export class HistogramKahanSum {
  private base: Histogram | null = null;
  private count: Cell = [0, 0];
  private sum: Cell = [0, 0];
  private zero: Cell = [0, 0];
  private pos = new Map<number, Cell>();
  private neg = new Map<number, Cell>();

  /** Adds `h` (divided by `divisor`); an incompatible schema leaves the sum as it was. */
  add(h: Histogram, divisor = 1): AddOutcome {
    if (this.base === null) {
      this.reset(h, divisor);
      return { incompatible: false, reconciled: false };
    }
    const base = this.base;
    if (usesCustomBuckets(base) !== usesCustomBuckets(h)) return { incompatible: true, reconciled: false };
    const sameLayout = usesCustomBuckets(base)
      ? customBoundsMatch(base.customValues, h.customValues)
      : base.zeroThreshold === h.zeroThreshold;
    if (!sameLayout) {
      // Bounds or zero buckets to reconcile: fold the compensation in and add the plain way.
      const r = addHistograms(this.result(), dividedCopy(h, divisor));
      if (r === null) return { incompatible: true, reconciled: false };
      this.reset(r.h, 1);
      this.base = { ...this.base, counterResetHint: r.h.counterResetHint };
      return { incompatible: false, reconciled: r.nhcbBoundsReconciled };
    }
    if (!usesCustomBuckets(base) && h.schema < base.schema) this.reduceTo(h.schema);
    this.base = { ...this.base, counterResetHint: combinedHint(this.base.counterResetHint, h.counterResetHint).hint };
    const schema = this.base.schema;
    inc(this.count, h.count / divisor);
    inc(this.sum, h.sum / divisor);
    inc(this.zero, h.zeroCount / divisor);
    const addSide = (side: Map<number, Cell>, spans: Histogram["positiveSpans"], buckets: readonly number[]) => {
      const ix = indexed(spans, buckets);
      for (let i = 0; i < ix.idx.length; i++) {
        const at = usesCustomBuckets(h) ? ix.idx[i] : targetIndex(ix.idx[i], h.schema, schema);
        let cell = side.get(at);
        if (cell === undefined) {
          cell = [0, 0];
          side.set(at, cell);
        }
        inc(cell, ix.counts[i] / divisor);
      }
    };
    addSide(this.pos, h.positiveSpans, h.positiveBuckets);
    addSide(this.neg, h.negativeSpans, h.negativeBuckets);
    return { incompatible: false, reconciled: false };
  }

  /** Divides everything summed so far, values and compensations, by `d`. */
  divide(d: number): void {
    divide(this.count, d);
    divide(this.sum, d);
    divide(this.zero, d);
    for (const c of this.pos.values()) divide(c, d);
    for (const c of this.neg.values()) divide(c, d);
  }

  /** Multiplies everything summed so far by `f`. */
  scale(f: number): void {
    scale(this.count, f);
    scale(this.sum, f);
    scale(this.zero, f);
    for (const c of this.pos.values()) scale(c, f);
    for (const c of this.neg.values()) scale(c, f);
  }

  /** True when some count, the sum or a bucket has overflowed to ±Inf. */
  overflowed(): boolean {
    const inf = (c: Cell) => c[0] === Number.POSITIVE_INFINITY || c[0] === Number.NEGATIVE_INFINITY;
    if (inf(this.count) || inf(this.sum) || inf(this.zero)) return true;
    for (const c of this.pos.values()) if (inf(c)) return true;
    for (const c of this.neg.values()) if (inf(c)) return true;
    return false;
  }

  /** The compensated sum (compact); an empty histogram before the first `add`. */
  result(): Histogram {
    const base = this.base ?? emptyHistogram(0);
    const side = (m: Map<number, Cell>) => {
      const idx = [...m.keys()].sort((a, b) => a - b);
      return { idx, counts: idx.map((i) => value(m.get(i) as Cell)) };
    };
    return compact(
      rebuild(base, {
        integer: false,
        count: value(this.count),
        sum: value(this.sum),
        zeroCount: value(this.zero),
        pos: side(this.pos),
        neg: side(this.neg),
      }),
    );
  }

  /** A copy of this accumulator. */
  copy(): HistogramKahanSum {
    const c = new HistogramKahanSum();
    c.base = this.base;
    c.count = [...this.count];
    c.sum = [...this.sum];
    c.zero = [...this.zero];
    for (const [k, v] of this.pos) c.pos.set(k, [...v]);
    for (const [k, v] of this.neg) c.neg.set(k, [...v]);
    return c;
  }

  private reset(h: Histogram, divisor: number): void {
    this.base = { ...h, positiveSpans: [], negativeSpans: [], positiveBuckets: [], negativeBuckets: [] };
    this.count = [h.count / divisor, 0];
    this.sum = [h.sum / divisor, 0];
    this.zero = [h.zeroCount / divisor, 0];
    this.pos = new Map();
    this.neg = new Map();
    const fill = (side: Map<number, Cell>, spans: Histogram["positiveSpans"], buckets: readonly number[]) => {
      const ix = indexed(spans, buckets);
      for (let i = 0; i < ix.idx.length; i++) side.set(ix.idx[i], [ix.counts[i] / divisor, 0]);
    };
    fill(this.pos, h.positiveSpans, h.positiveBuckets);
    fill(this.neg, h.negativeSpans, h.negativeBuckets);
  }

  // Merges the buckets (values and compensations) into the lower schema `schema`.
  private reduceTo(schema: number): void {
    const base = this.base as Histogram;
    const reduce = (side: Map<number, Cell>) => {
      const out = new Map<number, Cell>();
      for (const [idx, cell] of side) {
        const at = targetIndex(idx, base.schema, schema);
        const got = out.get(at);
        if (got === undefined) out.set(at, [cell[0], cell[1]]);
        else {
          inc(got, cell[0]);
          got[1] += cell[1];
        }
      }
      return out;
    };
    this.pos = reduce(this.pos);
    this.neg = reduce(this.neg);
    this.base = { ...base, schema };
  }
}

function dividedCopy(h: Histogram, divisor: number): Histogram {
  if (divisor === 1) return h;
  return {
    ...h,
    count: h.count / divisor,
    sum: h.sum / divisor,
    zeroCount: h.zeroCount / divisor,
    positiveBuckets: h.positiveBuckets.map((x) => x / divisor),
    negativeBuckets: h.negativeBuckets.map((x) => x / divisor),
  };
}

/** The mean of histograms added one by one: a compensated sum divided at the end, or, once that sum would
 * overflow, an incremental mean (Prometheus's avg and avg_over_time). */
export class HistogramMean {
  private acc = new HistogramKahanSum();
  private n = 0;
  private incremental = false;

  /** Adds `h`; see {@link HistogramKahanSum.add}. */
  add(h: Histogram): AddOutcome {
    this.n++;
    if (!this.incremental) {
      const trial = this.acc.copy();
      const out = trial.add(h);
      if (out.incompatible) return out;
      if (!trial.overflowed()) {
        this.acc = trial;
        return out;
      }
      this.incremental = true;
      this.acc.divide(this.n - 1);
    }
    this.acc.scale((this.n - 1) / this.n);
    return this.acc.add(h, this.n);
  }

  /** The mean so far. */
  result(): Histogram {
    if (this.incremental) return this.acc.result();
    const copy = this.acc.copy();
    copy.divide(this.n);
    return copy.result();
  }
}
