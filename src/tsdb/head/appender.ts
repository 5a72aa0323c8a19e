// Appending to the head. A batch is validated and logged at commit: first a Series record for series the WAL does
// not know yet and a Samples record for the accepted samples (the WAL hands them to the OS before `log` returns),
// then the samples go into memory. Nothing is visible before commit.
//
// Rejected samples: a sample older than its series' newest (out of order), one at the same time with a different
// value (duplicate), or one older than the head's valid range (out of bounds) is not stored. Like Prometheus's scrape
// path, the rest of the batch is still committed, and `commit()` reports the rejections by reason with the first
// offender as a coded error (storage/interface.ts CommitReport). Rejections are also counted in the head's stats.
// A sample repeating the newest one exactly (same time, same value bits) is accepted and ignored, as Prometheus does
// for federation and re-sent data.

import { ContrailError, type ErrorCode } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import type { Appender, CommitReport, SeriesRef } from "../../storage/interface.ts";
import { floatHi, floatLo, STALE_NAN_HI, STALE_NAN_LO } from "../encoding/float-bits.ts";
import { encodeSamples } from "../record/samples.ts";
import { encodeSeries } from "../record/series.ts";
import { DEAD_SLOT, IntCol, SeriesColumns } from "./columns.ts";
import type { Head } from "./head.ts";
import { checkHistogram, sameHistogram } from "./histogram-checks.ts";
import { type HistogramBatch, histogramRecords, readLastSample } from "./histogram-commit.ts";
import { LOGGED, MemSeries, ONE_PENDING } from "./series.ts";
import { copyHistogram } from "./series-histograms.ts";

/** How many samples of the last commit were rejected, by reason. */
export interface Rejections {
  readonly outOfOrder: number;
  readonly duplicate: number;
  readonly outOfBounds: number;
}

const NONE: Rejections = { outOfOrder: 0, duplicate: 0, outOfBounds: 0 };

// Ref scope tokens by head. A token holds nothing, so a ref kept by a caller's cache never keeps a closed head's
// memory alive.
const refScopes = new WeakMap<Head, object>();

function refScopeOf(head: Head): object {
  let scope = refScopes.get(head);
  if (scope === undefined) {
    scope = Object.freeze({});
    refScopes.set(head, scope);
  }
  return scope;
}

/**
 * A batch's queue of float samples: their series (its row in the head's columns and its ref), times (ms) and
 * values, and room for the commit's accepted samples' rows. Series are queued by row, not as `MemSeries` views: a
 * view a sample, held for the batch, was promoted by the scavenges that caught it. One spare queue per head is kept
 * between appenders (`spareQueues`), so that a batch does not grow fresh arrays from 64 entries each time.
 */
interface SampleQueue {
  slots: Int32Array;
  refs: Float64Array;
  ts: Float64Array;
  vs: Float64Array;
  /** The commit's scratch: the rows of the accepted samples, in order. */
  kept: Int32Array;
}

/** The last commit epoch before the int32 columns holding epochs are cleared and epochs start over at 1. */
export const MAX_COMMIT_EPOCH = 2 ** 31 - 1;

/** Entries of a new queue. */
const INITIAL_QUEUE = 64;
/**
 * The largest queue kept as a head's spare, entries (4 MiB of typed arrays at most): a larger batch's queue is left
 * to the collector.
 */
export const MAX_SPARE_QUEUE = 128 * 1024;

// A head's spare queue, taken by the next appender and given back at its commit or rollback. An appender that finds
// none (another is open) makes its own. It holds numbers only, so it keeps no series alive.
const spareQueues = new WeakMap<Head, SampleQueue>();

/** Entries of the spare queue `head` keeps for its next appender, 0 when it keeps none (for tests). */
export function spareQueueCapacity(head: Head): number {
  return spareQueues.get(head)?.ts.length ?? 0;
}

function newQueue(entries: number): SampleQueue {
  return {
    slots: new Int32Array(entries),
    refs: new Float64Array(entries),
    ts: new Float64Array(entries),
    vs: new Float64Array(entries),
    kept: new Int32Array(entries),
  };
}

/** The queue of a spent appender, which gave its own back. */
const NO_QUEUE = newQueue(0);

function takeQueue(head: Head): SampleQueue {
  const q = spareQueues.get(head);
  if (q === undefined) return newQueue(INITIAL_QUEUE);
  spareQueues.delete(head);
  return q;
}

// Copies the first `n` entries of `q` into a queue of `entries`.
function grownQueue(q: SampleQueue, n: number, entries: number): SampleQueue {
  const g = newQueue(entries);
  g.slots.set(q.slots.subarray(0, n));
  g.refs.set(q.refs.subarray(0, n));
  g.ts.set(q.ts.subarray(0, n));
  g.vs.set(q.vs.subarray(0, n));
  return g;
}

/** A bound on the series of a head, for the appenders that create series: the most, and its setting's name. */
export interface SeriesLimit {
  /** Series the head may hold; an append that would create one more is refused with `series_limit`. */
  readonly max: number;
  /** The name of the setting, for the error (`max_active_series`). */
  readonly name: string;
}

/** Collects one batch for the head. Used by one caller; spent after commit or rollback. */
export class HeadAppender implements Appender {
  private readonly head: Head;
  private readonly limit: SeriesLimit | undefined;
  /** The queued float samples; values in a typed array so that NaN payloads (the staleness marker) keep their bits. */
  private q: SampleQueue;
  private n = 0;
  /** Queued histogram samples (series, time, copy), committed after the float samples. */
  private hs: { s: MemSeries; t: number; h: Histogram; pos: number }[] = [];
  private done = false;
  private rejected: Rejections = NONE;
  /**
   * The head's ref scope: one token per head object. Its refs are never reused while it is open (a removed
   * series' ref is unknown afterwards), and a head opened again from the same directory is another object.
   */
  readonly refScope: object;

  /** An appender for `head`, creating no series past `limit` when given; use `Head.appender()`. */
  constructor(head: Head, limit?: SeriesLimit) {
    this.head = head;
    this.refScope = refScopeOf(head);
    this.limit = limit;
    this.q = takeQueue(head);
  }

  /**
   * Queues a sample for the series `labels` (created now if new; it is logged at commit). Throws `series_limit`,
   * queuing nothing, when the series is new and the head already holds the limit's number of series.
   */
  append(labels: Labels, t: number, v: number): SeriesRef {
    this.check(t);
    const s = this.head.getOrCreate(labels, this.limit);
    this.push(s.ref, s.slot, t, v);
    return s.ref as SeriesRef;
  }

  /** Queues a sample for the series `ref` handed out by this head; throws `not_found` for an unknown ref. */
  appendRef(ref: SeriesRef, t: number, v: number): SeriesRef {
    this.check(t);
    const slot = this.head.series.slotOf(ref);
    if (slot === undefined) throw new ContrailError("not_found", `unknown head series ref ${ref}`);
    this.push(ref, slot, t, v);
    return ref;
  }

  /**
   * Queues a native histogram sample for the series `labels` (created now if new), as `append`. Throws `bad_data`
   * for a malformed histogram, queuing nothing. `h` is copied.
   */
  appendHistogram(labels: Labels, t: number, h: Histogram): SeriesRef {
    this.check(t);
    checkHistogram(h);
    const s = this.head.getOrCreate(labels, this.limit);
    this.pushHistogram(s, t, h);
    return s.ref as SeriesRef;
  }

  /** Queues a histogram sample for the series `ref` handed out by this head, as `appendRef`. */
  appendHistogramRef(ref: SeriesRef, t: number, h: Histogram): SeriesRef {
    this.check(t);
    checkHistogram(h);
    const s = this.head.series.getByRef(ref);
    if (s === undefined) throw new ContrailError("not_found", `unknown head series ref ${ref}`);
    this.pushHistogram(s, t, h);
    return ref;
  }

  private pushHistogram(s: MemSeries, t: number, h: Histogram): void {
    // `pos`: the number of floats queued before it, so the commit judges both kinds in the order they came.
    this.hs.push({ s, t, h: copyHistogram(h), pos: this.n });
    s.pending++;
  }

  /** Samples rejected by the last `commit()`, by reason. */
  get rejections(): Rejections {
    return this.rejected;
  }

  /**
   * Validates the batch in order against the series and the samples before it, logs the accepted samples (and new
   * series) to the WAL, then makes them visible; reports the rejected ones (`out_of_order_sample`,
   * `duplicate_sample_for_timestamp`, `out_of_bounds`). Throws only if the WAL write fails (nothing is applied).
   */
  commit(): CommitReport {
    this.finish();
    const head = this.head;
    // Epochs are kept in int32 columns: before they would leave that range, every series' epoch is forgotten.
    if (head.commitEpoch >= MAX_COMMIT_EPOCH) {
      head.columns.clearEpochs();
      head.commitEpoch = 0;
    }
    const epoch = ++head.commitEpoch;
    const minValid = head.appendableMinValidTime();
    const { samples: accepted, series: newSeries, buf } = head.commitScratch;
    accepted.clear();
    newSeries.clear();
    // The series the WAL does not know yet, by ref (their rows): made only when the batch has one.
    let unlogged: Map<number, number> | null = null;
    let ooo = 0;
    let dup = 0;
    let oob = 0;
    let first: { code: ErrorCode; detail: string } | null = null;
    // The series' rows, read and written in place: accessors on MemSeries are not always inlined into this large
    // function, and a double crossing a call is boxed in a new heap number. Commits create no series, so the arrays
    // stay the same throughout. A series' newest sample accepted so far by this commit is found through its batch
    // epoch and `batchAt`: accepted float `at` when at >= 0, accepted histogram -1 - at otherwise.
    const cols = head.columns;
    const times = cols.xor.times;
    const ints = cols.i32;
    const labelsOf = (slot: number): Labels => cols.labels.labels(ints[SeriesColumns.intAt(slot, IntCol.labels)]);
    const reject = (code: ErrorCode, detail: string) => {
      if (first === null) first = { code, detail };
    };

    // Where a sample at `t` falls in the series `ref` (row `slot`): -1 rejected (counted here), 0 at the newest
    // sample's time (a duplicate unless equal to it), 1 newer. Also notes series the WAL does not know yet.
    const place = (ref: number, slot: number, t: number): number => {
      const ib = SeriesColumns.intAt(slot, 0);
      if ((ints[ib + IntCol.bits] & LOGGED) === 0) {
        unlogged ??= new Map();
        if (!unlogged.has(ref)) {
          unlogged.set(ref, slot);
          newSeries.push(ref, labelsOf(slot));
        }
      }
      if (t < minValid) {
        oob++;
        reject(
          "out_of_bounds",
          `sample at ${t} for ${labelsOf(slot).toString()} is older than the head's minimum ${minValid}`,
        );
        return -1;
      }
      let prevT: number;
      if (ints[ib + IntCol.batchEpoch] !== epoch) prevT = times[SeriesColumns.lastTimeAt(slot)];
      else {
        const at = ints[ib + IntCol.batchAt];
        prevT = at >= 0 ? accepted.ts[at] : hKeep[-1 - at].t;
      }
      if (t < prevT) {
        ooo++;
        reject(
          "out_of_order_sample",
          `sample at ${t} for ${labelsOf(slot).toString()} is older than its newest at ${prevT}`,
        );
        return -1;
      }
      return t === prevT ? 0 : 1;
    };

    // Histograms are judged in the order they were queued among the floats, against the newest sample of their
    // series so far (float or histogram); `at` is where they fall among the accepted floats, for applying them.
    const hKeep: HistogramBatch = [];
    const hAt: number[] = [];
    let hp = 0;
    const judgeHistograms = (upTo: number) => {
      for (; hp < this.hs.length && this.hs[hp].pos <= upTo; hp++) {
        const q = this.hs[hp];
        const { s, t, h } = q;
        const p = place(s.ref, s.slot, t);
        if (p < 0) continue;
        if (p === 0) {
          const prevH = s.batchEpoch === epoch ? this.batchHistogram(s.batchAt, hKeep) : this.lastHistogram(s);
          if (prevH !== null && sameHistogram(h, prevH)) continue;
          dup++;
          reject(
            "duplicate_sample_for_timestamp",
            `histogram sample at ${t} for ${s.labels.toString()} differs from the sample stored at that time`,
          );
          continue;
        }
        s.batchEpoch = epoch;
        s.batchAt = -1 - hKeep.length;
        hKeep.push(q);
        hAt.push(accepted.length);
      }
    };

    const { slots, refs, ts, vs, kept } = this.q;
    for (let i = 0; i < this.n; i++) {
      if (hp < this.hs.length) judgeHistograms(i);
      const slot = slots[i];
      const t = ts[i];
      const v = vs[i];
      const p = place(refs[i], slot, t);
      if (p < 0) continue;
      const ib = SeriesColumns.intAt(slot, 0);
      if (p === 0) {
        let prevV: number | null;
        if (ints[ib + IntCol.batchEpoch] !== epoch) prevV = this.lastValue(new MemSeries(refs[i], slot, cols));
        else {
          const at = ints[ib + IntCol.batchAt];
          prevV = at >= 0 ? accepted.vs[at] : null;
        }
        if (prevV !== null && sameBits(v, prevV)) continue;
        dup++;
        reject(
          "duplicate_sample_for_timestamp",
          `sample at ${t} for ${labelsOf(slot).toString()} has value ${v}, a different one (${prevV}) is stored`,
        );
        continue;
      }
      ints[ib + IntCol.batchEpoch] = epoch;
      ints[ib + IntCol.batchAt] = accepted.length;
      kept[accepted.length] = slot;
      accepted.push(refs[i], t, v);
    }
    judgeHistograms(Number.POSITIVE_INFINITY);

    try {
      // Both records in one buffer; the WAL copies them before `logRecords` returns.
      buf.reset();
      if (newSeries.length > 0) encodeSeries(buf, newSeries);
      const split = buf.length;
      if (accepted.length > 0) encodeSamples(buf, accepted);
      // Histogram records go in the same write, so the batch is durable as a whole or not at all.
      const hRecords = hKeep.length > 0 ? histogramRecords(hKeep) : [];
      if (buf.length > 0 || hRecords.length > 0) {
        const all = buf.get();
        const records: Uint8Array[] = [];
        if (split > 0) records.push(all.subarray(0, split));
        if (all.length > split) records.push(all.subarray(split));
        head.logRecords(hRecords.length > 0 ? [...records, ...hRecords] : records);
      }
      if (unlogged !== null)
        for (const slot of (unlogged as Map<number, number>).values())
          ints[SeriesColumns.intAt(slot, IntCol.bits)] |= LOGGED;
      let mint = Number.POSITIVE_INFINITY;
      let maxt = Number.NEGATIVE_INFINITY;
      const opts = head.chunkOptions;
      // The accepted floats are appended through one view, pointed at each one's series in turn.
      const view = new MemSeries(0, DEAD_SLOT, cols);
      let k = 0;
      for (let i = 0; i <= accepted.length; i++) {
        // The histograms accepted before float `i`, then float `i`: the order they were judged in.
        for (; k < hKeep.length && hAt[k] <= i; k++) {
          const q = hKeep[k];
          q.s.appendHistogram(q.t, q.h, opts);
          if (q.t < mint) mint = q.t;
          if (q.t > maxt) maxt = q.t;
        }
        if (i === accepted.length) break;
        const t = accepted.ts[i];
        view.point(accepted.refs[i], kept[i]);
        view.append(t, accepted.vs[i], opts);
        if (t < mint) mint = t;
        if (t > maxt) maxt = t;
      }
      if (accepted.length + hKeep.length > 0) head.noteTimes(mint, maxt);
      head.counters.samplesAppended += accepted.length + hKeep.length;
      head.counters.outOfOrderSamples += ooo;
      head.counters.duplicateSamples += dup;
      head.counters.outOfBoundsSamples += oob;
    } finally {
      this.release();
      newSeries.clear();
    }
    this.rejected = { outOfOrder: ooo, duplicate: dup, outOfBounds: oob };
    const f = first as { code: ErrorCode; detail: string } | null;
    return {
      appended: accepted.length + hKeep.length,
      outOfOrder: ooo,
      duplicate: dup,
      outOfBounds: oob,
      firstRejection: f === null ? null : new ContrailError(f.code, f.detail),
    };
  }

  /** Drops the batch. Series created by `append` stay (empty) until the head's next truncation. */
  rollback(): void {
    this.finish();
    this.release();
  }

  private check(t: number): void {
    if (this.done) throw new ContrailError("internal", "appender already committed or rolled back");
    if (!Number.isSafeInteger(t)) throw new ContrailError("bad_data", `sample timestamp ${t} is not an integer (ms)`);
  }

  private push(ref: number, slot: number, t: number, v: number): void {
    if (this.n === this.q.ts.length) this.q = grownQueue(this.q, this.n, this.n * 2);
    const q = this.q;
    q.slots[this.n] = slot;
    q.refs[this.n] = ref;
    q.ts[this.n] = t;
    q.vs[this.n] = v;
    this.n++;
    this.head.columns.i32[SeriesColumns.intAt(slot, IntCol.bits)] += ONE_PENDING;
  }

  private finish(): void {
    if (this.done) throw new ContrailError("internal", "appender already committed or rolled back");
    this.done = true;
  }

  // Ends the batch's hold on its series, and gives its queue back to the head as the spare.
  private release(): void {
    const q = this.q;
    const ints = this.head.columns.i32;
    for (let i = 0; i < this.n; i++) ints[SeriesColumns.intAt(q.slots[i], IntCol.bits)] -= ONE_PENDING;
    for (const h of this.hs) h.s.pending--;
    this.hs = [];
    if (q.ts.length <= MAX_SPARE_QUEUE) spareQueues.set(this.head, q);
    this.q = NO_QUEUE;
    this.n = 0;
  }

  // The histogram accepted by the commit in progress at `at` (a series' batchAt), null when that sample is a float.
  private batchHistogram(at: number, hKeep: HistogramBatch): Histogram | null {
    return at >= 0 ? null : hKeep[-1 - at].h;
  }

  // The value of the newest stored sample; after a restart it may only be in the last stored chunk. Null when the
  // newest sample is a histogram (no float equals it).
  private lastValue(s: MemSeries): number | null {
    if (s.lastVUnknown) readLastSample(this.head, s);
    return s.histograms?.last != null ? null : s.lastV;
  }

  // The newest stored sample when it is a histogram, else null.
  private lastHistogram(s: MemSeries): Histogram | null {
    if (s.lastVUnknown) readLastSample(this.head, s);
    return s.histograms?.last ?? null;
  }
}

// Bit-exact equality of two values; the quieted form of the staleness marker equals the marker.
function sameBits(a: number, b: number): boolean {
  return hiNorm(a) === hiNorm(b) && floatLo(a) === floatLo(b);
}

function hiNorm(v: number): number {
  const hi = floatHi(v);
  return hi === 0x7ff80000 && floatLo(v) === STALE_NAN_LO ? STALE_NAN_HI : hi;
}
