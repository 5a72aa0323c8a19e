// An in-memory store: every series keeps its samples in two growable Float64Arrays (timestamps, values), and its
// native histogram samples, if it has any, in a sparse array beside them (the value slot of such a sample is 0). It serves
// tests, benchmarks and the promqltest runner; it has no WAL and no retention. Appends are validated as the TSDB
// head validates them: a sample older than the series' newest is out of order, one at the same time with a
// different value is a duplicate; the same value again is accepted and ignored. Timestamps must be integers (ms) and
// label sets non-empty, as in the head.

import { ContrailError } from "../model/errors.ts";
import { CounterResetHint, type Histogram } from "../model/histogram.ts";
import { detectReset, histogramsEqual } from "../model/histogram-arith.ts";
import { cloneHistogram } from "../model/histogram-buckets.ts";
import { compareStrings, type Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import type { SampleBuffer } from "../model/sample.ts";
import { floatHi, floatLo, isStaleNaN, STALE_NAN } from "../tsdb/encoding/float-bits.ts";
import type {
  Appendable,
  Appender,
  CommitReport,
  LabelHints,
  Querier,
  Queryable,
  SampleIterator,
  SelectHints,
  Series,
  SeriesRef,
  SeriesSet,
  ValueKind,
} from "./interface.ts";

const INITIAL_CAPACITY = 16;

// Bit-level equality, so a StaleNaN repeated at the same timestamp counts as the same value. Both sides are
// canonical (see `canonical`), so the quieted form of the marker never differs from the marker.
function sameBits(a: number, b: number): boolean {
  return floatHi(a) === floatHi(b) && floatLo(a) === floatLo(b);
}

// The staleness marker in its exact bits: V8 sets the quiet bit of a NaN kept in a plain JS value or array, and the
// TSDB's chunk encoding turns that form back into the marker; the in-memory store stores what the TSDB would.
function canonical(v: number): number {
  return isStaleNaN(v) ? STALE_NAN : v;
}

/** One stored series. Arrays grow by doubling; readers keep the arrays they saw, so appends never disturb them. */
class StoredSeries {
  readonly labels: Labels;
  readonly ref: SeriesRef;
  t: Float64Array = new Float64Array(INITIAL_CAPACITY);
  v: Float64Array = new Float64Array(INITIAL_CAPACITY);
  n = 0;
  /** The histogram of each sample that is one; null while the series has only floats. Only ever appended to. */
  h: (Histogram | undefined)[] | null = null;

  constructor(labels: Labels, ref: SeriesRef) {
    this.labels = labels;
    this.ref = ref;
  }

  /** The histogram of sample `i`, or undefined for a float sample. */
  histogramAt(i: number): Histogram | undefined {
    return this.h === null ? undefined : this.h[i];
  }

  pushHistogram(t: number, h: Histogram): void {
    if (this.h === null) this.h = [];
    this.h[this.n] = h;
    this.push(t, 0);
  }

  push(t: number, v: number): void {
    if (this.n === this.t.length) {
      const t2 = new Float64Array(this.n * 2);
      const v2 = new Float64Array(this.n * 2);
      t2.set(this.t);
      v2.set(this.v);
      this.t = t2;
      this.v = v2;
    }
    this.t[this.n] = t;
    this.v[this.n] = v;
    this.n++;
  }
}

/** Iterates a snapshot `[lo, hi)` of one series' arrays. */
class MemoryIterator implements SampleIterator {
  private t: Float64Array;
  private v: Float64Array;
  private h: readonly (Histogram | undefined)[] | null;
  private i: number;
  private lo: number;
  private hi: number;

  constructor(t: Float64Array, v: Float64Array, h: readonly (Histogram | undefined)[] | null, lo: number, hi: number) {
    this.t = t;
    this.v = v;
    this.h = h;
    this.lo = lo;
    this.hi = hi;
    this.i = lo - 1;
  }

  reset(t: Float64Array, v: Float64Array, h: readonly (Histogram | undefined)[] | null, lo: number, hi: number): void {
    this.t = t;
    this.v = v;
    this.h = h;
    this.lo = lo;
    this.hi = hi;
    this.i = lo - 1;
  }

  private kind(): ValueKind {
    if (this.i >= this.hi) return "none";
    return this.h !== null && this.h[this.i] !== undefined ? "histogram" : "float";
  }

  next(): ValueKind {
    if (this.i < this.hi) this.i++;
    return this.kind();
  }

  seek(t: number): ValueKind {
    if (this.i < this.lo) this.i = this.lo;
    if (this.i >= this.hi) return "none";
    if (this.t[this.i] >= t) return this.kind();
    // Binary search in (i, hi) for the first timestamp >= t.
    let lo = this.i + 1;
    let hi = this.hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.t[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    this.i = lo;
    return this.kind();
  }

  atT(): number {
    return this.t[this.i];
  }

  atV(): number {
    return this.v[this.i];
  }

  atH(): Histogram {
    const h = this.h?.[this.i];
    if (h === undefined) throw new ContrailError("internal", "atH() called on a float sample");
    return h;
  }

  readInto(mint: number, maxt: number, out: SampleBuffer): void {
    if (this.seek(mint) === "none") return;
    const a = this.i;
    // Binary search in [a, hi) for the first timestamp > maxt.
    let b = a;
    let e = this.hi;
    while (b < e) {
      const mid = (b + e) >>> 1;
      if (this.t[mid] <= maxt) b = mid + 1;
      else e = mid;
    }
    out.appendFrom(this.t, this.v, this.h, a, b);
    this.i = this.hi;
  }
}

// First index in t[0, n) with t[i] >= x.
function lowerBound(t: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A series whose samples are `[lo, hi)` of the arrays `t` (ms) and `v` (and `h`, the histograms of the samples
 * that are ones, when given), which it never modifies: how the memory querier hands out stored series, and how
 * other in-memory copies of selected series can be read. */
export class SeriesView implements Series {
  readonly labels: Labels;
  private readonly t: Float64Array;
  private readonly v: Float64Array;
  private readonly lo: number;
  private readonly hi: number;
  private readonly h: readonly (Histogram | undefined)[] | null;

  /** A view of `[lo, hi)` of `t` and `v` (and `h`); the arrays must not change while the view is read. */
  constructor(
    labels: Labels,
    t: Float64Array,
    v: Float64Array,
    lo: number,
    hi: number,
    h: readonly (Histogram | undefined)[] | null = null,
  ) {
    this.labels = labels;
    this.t = t;
    this.v = v;
    this.lo = lo;
    this.hi = hi;
    this.h = h;
  }

  iterator(reuse?: SampleIterator): SampleIterator {
    if (reuse instanceof MemoryIterator) {
      reuse.reset(this.t, this.v, this.h, this.lo, this.hi);
      return reuse;
    }
    return new MemoryIterator(this.t, this.v, this.h, this.lo, this.hi);
  }
}

/** A Queryable and Appendable store held entirely in memory. */
export class MemoryStore implements Queryable, Appendable {
  private series: StoredSeries[] = [];
  private byHash = new Map<string, StoredSeries[]>();
  // Postings: label name -> value -> series indices (ascending).
  private postings = new Map<string, Map<string, number[]>>();

  /** Drops every series and sample; refs handed out before become invalid. */
  clear(): void {
    this.series = [];
    this.byHash = new Map();
    this.postings = new Map();
  }

  /** Number of series held. */
  get numSeries(): number {
    return this.series.length;
  }

  /** A new appender; samples become visible at its `commit()`. */
  appender(): Appender {
    return new MemoryAppender(this);
  }

  /** A querier over [mint, maxt] ms, inclusive. */
  querier(mint: number, maxt: number): Querier {
    return new MemoryQuerier(this, mint, maxt);
  }

  /** The ref of the series `labels`, creating it when new. */
  getOrCreate(labels: Labels): SeriesRef {
    const h = labels.hash();
    let bucket = this.byHash.get(h);
    if (bucket) {
      for (const s of bucket) if (s.labels.equals(labels)) return s.ref;
    } else {
      bucket = [];
      this.byHash.set(h, bucket);
    }
    const ref = this.series.length;
    const s = new StoredSeries(labels, ref as SeriesRef);
    this.series.push(s);
    bucket.push(s);
    labels.forEach((name, value) => {
      let byValue = this.postings.get(name);
      if (!byValue) {
        byValue = new Map();
        this.postings.set(name, byValue);
      }
      let list = byValue.get(value);
      if (!list) {
        list = [];
        byValue.set(value, list);
      }
      list.push(ref);
    });
    return ref as SeriesRef;
  }

  /** The stored series of `ref`; throws `not_found` for an unknown ref. */
  seriesByRef(ref: SeriesRef): StoredSeries {
    const s = this.series[ref];
    if (s === undefined) throw new ContrailError("not_found", `unknown series ref ${ref}`);
    return s;
  }

  /** Indices of series matching every matcher, ascending. */
  matching(matchers: readonly Matcher[]): number[] {
    let candidates: number[] | null = null;
    for (const m of matchers) {
      if (m.type !== "=" || m.value === "") continue;
      const list = this.postings.get(m.name)?.get(m.value) ?? [];
      if (candidates === null || list.length < candidates.length) candidates = list;
    }
    const out: number[] = [];
    const test = (i: number) => {
      const l = this.series[i].labels;
      for (const m of matchers) if (!m.matches(l.get(m.name))) return;
      out.push(i);
    };
    if (candidates !== null) for (const i of candidates) test(i);
    else for (let i = 0; i < this.series.length; i++) test(i);
    return out;
  }

  /** Every stored series in ref order (read-only use). */
  allSeries(): readonly StoredSeries[] {
    return this.series;
  }
}

interface Pending {
  ref: SeriesRef;
  t: number;
  v: number;
  /** Set for a native histogram sample (then `v` is unused). */
  h: Histogram | null;
}

class MemoryAppender implements Appender {
  /** Refs are indexes into one store's series and never reused: the store is their scope. */
  readonly refScope: object;
  private readonly store: MemoryStore;
  private pending: Pending[] = [];
  private done = false;

  constructor(store: MemoryStore) {
    this.store = store;
    this.refScope = store;
  }

  append(labels: Labels, t: number, v: number): SeriesRef {
    this.check(t);
    if (labels.isEmpty()) throw new ContrailError("bad_data", "cannot append a sample with an empty label set");
    return this.appendRef(this.store.getOrCreate(labels), t, v);
  }

  appendRef(ref: SeriesRef, t: number, v: number): SeriesRef {
    this.check(t);
    this.store.seriesByRef(ref);
    this.pending.push({ ref, t, v, h: null });
    return ref;
  }

  appendHistogram(labels: Labels, t: number, h: Histogram): SeriesRef {
    this.check(t);
    if (labels.isEmpty()) throw new ContrailError("bad_data", "cannot append a sample with an empty label set");
    return this.appendHistogramRef(this.store.getOrCreate(labels), t, h);
  }

  appendHistogramRef(ref: SeriesRef, t: number, h: Histogram): SeriesRef {
    this.check(t);
    this.store.seriesByRef(ref);
    // A stale histogram is kept as the float staleness marker: readers treat both alike. The stored copy is the
    // store's own: the appender keeps no reference to `h`.
    if (isStaleNaN(h.sum)) this.pending.push({ ref, t, v: STALE_NAN, h: null });
    else this.pending.push({ ref, t, v: 0, h: cloneHistogram(h) });
    return ref;
  }

  // Same rules as the TSDB head: in batch order, against the stored series and earlier samples of the batch.
  commit(): CommitReport {
    if (this.done) throw new ContrailError("internal", "appender already committed or rolled back");
    this.done = true;
    let appended = 0;
    let outOfOrder = 0;
    let duplicate = 0;
    let firstRejection: ContrailError | null = null;
    for (const p of this.pending) {
      const s = this.store.seriesByRef(p.ref);
      const v = canonical(p.v);
      const prevT = s.n > 0 ? s.t[s.n - 1] : Number.NEGATIVE_INFINITY;
      if (p.t < prevT) {
        outOfOrder++;
        firstRejection ??= new ContrailError(
          "out_of_order_sample",
          `sample at ${p.t} for ${s.labels.toString()} is older than its newest at ${prevT}`,
        );
        continue;
      }
      if (p.t === prevT) {
        const prevH = s.histogramAt(s.n - 1);
        if (
          p.h === null
            ? prevH === undefined && sameBits(v, s.v[s.n - 1])
            : prevH !== undefined && histogramsEqual(p.h, prevH)
        )
          continue;
        duplicate++;
        firstRejection ??= new ContrailError(
          "duplicate_sample_for_timestamp",
          `sample at ${p.t} for ${s.labels.toString()} has value ${v}, a different one (${s.v[s.n - 1]}) is stored`,
        );
        continue;
      }
      if (p.h !== null) s.pushHistogram(p.t, withStoredHint(p.h, s.n > 0 ? s.histogramAt(s.n - 1) : undefined));
      else s.push(p.t, v);
      appended++;
    }
    this.pending = [];
    return { appended, outOfOrder, duplicate, outOfBounds: 0, firstRejection };
  }

  rollback(): void {
    if (this.done) throw new ContrailError("internal", "appender already committed or rolled back");
    this.done = true;
    this.pending = [];
  }

  private check(t: number): void {
    if (this.done) throw new ContrailError("internal", "appender already committed or rolled back");
    if (!Number.isSafeInteger(t)) throw new ContrailError("bad_data", `sample timestamp ${t} is not an integer (ms)`);
  }
}

class MemoryQuerier implements Querier {
  private readonly store: MemoryStore;
  private readonly mint: number;
  private readonly maxt: number;

  constructor(store: MemoryStore, mint: number, maxt: number) {
    this.store = store;
    this.mint = mint;
    this.maxt = maxt;
  }

  select(matchers: readonly Matcher[], hints: SelectHints): SeriesSet {
    const all = this.store.allSeries();
    const out: SeriesView[] = [];
    // The caller reads the hints' range; never more than the querier's.
    const mint = Math.max(this.mint, hints.start);
    const maxt = Math.min(this.maxt, hints.end);
    for (const i of this.store.matching(matchers)) {
      const s = all[i];
      const lo = lowerBound(s.t, s.n, mint);
      const hi = lowerBound(s.t, s.n, maxt + 1);
      if (lo < hi) out.push(new SeriesView(s.labels, s.t, s.v, lo, hi, s.h));
    }
    out.sort((a, b) => a.labels.compare(b.labels));
    const limited = hints.limit && hints.limit > 0 && out.length > hints.limit ? out.slice(0, hints.limit) : out;
    return Object.assign(limited, { warnings: [] as readonly string[] });
  }

  labelNames(matchers: readonly Matcher[], hints?: LabelHints): string[] {
    const names = new Set<string>();
    for (const s of this.inRange(matchers)) {
      s.labels.forEach((n) => {
        names.add(n);
      });
    }
    return limit([...names].sort(compareStrings), hints);
  }

  labelValues(name: string, matchers: readonly Matcher[], hints?: LabelHints): string[] {
    const values = new Set<string>();
    for (const s of this.inRange(matchers)) {
      const v = s.labels.get(name);
      if (v !== "") values.add(v);
    }
    return limit([...values].sort(compareStrings), hints);
  }

  close(): void {}

  private *inRange(matchers: readonly Matcher[]): Generator<StoredSeries> {
    const all = this.store.allSeries();
    const idx = matchers.length > 0 ? this.store.matching(matchers) : all.map((_, i) => i);
    for (const i of idx) {
      const s = all[i];
      if (lowerBound(s.t, s.n, this.mint) < lowerBound(s.t, s.n, this.maxt + 1)) yield s;
    }
  }
}

/**
 * `h` with the counter reset hint Prometheus's TSDB gives it back with: a histogram that continues its predecessor
 * (in the same chunk) reads back as "not a counter reset"; one after a detected reset starts a chunk and reads back
 * as "unknown", as does the first of a series; a declared reset stays one and gauge histograms stay gauges.
 */
function withStoredHint(h: Histogram, prev: Histogram | undefined): Histogram {
  if (h.counterResetHint === CounterResetHint.gauge || h.counterResetHint === CounterResetHint.counterReset) return h;
  let hint: CounterResetHint = CounterResetHint.unknown;
  if (prev !== undefined && prev.counterResetHint !== CounterResetHint.gauge) {
    const reset = detectReset({ ...h, counterResetHint: CounterResetHint.unknown }, prev);
    if (!reset) hint = CounterResetHint.notCounterReset;
  }
  return hint === h.counterResetHint ? h : { ...h, counterResetHint: hint };
}

function limit(values: string[], hints?: LabelHints): string[] {
  return hints?.limit && hints.limit > 0 && values.length > hints.limit ? values.slice(0, hints.limit) : values;
}
