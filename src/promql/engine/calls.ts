// Function calls. A function over a range vector runs series by series: one sliding window per series moves
// along the steps, and the function sees each step's window in place (typed arrays, no copies). Functions over
// instant vectors run step by step through the evaluator's rangeEval. label_replace, label_join and info have
// their own evaluation, and timestamp() of a selector reads the samples' own timestamps.

import { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { possibleNonCounterInfo, sortInRangeQueryWarning } from "./annotations.ts";
import { evalError } from "./context.ts";
import type { Evaluator } from "./evaluator.ts";
import { ANCHORED_SAFE, lookupFunction, SMOOTHED_SAFE } from "./functions/index.ts";
import { evalInfo } from "./functions/info.ts";
import { absentLabels, evalLabelJoin, evalLabelReplace } from "./functions/labels.ts";
import { droppedName } from "./functions/math.ts";
import { type MapFn, RangeCall, type RangeFn } from "./functions/types.ts";
import { dropMetadata, mergeSameLabelset } from "./labelsets.ts";
import type { CallNode, SelectorNode } from "./plan.ts";
import {
  evalVectorSelector,
  matrixSources,
  type SourceSeries,
  selectSeries,
  storageSources,
  Window,
} from "./selectors.ts";
import { runSubquery, subqueryWindow } from "./subquery.ts";
import { type Matrix, Series, totalPoints } from "./value.ts";

const SORTS = new Set(["sort", "sort_desc", "sort_by_label", "sort_by_label_desc"]);
const COUNTER_SUFFIXES = ["_total", "_sum", "_count", "_bucket"];

/** Evaluates a function call. */
export function evalCall(ev: Evaluator, n: CallNode): Matrix {
  const name = n.func.name;
  if (name === "timestamp" && n.args[0]?.kind === "selector") return timestampOfSelector(ev, n.args[0]);
  const impl = lookupFunction(name);
  if (impl === undefined) throw new ContrailError("internal", `unknown function ${name}`);
  if (impl.kind === "special") {
    if (name === "label_replace") return evalLabelReplace(ev, n);
    if (name === "label_join") return evalLabelJoin(ev, n);
    return evalInfo(ev, n);
  }
  if (SORTS.has(name) && !ev.instant) ev.q.annotations.add(sortInRangeQueryWarning(n.pos));
  const mi = n.args.findIndex((a) => a.kind === "matrix" || a.kind === "subquery");
  if (impl.kind === "vector") {
    return ev.rangeEval(n.args, (args) => impl.fn({ ev, node: n, args }));
  }
  if (impl.kind === "map") {
    if (n.args.length === 0 && impl.noArgs !== undefined) {
      const noArgs = impl.noArgs;
      return ev.rangeEval([], (args) => noArgs({ ev, node: n, args }));
    }
    return evalMap(ev, n, impl.fn, impl.skip);
  }
  if (mi < 0) throw new ContrailError("internal", `function ${name} called without a range argument`);
  return evalRangeFunction(ev, n, mi, impl.fn);
}

// A per-sample function, series by series: each input series gives one output series with the same labels (the
// name marked for removal), the scalar arguments read at each point's step.
function evalMap(
  ev: Evaluator,
  n: CallNode,
  fn: MapFn,
  skip: ((params: readonly number[]) => boolean) | undefined,
): Matrix {
  const q = ev.q;
  const original = q.current;
  const input = ev.eval(n.args[0]);
  const params = n.args.slice(1).map((a) => {
    const m = ev.eval(a);
    const values = new Float64Array(ev.numSteps()).fill(Number.NaN);
    const s = m[0];
    if (s !== undefined) for (let i = 0; i < s.n; i++) values[ev.stepIndex(s.t[i])] = s.v[i];
    return values;
  });
  const p: number[] = new Array(params.length).fill(0);
  const out: Matrix = [];
  let total = 0;
  for (const s of input) {
    q.check();
    const res = new Series(droppedName(ev, s.labels), true, s.n);
    for (let i = 0; i < s.n; i++) {
      const k = ev.stepIndex(s.t[i]);
      for (let j = 0; j < params.length; j++) p[j] = params[j][k];
      if (skip?.(p)) continue;
      const value = fn(s.v[i], p, s.t[i]);
      if (res.n === res.t.length) res.grow(res.n * 2);
      res.t[res.n] = s.t[i];
      res.v[res.n++] = value;
    }
    if (res.n === 0) continue;
    out.push(res);
    total += res.n;
  }
  q.add(total);
  q.set(original + total);
  return ev.q.settings.enableDelayedNameRemoval ? out : mergeSameLabelset(out);
}

// timestamp(selector): the timestamp of each selected sample (not the step time).
function timestampOfSelector(ev: Evaluator, vs: SelectorNode): Matrix {
  const at = vs.timestamp;
  const m = evalVectorSelector(ev, storageSources(selectSeries(ev.q, vs)), at !== null ? 0 : vs.offset, {
    at,
    recordOrigT: true,
  });
  for (const s of m) {
    s.labels = droppedName(ev, s.labels);
    s.dropName = true;
    for (let i = 0; i < s.n; i++) s.v[i] /= 1000;
  }
  return m;
}

interface RangeSource {
  sources: SourceSeries[];
  offset: number;
  range: number;
  timestamp: number | null;
  anchored: boolean;
  smoothed: boolean;
  /** Points held by an evaluated subquery, released when the call is done. */
  held: number;
}

function rangeSource(ev: Evaluator, n: CallNode, mi: number): RangeSource {
  const arg = n.args[mi];
  if (arg.kind === "subquery") {
    const m = runSubquery(ev, arg);
    const { offset, range } = subqueryWindow(ev, arg);
    return {
      sources: matrixSources(m),
      offset,
      range,
      timestamp: arg.timestamp,
      anchored: false,
      smoothed: false,
      held: totalPoints(m),
    };
  }
  if (arg.kind !== "matrix") throw new ContrailError("internal", "range argument expected");
  const vs = arg.selector;
  return {
    sources: storageSources(selectSeries(ev.q, vs)),
    offset: vs.offset,
    range: arg.range,
    timestamp: vs.timestamp,
    anchored: vs.anchored,
    smoothed: vs.smoothed,
    held: 0,
  };
}

// What every series of one range-function call shares.
interface RangeRun {
  readonly ev: Evaluator;
  readonly src: RangeSource;
  readonly fn: RangeFn;
  readonly call: RangeCall;
  readonly w: Window;
  readonly scalarArgs: Matrix[];
}

function evalRangeFunction(ev: Evaluator, n: CallNode, mi: number, fn: RangeFn): Matrix {
  const q = ev.q;
  const name = n.func.name;
  const src = rangeSource(ev, n, mi);
  const others = n.args.map((a, i) => (i === mi || a.kind === "string" ? null : ev.eval(a)));
  if (src.anchored && !ANCHORED_SAFE.includes(name)) {
    evalError(`anchored modifier can only be used with: ${ANCHORED_SAFE.join(", ")} - not with ${name}`);
  }
  if (src.smoothed && !SMOOTHED_SAFE.includes(name)) {
    evalError(`smoothed modifier can only be used with: ${SMOOTHED_SAFE.join(", ")} - not with ${name}`);
  }
  const delayed = q.settings.enableDelayedNameRemoval;
  const dropFn = name !== "last_over_time" && name !== "first_over_time";
  const call = new RangeCall(n, q);
  call.range = src.range;
  call.anchored = src.anchored;
  call.smoothed = src.smoothed;
  const scalarArgs = others.filter((m) => m !== null) as Matrix[];
  call.scalars = new Array(scalarArgs.length).fill(0);
  const run: RangeRun = { ev, src, fn, call, w: new Window(), scalarArgs };
  const out: Matrix = [];
  let it: ReturnType<SourceSeries["iterator"]> | undefined;
  const counterCheck = name === "rate" || name === "increase";
  for (const s of src.sources) {
    q.check();
    it = s.iterator(it);
    run.w.reset(it);
    call.labels = s.labels;
    const res = seriesWindows(run);
    if (res === null) continue;
    const dropName = dropFn || s.dropName;
    res.labels = dropName && !delayed ? dropMetadata(s.labels) : s.labels;
    res.dropName = dropName;
    q.add(res.n);
    out.push(res);
    if (counterCheck) {
      const metric = s.labels.metricName();
      if (metric !== "" && !COUNTER_SUFFIXES.some((sfx) => metric.endsWith(sfx))) {
        q.annotations.add(possibleNonCounterInfo(metric, n.args[0].pos));
      }
    }
  }
  q.set(q.current - src.held);
  if (name === "absent_over_time") return absentOverTime(ev, n, out);
  return delayed ? out : mergeSameLabelset(out);
}

// Slides the window of the current series along the steps and applies the function at each; null when it never
// produced a value. Kept small and free of calls taking doubles, so V8 keeps every timestamp unboxed.
function seriesWindows(run: RangeRun): Series | null {
  const { ev, src, fn, call, w, scalarArgs } = run;
  const q = ev.q;
  const lookback = q.settings.lookbackDelta;
  const start = ev.start;
  const end = ev.end;
  const interval = ev.interval;
  const offset = src.offset;
  const range = src.range;
  let res: Series | null = null;
  let held = 0;
  let step = -1;
  for (let ts = start; ts <= end; ts += interval) {
    step++;
    for (let k = 0; k < scalarArgs.length; k++) {
      const sc = scalarArgs[k][0];
      call.scalars[k] = sc !== undefined && step < sc.n ? sc.v[step] : Number.NaN;
    }
    if (ts === start || src.timestamp === null) {
      let maxt = ts - offset;
      let mint = maxt - range;
      if (src.anchored) mint -= lookback;
      else if (src.smoothed) {
        mint -= lookback;
        maxt += lookback;
      }
      w.mint = mint;
      w.maxt = maxt;
      w.fillBounds();
      q.add(w.hi - w.lo - held);
      held = w.hi - w.lo;
    }
    if (w.hi === w.lo) continue;
    q.loaded += w.hi - w.lo;
    call.t = w.t;
    call.v = w.v;
    call.lo = w.lo;
    call.hi = w.hi;
    call.drops = w.drops;
    call.ts = ts;
    call.rangeStart = ts - range - offset;
    call.rangeEnd = ts - offset;
    if (!fn(call)) continue;
    if (res === null) res = new Series(Labels.EMPTY, false, Math.min(ev.numSteps(), 5000));
    // Written out rather than push(): a non-inlined call would box both doubles.
    if (res.n === res.t.length) res.grow(res.n * 2);
    res.t[res.n] = ts;
    res.v[res.n++] = call.result;
  }
  q.set(q.current - held);
  return res;
}

// absent_over_time: one series without the selector's name, valued 1 at the steps where no input had samples.
function absentOverTime(ev: Evaluator, n: CallNode, present: Matrix): Matrix {
  const steps = ev.numSteps();
  if (present.some((s) => s.n === steps)) return [];
  const found = new Set<number>();
  for (const s of present) for (let i = 0; i < s.n; i++) found.add(s.t[i]);
  if (found.size === steps) return [];
  const out = new Series(absentLabels(n.args[0]), true, steps - found.size);
  for (let ts = ev.start; ts <= ev.end; ts += ev.interval) if (!found.has(ts)) out.push(ts, 1);
  ev.q.add(out.n);
  return [out];
}
