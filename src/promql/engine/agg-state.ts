// The state of the aggregations that fold values into cells (sum, avg, count, min, max, group, stddev, stdvar,
// quantile), and SeriesFold, which runs such an aggregation series by series: every input series is read once, in
// order, and each of its points updates the cell of its group and step. Cells see their inputs in the same order as
// a step-major loop would feed them, so both give the same floats.

import type { Labels } from "../../model/labels.ts";
import type { Evaluator } from "./evaluator.ts";
import type { AggregateNode } from "./plan.ts";
import { kahanInc, quantile } from "./quantile.ts";
import type { RateStepSums } from "./rate-steps.ts";
import { type Matrix, Series } from "./value.ts";

/** Bytes of AggState's buffer per cell: four float64 arrays, then three byte arrays. */
const CELL_BYTES = 4 * 8 + 3;

/**
 * Buffers of finished folds, for the next fold to take and zero instead of allocating: a new ArrayBuffer costs
 * several microseconds, and tens past 128 KB (where the allocator maps fresh pages and faults them in), while zeroing
 * one costs about a microsecond per 32 KB. A fold that grows from one group to sixteen over a 1 h range at 15 s
 * allocated five buffers, 260 KB in all, for each query.
 */
const spares: ArrayBuffer[] = [];
/** Most buffers kept in `spares`. */
const MAX_SPARES = 4;
/** Largest buffer kept in `spares`, bytes. */
const MAX_SPARE_BYTES = 1 << 20;
/** A spare up to this size (bytes) is taken for any request, however small: zeroing it costs less than allocating. */
const SPARE_ANY_BYTES = 256 * 1024;

/**
 * A zeroed buffer of at least `bytes` bytes: the largest spare that fits and is not much larger (so a fold that
 * grows takes room for its groups at once), else a new one.
 */
function takeBuffer(bytes: number): ArrayBuffer {
  const most = Math.max(4 * bytes, SPARE_ANY_BYTES);
  let best = -1;
  for (let i = 0; i < spares.length; i++) {
    const size = spares[i].byteLength;
    if (size >= bytes && size <= most && (best < 0 || size > spares[best].byteLength)) best = i;
  }
  if (best < 0) return new ArrayBuffer(bytes);
  const b = spares[best];
  spares[best] = spares[spares.length - 1];
  spares.pop();
  new Uint8Array(b).fill(0);
  return b;
}

/** Gives `b` back for a later takeBuffer; the caller keeps no view of it. */
function giveBuffer(b: ArrayBuffer): void {
  if (b.byteLength === 0 || b.byteLength > MAX_SPARE_BYTES) return;
  if (spares.length < MAX_SPARES) {
    spares.push(b);
    return;
  }
  let smallest = 0;
  for (let i = 1; i < spares.length; i++) if (spares[i].byteLength < spares[smallest].byteLength) smallest = i;
  if (spares[smallest].byteLength < b.byteLength) spares[smallest] = b;
}

/** Per-cell state of sum, avg, count, min, max, group, stddev, stdvar and quantile. A cell is one group at one
 * step (or one group, in the step-major loop). */
export class AggState {
  readonly value: Float64Array;
  readonly mean: Float64Array;
  readonly comp: Float64Array;
  readonly count: Float64Array;
  readonly incremental: Uint8Array;
  readonly dropName: Uint8Array;
  /** 1 once the cell holds a value: kept by SeriesFold, which meets a cell's inputs in series order. */
  readonly seen: Uint8Array;
  readonly lists: number[][];
  /** The one buffer every array above is a view of. */
  readonly buffer: ArrayBuffer;
  private readonly kb = new Float64Array(2);
  private readonly op: AggregateNode["op"];

  /**
   * State of aggregation `op` over as many cells as `buffer` holds (default: a new buffer of `cells` cells), which
   * must be zeroed; its arrays are views of that one buffer.
   */
  constructor(op: AggregateNode["op"], cells: number, buffer = new ArrayBuffer(cells * CELL_BYTES)) {
    this.op = op;
    this.buffer = buffer;
    const room = Math.floor(buffer.byteLength / CELL_BYTES);
    this.value = new Float64Array(buffer, 0, room);
    this.mean = new Float64Array(buffer, 8 * room, room);
    this.comp = new Float64Array(buffer, 16 * room, room);
    this.count = new Float64Array(buffer, 24 * room, room);
    this.incremental = new Uint8Array(buffer, 32 * room, room);
    this.dropName = new Uint8Array(buffer, 33 * room, room);
    this.seen = new Uint8Array(buffer, 34 * room, room);
    this.lists = op === "quantile" ? Array.from({ length: room }, () => []) : [];
  }

  /** Copies the cells of `from` (no more than this state has) into the first cells of this one. */
  copyFrom(from: AggState): void {
    this.value.set(from.value);
    this.mean.set(from.mean);
    this.comp.set(from.comp);
    this.count.set(from.count);
    this.incremental.set(from.incremental);
    this.dropName.set(from.dropName);
    this.seen.set(from.seen);
    for (let c = 0; c < from.lists.length; c++) this.lists[c] = from.lists[c];
  }

  /** Starts cell `c` with its first value `f`. */
  init(c: number, f: number, dropName: boolean): void {
    this.value[c] = f;
    this.mean[c] = f;
    this.comp[c] = 0;
    this.count[c] = 1;
    this.incremental[c] = 0;
    this.dropName[c] = dropName ? 1 : 0;
    switch (this.op) {
      case "stddev":
      case "stdvar":
        this.value[c] = Number.isNaN(f) || !Number.isFinite(f) ? Number.NaN : 0;
        break;
      case "quantile":
        this.lists[c].length = 0;
        this.lists[c].push(f);
        break;
      case "group":
        this.value[c] = 1;
        break;
      default:
        break;
    }
  }

  /** Folds a further value `f` into cell `c`. */
  update(c: number, f: number, dropName: boolean): void {
    const { value, comp, count, mean, kb } = this;
    if (dropName) this.dropName[c] = 1;
    switch (this.op) {
      case "sum":
        kahanInc(f, value[c], comp[c], kb);
        value[c] = kb[0];
        comp[c] = kb[1];
        break;
      case "avg": {
        count[c]++;
        if (!this.incremental[c]) {
          kahanInc(f, value[c], comp[c], kb);
          if (kb[0] !== Number.POSITIVE_INFINITY && kb[0] !== Number.NEGATIVE_INFINITY) {
            value[c] = kb[0];
            comp[c] = kb[1];
            break;
          }
          // The running sum would overflow: continue with an incremental mean.
          this.incremental[c] = 1;
          mean[c] = value[c] / (count[c] - 1);
          comp[c] /= count[c] - 1;
        }
        const r = (count[c] - 1) / count[c];
        kahanInc(f / count[c], r * mean[c], r * comp[c], kb);
        mean[c] = kb[0];
        comp[c] = kb[1];
        break;
      }
      case "max":
        if (value[c] < f || Number.isNaN(value[c])) value[c] = f;
        break;
      case "min":
        if (value[c] > f || Number.isNaN(value[c])) value[c] = f;
        break;
      case "count":
        count[c]++;
        break;
      case "stddev":
      case "stdvar": {
        count[c]++;
        const delta = f - mean[c];
        mean[c] += delta / count[c];
        value[c] += delta * (f - mean[c]);
        break;
      }
      case "quantile":
        this.lists[c].push(f);
        break;
      default:
        break;
    }
  }

  /** The aggregate of cell `c`; `q` is the quantile's parameter. */
  result(c: number, q: number): number {
    const { value, comp, count } = this;
    switch (this.op) {
      case "avg":
        return this.incremental[c] ? this.mean[c] + comp[c] : value[c] / count[c] + comp[c] / count[c];
      case "count":
        return count[c];
      case "stdvar":
        return value[c] / count[c];
      case "stddev":
        return Math.sqrt(value[c] / count[c]);
      case "quantile":
        return quantile(q, this.lists[c]);
      case "sum":
        return value[c] + comp[c];
      default:
        return value[c];
    }
  }
}

/** Adds `f` into cell `c` of a `sum` fold's running sums `value` and their compensations `comp` (Kahan–Neumaier,
 * as AggState.update adds), for the loops that fold straight into the cells. Small, so V8 inlines it there. */
export function addCompensated(value: Float64Array, comp: Float64Array, c: number, f: number): void {
  const sum = value[c];
  const t = sum + f;
  let cc = comp[c];
  if (t === Number.POSITIVE_INFINITY || t === Number.NEGATIVE_INFINITY) cc = 0;
  else if (Math.abs(sum) >= Math.abs(f)) cc += sum - t + f;
  else cc += f - t + sum;
  value[c] = t;
  comp[c] = cc;
}

/** Aggregations SeriesFold can run (every one with a single value per cell except quantile's list). */
export function foldsBySeries(op: AggregateNode["op"]): boolean {
  switch (op) {
    case "sum":
    case "avg":
    case "count":
    case "min":
    case "max":
    case "group":
    case "stddev":
    case "stdvar":
      return true;
    default:
      return false;
  }
}

/**
 * Runs aggregation `op` series by series over `groups × steps` cells. Feed every series with `add` (points as step
 * indices and values), then take the result with `finish`.
 */
export class SeriesFold {
  private readonly op: AggregateNode["op"];
  private readonly steps: number;
  private state: AggState;

  /** A fold of `op` with room for `groups` groups over `steps` steps (see `reserve` for more). */
  constructor(op: AggregateNode["op"], groups: number, steps: number) {
    this.op = op;
    this.steps = steps;
    const cells = groups * steps;
    this.state = new AggState(op, cells, takeBuffer(cells * CELL_BYTES));
  }

  /** Makes room for groups `0 .. groups - 1`, doubling the cells when it grows, so a fold whose groups are found
   * as its series arrive grows in amortized constant time per group. */
  reserve(groups: number): void {
    const cells = groups * this.steps;
    if (cells <= this.state.seen.length) return;
    const size = Math.max(cells, this.state.seen.length * 2);
    const state = new AggState(this.op, size, takeBuffer(size * CELL_BYTES));
    state.copyFrom(this.state);
    giveBuffer(this.state.buffer);
    this.state = state;
  }

  /** The cells of a `sum` fold, for a loop that adds into them as `add` does (rateSteps); valid until the next
   * `reserve`. */
  sums(): RateStepSums {
    const st = this.state;
    return { value: st.value, comp: st.comp, seen: st.seen, dropName: st.dropName };
  }

  /** Folds `n` points of one series (step indices `ks`, values `vs`) into group `group`. */
  add(group: number, ks: Int32Array, vs: Float64Array, n: number, dropName: boolean): void {
    const base = group * this.steps;
    const state = this.state;
    const seen = state.seen;
    if (this.op === "sum") {
      // Fast path: the Kahan step of AggState.update written out over the state arrays.
      const value = state.value;
      const comp = state.comp;
      const drop = state.dropName;
      for (let p = 0; p < n; p++) {
        const c = base + ks[p];
        const f = vs[p];
        if (seen[c] === 0) {
          seen[c] = 1;
          state.init(c, f, dropName);
          continue;
        }
        if (dropName) drop[c] = 1;
        addCompensated(value, comp, c, f);
      }
      return;
    }
    for (let p = 0; p < n; p++) {
      const c = base + ks[p];
      if (seen[c] === 0) {
        seen[c] = 1;
        state.init(c, vs[p], dropName);
      } else state.update(c, vs[p], dropName);
    }
  }

  /**
   * The output series, one per group with points (in group order, labelled `labels[group]`), counted as samples
   * held by the query. Ends the fold: its cells go back for a later fold to reuse.
   */
  finish(ev: Evaluator, labels: readonly Labels[]): Matrix {
    const q = ev.q;
    const steps = this.steps;
    const state = this.state;
    const seen = state.seen;
    const out: Matrix = [];
    for (let g = 0; g < labels.length; g++) {
      const base = g * steps;
      let count = 0;
      for (let k = 0; k < steps; k++) count += seen[base + k];
      if (count === 0) continue;
      q.add(count);
      const series = new Series(labels[g], false, count);
      for (let k = 0; k < steps; k++) {
        if (seen[base + k] === 0) continue;
        series.t[series.n] = ev.start + k * ev.interval;
        series.v[series.n++] = state.result(base + k, 0);
        series.dropName = state.dropName[base + k] === 1;
      }
      out.push(series);
    }
    giveBuffer(state.buffer);
    return out;
  }
}
