// Aggregation operators. Input series are mapped to groups once; each step then folds the series' points into
// per-group state held in typed arrays. topk/bottomk/limitk/limit_ratio keep Go's heap and sort order so ties
// come out as Prometheus orders them.

import type { Histogram } from "../../model/histogram.ts";
import { isValidUtf8LabelName, Labels, LabelsBuilder } from "../../model/labels.ts";
import { quoteGo } from "../../model/quote.ts";
import { AggState, foldsBySeries, SeriesFold } from "./agg-state.ts";
import { aggregateWithHistograms } from "./aggregate-histogram.ts";
import { histogramIgnoredInAggregationInfo, invalidQuantileWarning, invalidRatioWarning } from "./annotations.ts";
import { Collector } from "./collector.ts";
import { evalError } from "./context.ts";
import type { Evaluator } from "./evaluator.ts";
import { formatF, formatG } from "./format.ts";
import { lookupFunction } from "./functions/index.ts";
import { histogramString } from "./functions/native-histogram.ts";
import { goSort, heapFix, heapUp, reversed, type Sortable } from "./gosort.ts";
import { emptyLabels } from "./labelsets.ts";
import type { AggregateNode, PlanNode } from "./plan.ts";
import { PreparedRangeCall, type StepSumTarget } from "./range-call.ts";
import type { RateStepSums, RateStepTarget } from "./rate-steps.ts";
import { eachSelectorSeries, PRECOUNT_STEPS, streamSeries } from "./selectors.ts";
import { hasHistograms, type Matrix, MatrixCursor, totalSamples } from "./value.ts";

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

/**
 * The group key of `labels`: the values of the `by` labels (exact: each value after its length, where Prometheus
 * hashes them), or a hash over all but the `without` labels and the name.
 */
function groupingKey(labels: Labels, grouping: readonly string[], without: boolean): string {
  if (without) return labels.hashWithoutLabels(grouping);
  if (grouping.length === 0) return "";
  if (grouping.length === 1) return labels.get(grouping[0]);
  let key = "";
  for (const name of grouping) {
    const v = labels.get(name);
    key += `${v.length}:${v}`;
  }
  return key;
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
  const fused = aggregateRangeCall(ev, n, params) ?? aggregateSelector(ev, n, params);
  if (fused !== null) {
    q.set(original + totalSamples(fused));
    return fused;
  }
  const input = ev.eval(n.expr);
  const isK = n.op === "topk" || n.op === "bottomk" || n.op === "limitk" || n.op === "limit_ratio";
  const result = isK ? aggregateK(ev, n, input, params) : aggregate(ev, n, input, params);
  q.set(original + totalSamples(result));
  return result;
}

/**
 * An aggregation folded series by series as its input streams in (SeriesFold): groups numbered in order of their
 * first series, as aggregating the whole input would, and cells grown as groups are found; one key per group is
 * held, nothing per series. The fold takes floats only, over at most MAX_CELLS cells: a series with a histogram
 * point, or one more group, is refused, and the caller hands the aggregation to the general path.
 */
class StreamedFold implements StepSumTarget {
  private readonly labels: Labels[] = [];
  private readonly keys = new Map<string, number>();
  private readonly n: AggregateNode;
  private readonly steps: number;
  private readonly fold: SeriesFold;
  /** The fold's cells (renewed as it grows), and for each group whether all its cells hold a value marked for name
   * removal (see RateStepTarget.settled). */
  private sums: RateStepSums;
  private settled = new Uint8Array(16);
  /** The group `aim` readied, and its key and a series' labels while the group is not yet found. */
  private aimed = 0;
  private pendingKey: string | null = null;
  private pendingLabels: Labels | null = null;

  constructor(n: AggregateNode, steps: number) {
    this.n = n;
    this.steps = steps;
    this.fold = new SeriesFold(n.op, 0, steps);
    this.sums = this.fold.sums();
  }

  /** The cells of the group of a series labelled `labels` (see StepSumTarget); a group not yet found gets room
   * but counts as found only once a series of it gave a value. */
  aim(labels: Labels, out: RateStepTarget): boolean {
    const key = groupingKey(labels, this.n.grouping, this.n.without);
    let g = this.keys.get(key);
    this.pendingKey = null;
    this.pendingLabels = null;
    if (g === undefined) {
      g = this.labels.length;
      if ((g + 1) * this.steps > MAX_CELLS) return false;
      this.pendingKey = key;
      this.pendingLabels = labels;
      this.grow(g);
    }
    this.aimed = g;
    out.sums = this.sums;
    out.cell = g * this.steps;
    out.settled = this.settled[g] === 1;
    return true;
  }

  /** Records what the series `aim` readied gave: its group is found once it has a value, and settled once a
   * series marked for name removal gave a value at every step. */
  took(count: number, dropName: boolean): void {
    const key = this.pendingKey;
    const labels = this.pendingLabels;
    this.pendingKey = null;
    this.pendingLabels = null;
    if (count === 0) return;
    if (key !== null && labels !== null) this.found(key, labels);
    if (count === this.steps && dropName) this.settled[this.aimed] = 1;
  }

  // Makes room for group g.
  private grow(g: number): void {
    this.fold.reserve(g + 1);
    this.sums = this.fold.sums();
    if (g >= this.settled.length) {
      const settled = new Uint8Array(this.settled.length * 2);
      settled.set(this.settled);
      this.settled = settled;
    }
  }

  // Records the next group: its key and output labels (copied, see copyString).
  private found(key: string, labels: Labels): void {
    this.keys.set(copyString(key), this.labels.length);
    this.labels.push(ownLabels(groupingLabels(labels, this.n.grouping, this.n.without)));
  }

  /**
   * Folds the `count` points of a series labelled `labels` (step indices `ks`, values `vs`); false, folding
   * nothing, when it has histogram points (`histograms`) or would need more than MAX_CELLS cells.
   */
  add(
    labels: Labels,
    histograms: boolean,
    ks: Int32Array,
    vs: Float64Array,
    count: number,
    dropName: boolean,
  ): boolean {
    if (histograms) return false;
    const key = groupingKey(labels, this.n.grouping, this.n.without);
    let g = this.keys.get(key);
    if (g === undefined) {
      g = this.labels.length;
      if ((g + 1) * this.steps > MAX_CELLS) return false;
      this.grow(g);
      this.found(key, labels);
    }
    this.fold.add(g, ks, vs, count, dropName);
    return true;
  }

  /** The output series (see SeriesFold.finish). */
  finish(ev: Evaluator): Matrix {
    return this.fold.finish(ev, this.labels);
  }
}

/**
 * A copy of `s` that shares no memory with another string. A streamed series' label values may be slices of a
 * larger text (a query worker's page of labels): a group kept past its series must not keep that text alive.
 */
function copyString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** `labels` with every name and value copied (see copyString). */
function ownLabels(labels: Labels): Labels {
  const flat: string[] = [];
  labels.forEach((name, value) => {
    flat.push(copyString(name), copyString(value));
  });
  return Labels.fromSortedUnchecked(flat);
}

/**
 * Aggregates a range-function call (`sum(rate(x[5m]))`) without materialising the call's output: each series'
 * points go straight from the function into the group's cells, and a selection is read series by series without
 * being kept, so memory holds the groups' cells, not the series. Null when the aggregation or the call does not
 * qualify; then nothing has been evaluated. Groups, sample accounting and results are those of evaluating the call
 * and then aggregating its output.
 */
function aggregateRangeCall(ev: Evaluator, n: AggregateNode, params: Params): Matrix | null {
  const call = n.expr;
  if (!foldsBySeries(n.op) || call.kind !== "call" || !ev.q.settings.enableDelayedNameRemoval) return null;
  const name = call.func.name;
  const impl = lookupFunction(name);
  if (impl?.kind !== "range" || name === "absent_over_time") return null;
  const mi = call.args.findIndex((a) => a.kind === "matrix" || a.kind === "subquery");
  if (mi < 0) return null;
  ev.q.check();
  const prepared = new PreparedRangeCall(ev, call, mi, impl.fn, true);
  const fold = new StreamedFold(n, ev.numSteps());
  // A series the fold refuses sends the aggregation back to the general path, which reads every series again:
  // what this pass held and loaded is forgotten first.
  const before = ev.q.current;
  const loadedBefore = ev.q.loaded;
  let general = false;
  prepared.run(
    (_, labels, dropName, pts) => {
      general = !fold.add(labels, pts.h !== null, pts.k, pts.v, pts.n, dropName);
      return !general;
    },
    n.op === "sum" ? fold : null,
  );
  if (general) {
    ev.q.set(before);
    ev.q.loaded = loadedBefore;
    prepared.reselect();
    return aggregate(ev, n, prepared.collect(), params);
  }
  return fold.finish(ev);
}

/**
 * Aggregates an instant vector selector (`count by (app) (x)`) as aggregateRangeCall does a range-function call:
 * the selection is read and evaluated series by series, each series folded into its group's cells and dropped.
 * Null when the aggregation does not qualify; then nothing has been evaluated. Groups, sample accounting (every
 * series' points stay counted, as if the selection were held) and results are those of `aggregate`.
 */
function aggregateSelector(ev: Evaluator, n: AggregateNode, params: Params): Matrix | null {
  const sel = n.expr;
  if (!foldsBySeries(n.op) || sel.kind !== "selector" || sel.smoothed || ev.numSteps() > PRECOUNT_STEPS) return null;
  const q = ev.q;
  const fold = new StreamedFold(n, ev.numSteps());
  const before = q.current;
  const loadedBefore = q.loaded;
  let ks = new Int32Array(INITIAL_STEP_INDICES);
  let general = false;
  eachSelectorSeries(ev, streamSeries(q, sel), sel.offset, { statsOnly: sel.statsOnly }, (s) => {
    if (ks.length < s.n) ks = new Int32Array(Math.max(s.n, ks.length * 2));
    for (let p = 0; p < s.n; p++) ks[p] = ev.stepIndex(s.t[p]);
    general = !fold.add(s.labels, s.h !== null, ks, s.v, s.n, s.dropName);
    return !general;
  });
  // As in aggregateRangeCall.
  if (general) {
    q.set(before);
    q.loaded = loadedBefore;
    return aggregate(ev, n, ev.eval(sel), params);
  }
  return fold.finish(ev);
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

/** Initial room for the step indices of one series' points; grows to the longest series. */
const INITIAL_STEP_INDICES = 256;

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
  if (hasHistograms(input)) return aggregateWithHistograms(ev, n, input, groupOf, labels, params.at);
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
    q.tick(1 + input.length);
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

// The same aggregation run series by series (see SeriesFold).
function aggregateBySeries(
  ev: Evaluator,
  op: AggregateNode["op"],
  input: Matrix,
  groupOf: Int32Array,
  labels: Labels[],
): Matrix {
  const q = ev.q;
  const fold = new SeriesFold(op, labels.length, ev.numSteps());
  let ks = new Int32Array(64);
  for (let si = 0; si < input.length; si++) {
    q.check();
    const s = input[si];
    if (ks.length < s.n) ks = new Int32Array(Math.max(s.n, ks.length * 2));
    for (let p = 0; p < s.n; p++) ks[p] = ev.stepIndex(s.t[p]);
    fold.add(groupOf[si], ks, s.v, s.n, s.dropName);
  }
  return fold.finish(ev, labels);
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
  // The histogram each series has at this step (limitk and limit_ratio pass histograms on; topk and bottomk
  // leave them out).
  const hists: (Histogram | undefined)[] | null = hasHistograms(input) ? new Array(input.length) : null;
  let step = -1;
  for (let ts = ev.start; ts <= ev.end; ts += ev.interval) {
    step++;
    q.tick(1 + input.length);
    const fParam = params.at(step);
    let k = 0;
    r = 0;
    let skipStep = false;
    let remaining = ng;
    for (let si = 0; si < input.length; si++) {
      if (!cursor.next(si, ts)) continue;
      const f = cursor.value;
      if (hists !== null) {
        hists[si] = cursor.hist;
        if (cursor.hist !== undefined && (op === "topk" || op === "bottomk")) {
          q.annotations.add(histogramIgnoredInAggregationInfo(op, n.expr.pos));
          continue;
        }
      }
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
    const before = out.samples;
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
        const hv = hists === null ? undefined : hists[id];
        if (hv !== undefined) out.addH(slot, ts, hv);
        else out.add(slot, ts, h.f[i]);
      }
    }
    if (q.current + out.samples - before > q.settings.maxSamples) q.add(out.samples - before);
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
        const h = vec!.histAt(i);
        const value = h === undefined ? formatF(vec!.f[i]) : histogramString(h);
        const labels = new LabelsBuilder(input[vec!.ids[i]].labels).set(labelName, value).labels();
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
