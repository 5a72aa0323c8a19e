// Function calls. Functions over a range vector run series by series (range-call.ts). Functions over
// instant vectors run step by step through the evaluator's rangeEval. label_replace, label_join and info have
// their own evaluation, and timestamp() of a selector reads the samples' own timestamps.

import { ContrailError } from "../../model/errors.ts";
import { sortInRangeQueryWarning } from "./annotations.ts";
import type { Evaluator } from "./evaluator.ts";
import { lookupFunction } from "./functions/index.ts";
import { evalInfo } from "./functions/info.ts";
import { absentLabels, evalLabelJoin, evalLabelReplace } from "./functions/labels.ts";
import { droppedName } from "./functions/math.ts";
import type { MapFn, RangeFn } from "./functions/types.ts";
import { mergeSameLabelset } from "./labelsets.ts";
import type { CallNode, SelectorNode } from "./plan.ts";
import { PreparedRangeCall } from "./range-call.ts";
import { evalVectorSelector, selectSeries, storageSources } from "./selectors.ts";
import { type Matrix, Series } from "./value.ts";

const SORTS = new Set(["sort", "sort_desc", "sort_by_label", "sort_by_label_desc"]);

/** Evaluates a function call. */
export function evalCall(ev: Evaluator, n: CallNode): Matrix {
  const name = n.func.name;
  if (name === "timestamp" && n.args[0]?.kind === "selector") return timestampOfSelector(ev, n.args[0]);
  const impl = lookupFunction(name);
  if (impl === undefined) throw new ContrailError("internal", `unknown function ${name}`);
  if (impl.kind === "whole") return impl.fn(ev, n);
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
  const name = n.func.name;
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
    // Per-sample functions read floats: histogram samples have no output (timestamp() reads only the time).
    const hs = name === "timestamp" ? null : s.h;
    for (let i = 0; i < s.n; i++) {
      if (hs !== null && hs[i] !== undefined) continue;
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

function evalRangeFunction(ev: Evaluator, n: CallNode, mi: number, fn: RangeFn): Matrix {
  const out = new PreparedRangeCall(ev, n, mi, fn).collect();
  if (n.func.name === "absent_over_time") return absentOverTime(ev, n, out);
  return ev.q.settings.enableDelayedNameRemoval ? out : mergeSameLabelset(out);
}

// absent_over_time: one series without the selector's name, valued 1 at the steps where no input had samples.
function absentOverTime(ev: Evaluator, n: CallNode, present: Matrix): Matrix {
  const steps = ev.numSteps();
  if (present.some((s) => s.n === steps)) return [];
  const found = new Set<number>();
  for (const s of present) for (let i = 0; i < s.n; i++) found.add(s.t[i]);
  if (found.size === steps) return [];
  ev.q.add(steps - found.size);
  const out = new Series(absentLabels(n.args[0]), true, steps - found.size);
  for (let ts = ev.start; ts <= ev.end; ts += ev.interval) {
    ev.q.tick();
    if (!found.has(ts)) out.push(ts, 1);
  }
  return [out];
}
