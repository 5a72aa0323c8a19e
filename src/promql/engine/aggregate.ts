// Aggregation operators. Input series are mapped to groups once; each step then folds the series' points into
// per-group state held in typed arrays. topk/bottomk/limitk/limit_ratio keep Go's heap and sort order so ties
// come out as Prometheus orders them.

import { isValidUtf8LabelName, type Labels, LabelsBuilder } from "../../model/labels.ts";
import { quoteGo } from "../../model/quote.ts";
import { invalidQuantileWarning, invalidRatioWarning } from "./annotations.ts";
import { Collector } from "./collector.ts";
import { evalError } from "./context.ts";
import type { Evaluator } from "./evaluator.ts";
import { formatF, formatG } from "./format.ts";
import { goSort, heapFix, heapUp, reversed, type Sortable } from "./gosort.ts";
import { emptyLabels } from "./labelsets.ts";
import type { AggregateNode, PlanNode } from "./plan.ts";
import { kahanInc, quantile } from "./quantile.ts";
import { type Matrix, MatrixCursor, Series, totalPoints } from "./value.ts";

// Largest float that converts to int64 without overflow, and the smallest.
const MAX_INT64 = 2 ** 63 - 1024;
const MIN_INT64 = -(2 ** 63);

/** The values of an aggregation parameter per step, with their min, max and whether one is NaN. */
interface Params {
  at(step: number): number;
  min: number;
  max: number;
  hasNaN: boolean;
}

function evalParams(ev: Evaluator, param: PlanNode | null): Params {
  const none: Params = { at: () => 0, min: 0, max: 0, hasNaN: false };
  if (param === null) return none;
  const m = ev.eval(param);
  if (m.length === 0) return none;
  const s = m[0];
  let min = Number.MAX_VALUE;
  let max = -Number.MAX_VALUE;
  let hasNaN = false;
  for (let i = 0; i < s.n; i++) {
    max = Math.max(max, s.v[i]);
    min = Math.min(min, s.v[i]);
    if (Number.isNaN(s.v[i])) hasNaN = true;
  }
  if (param.kind === "number") return { at: () => s.v[0], min: s.v[0], max: s.v[0], hasNaN };
  return { at: (step) => (step < s.n ? s.v[step] : 0), min, max, hasNaN };
}

/** The group key of `labels`: a hash over the `by` labels, or over all but the `without` labels and the name. */
function groupingKey(labels: Labels, grouping: readonly string[], without: boolean): string {
  if (without) return labels.hashWithoutLabels(grouping);
  if (grouping.length === 0) return "";
  return labels.hashForLabels(grouping);
}

/** The output labels of a group. */
function groupingLabels(labels: Labels, grouping: readonly string[], without: boolean): Labels {
  if (without) return new LabelsBuilder(labels).del(...grouping, "__name__").labels();
  if (grouping.length > 0) return new LabelsBuilder(labels).keep(...grouping).labels();
  return emptyLabels();
}

/** Evaluates an aggregation. */
export function evalAggregate(ev: Evaluator, n: AggregateNode): Matrix {
  if (n.op === "count_values") return evalCountValues(ev, n);
  const q = ev.q;
  const original = q.current;
  const params = evalParams(ev, n.param);
  const input = ev.eval(n.expr);
  const isK = n.op === "topk" || n.op === "bottomk" || n.op === "limitk" || n.op === "limit_ratio";
  const result = isK ? aggregateK(ev, n, input, params) : aggregate(ev, n, input, params);
  q.set(original + totalPoints(result));
  return result;
}

// Maps every input series to its group: indices into the returned label list, in order of first appearance.
function assignGroups(n: AggregateNode, input: Matrix): { groupOf: Int32Array; first: number[] } {
  const groupOf = new Int32Array(input.length);
  const index = new Map<string, number>();
  const first: number[] = [];
  for (let i = 0; i < input.length; i++) {
    const key = groupingKey(input[i].labels, n.grouping, n.without);
    let g = index.get(key);
    if (g === undefined) {
      g = first.length;
      index.set(key, g);
      first.push(i);
    }
    groupOf[i] = g;
  }
  return { groupOf, first };
}

// Per-cell state of sum, avg, count, min, max, group, stddev, stdvar and quantile. A cell is one group at one step.
class AggState {
  readonly value: Float64Array;
  readonly mean: Float64Array;
  readonly comp: Float64Array;
  readonly count: Float64Array;
  readonly incremental: Uint8Array;
  readonly dropName: Uint8Array;
  readonly lists: number[][];
  private readonly kb = new Float64Array(2);
  private readonly op: AggregateNode["op"];

  constructor(op: AggregateNode["op"], cells: number) {
    this.op = op;
    this.value = new Float64Array(cells);
    this.mean = new Float64Array(cells);
    this.comp = new Float64Array(cells);
    this.count = new Float64Array(cells);
    this.incremental = new Uint8Array(cells);
    this.dropName = new Uint8Array(cells);
    this.lists = op === "quantile" ? Array.from({ length: cells }, () => []) : [];
  }

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

// Above this many cells (groups × steps) the step-major loop, whose state is one cell per group, is used.
const MAX_CELLS = 1 << 22;

function aggregate(ev: Evaluator, n: AggregateNode, input: Matrix, params: Params): Matrix {
  const q = ev.q;
  const op = n.op;
  if (op === "quantile" && n.param !== null) {
    const pos = n.param.pos;
    if (params.hasNaN) q.annotations.add(invalidQuantileWarning(Number.NaN, pos));
    if (params.max > 1) q.annotations.add(invalidQuantileWarning(params.max, pos));
    if (params.min < 0) q.annotations.add(invalidQuantileWarning(params.min, pos));
  }
  const { groupOf, first } = assignGroups(n, input);
  const ng = first.length;
  const steps = ev.numSteps();
  const labels = first.map((i) => groupingLabels(input[i].labels, n.grouping, n.without));
  if (op !== "quantile" && ng * steps <= MAX_CELLS) return aggregateBySeries(ev, op, input, groupOf, labels);
  const out = new Collector(ev.instant, steps);
  const slots = labels.map((l) => out.slot(l, false));
  const state = new AggState(op, ng);
  const seen = new Int32Array(ng).fill(-1);
  const cursor = new MatrixCursor(input);
  const touched: number[] = [];
  let step = -1;
  for (let ts = ev.start; ts <= ev.end; ts += ev.interval) {
    step++;
    q.check();
    touched.length = 0;
    for (let si = 0; si < input.length; si++) {
      if (!cursor.next(si, ts)) continue;
      const g = groupOf[si];
      if (seen[g] !== step) {
        seen[g] = step;
        touched.push(g);
        state.init(g, cursor.value, input[si].dropName);
      } else state.update(g, cursor.value, input[si].dropName);
    }
    touched.sort((a, b) => a - b);
    const qv = params.at(step);
    for (const g of touched) {
      out.setDropName(slots[g], state.dropName[g] === 1);
      out.add(slots[g], ts, state.result(g, qv));
    }
    if (q.current + touched.length > q.settings.maxSamples) q.add(touched.length);
  }
  return out.result();
}

// The same aggregation run series by series: every input point updates the cell of its group and step, so each
// series is read once, in order. Cells see their inputs in the same order as the step-major loop.
function aggregateBySeries(
  ev: Evaluator,
  op: AggregateNode["op"],
  input: Matrix,
  groupOf: Int32Array,
  labels: Labels[],
): Matrix {
  const q = ev.q;
  const steps = ev.numSteps();
  const ng = labels.length;
  const state = new AggState(op, ng * steps);
  const seen = new Uint8Array(ng * steps);
  for (let si = 0; si < input.length; si++) {
    q.check();
    const s = input[si];
    const base = groupOf[si] * steps;
    const drop = s.dropName;
    for (let p = 0; p < s.n; p++) {
      const c = base + ev.stepIndex(s.t[p]);
      if (seen[c] === 0) {
        seen[c] = 1;
        state.init(c, s.v[p], drop);
      } else state.update(c, s.v[p], drop);
    }
  }
  const out: Matrix = [];
  for (let g = 0; g < ng; g++) {
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
  return out;
}

// A heap of (input series, value) pairs, ordered like Prometheus's vectorByValueHeap or its reverse.
class KHeap implements Sortable {
  ids: number[] = [];
  f: number[] = [];
  reverse = false;

  len(): number {
    return this.ids.length;
  }

  less(i: number, j: number): boolean {
    const vi = this.f[i];
    if (Number.isNaN(vi)) return true;
    return this.reverse ? vi > this.f[j] : vi < this.f[j];
  }

  swap(i: number, j: number): void {
    const ti = this.ids[i];
    this.ids[i] = this.ids[j];
    this.ids[j] = ti;
    const tf = this.f[i];
    this.f[i] = this.f[j];
    this.f[j] = tf;
  }

  push(id: number, f: number): void {
    this.ids.push(id);
    this.f.push(f);
    heapUp(this, this.ids.length - 1);
  }
}

// Prometheus's deterministic sampling offset of a label set in [0, 1]: its hash over the largest uint64.
function ratioOffset(labels: Labels): number {
  return Number(BigInt(`0x${labels.hash()}`)) / 2 ** 64;
}

function aggregateK(ev: Evaluator, n: AggregateNode, input: Matrix, params: Params): Matrix {
  const q = ev.q;
  const op = n.op;
  if (op === "limit_ratio") {
    if (params.max === 0 && params.min === 0) return [];
    if (params.hasNaN) evalError("Ratio value is NaN");
    const pos = n.param?.pos ?? null;
    if (params.max > 1) q.annotations.add(invalidRatioWarning(params.max, 1, pos));
    if (params.min < -1) q.annotations.add(invalidRatioWarning(params.min, -1, pos));
  } else {
    if (params.max < 1) return [];
    if (params.hasNaN) evalError("Parameter value is NaN");
    if (params.min <= MIN_INT64) evalError(`Scalar value ${formatG(params.min)} underflows int64`);
    if (params.max >= MAX_INT64) evalError(`Scalar value ${formatG(params.max)} overflows int64`);
  }
  const { groupOf, first } = assignGroups(n, input);
  const ng = first.length;
  const heaps = Array.from({ length: ng }, () => new KHeap());
  const seen = new Int32Array(ng).fill(-1);
  const complete = new Uint8Array(ng);
  let r = 0;
  const offsets = new Float64Array(op === "limit_ratio" ? input.length : 0).fill(-1);
  const sampled = (si: number) => {
    if (offsets[si] < 0) offsets[si] = ratioOffset(input[si].labels);
    return (r >= 0 && offsets[si] < r) || (r < 0 && offsets[si] >= 1 + r);
  };
  const out = new Collector(ev.instant, ev.numSteps());
  const slots = new Int32Array(input.length).fill(-1);
  const cursor = new MatrixCursor(input);
  let step = -1;
  for (let ts = ev.start; ts <= ev.end; ts += ev.interval) {
    step++;
    q.check();
    const fParam = params.at(step);
    let k = 0;
    r = 0;
    let skipStep = false;
    let remaining = ng;
    for (let si = 0; si < input.length; si++) {
      if (!cursor.next(si, ts)) continue;
      const f = cursor.value;
      if (op === "limit_ratio") {
        if (fParam === 0) {
          skipStep = true;
          break;
        }
        r = fParam < -1 ? -1 : Math.min(fParam, 1);
      } else {
        k = Math.min(Math.trunc(fParam), input.length);
        if (k < 1) {
          skipStep = true;
          break;
        }
      }
      const g = groupOf[si];
      const h = heaps[g];
      if (seen[g] !== step) {
        seen[g] = step;
        complete[g] = 0;
        h.ids.length = 0;
        h.f.length = 0;
        h.reverse = op === "bottomk";
        if (op === "limitk") {
          h.ids.push(si);
          h.f.push(f);
        } else if (op === "limit_ratio") {
          if (sampled(si)) h.push(si, f);
        } else h.push(si, f);
        continue;
      }
      switch (op) {
        case "topk":
          if (h.len() < k) h.push(si, f);
          else if (h.f[0] < f || (Number.isNaN(h.f[0]) && !Number.isNaN(f))) {
            h.ids[0] = si;
            h.f[0] = f;
            if (k > 1) heapFix(h, 0);
          }
          break;
        case "bottomk":
          if (h.len() < k) h.push(si, f);
          else if (h.f[0] > f || (Number.isNaN(h.f[0]) && !Number.isNaN(f))) {
            h.ids[0] = si;
            h.f[0] = f;
            if (k > 1) heapFix(h, 0);
          }
          break;
        case "limitk":
          if (h.len() < k) h.push(si, f);
          break;
        case "limit_ratio":
          if (sampled(si)) h.push(si, f);
          break;
        default:
          break;
      }
      if (op === "limitk" && !complete[g] && h.len() === k) {
        complete[g] = 1;
        remaining--;
        if (remaining === 0) break;
      }
    }
    if (skipStep) continue;
    const before = out.added;
    for (let g = 0; g < ng; g++) {
      if (seen[g] !== step) continue;
      const h = heaps[g];
      if ((op === "topk" || op === "bottomk") && h.len() > 1) goSort(reversed(h));
      for (let i = 0; i < h.ids.length; i++) {
        const id = h.ids[i];
        let slot = slots[id];
        if (slot < 0 || ev.instant) {
          slot = out.slot(input[id].labels, input[id].dropName);
          slots[id] = slot;
        }
        out.add(slot, ts, h.f[i]);
      }
    }
    if (q.current + out.added - before > q.settings.maxSamples) q.add(out.added - before);
  }
  return out.result();
}

function evalCountValues(ev: Evaluator, n: AggregateNode): Matrix {
  const labelName = n.param?.kind === "string" ? n.param.value : "";
  if (!isValidUtf8LabelName(labelName)) evalError(`invalid label name ${quoteGo(labelName)}`);
  const grouping = n.without ? n.grouping : [...n.grouping, labelName].sort();
  return ev.rangeEval([n.expr], (mats) => {
    const input = mats[0]!;
    const groupSlots = new Map<string, number>();
    return (ts, [vec], out) => {
      const counts = new Map<string, { labels: Labels; count: number }>();
      for (let i = 0; i < vec!.n; i++) {
        const labels = new LabelsBuilder(input[vec!.ids[i]].labels).set(labelName, formatF(vec!.f[i])).labels();
        const key = groupingKey(labels, grouping, n.without);
        const g = counts.get(key);
        if (g) g.count++;
        else counts.set(key, { labels: groupingLabels(labels, grouping, n.without), count: 1 });
      }
      for (const [key, g] of counts) {
        let slot = ev.instant ? undefined : groupSlots.get(key);
        if (slot === undefined) {
          slot = out.slot(g.labels, false);
          groupSlots.set(key, slot);
        }
        out.add(slot, ts, g.count);
      }
    };
  });
}
