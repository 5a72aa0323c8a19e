// info(v, {label selector}): enriches series with the data labels of matching info metrics (target_info by
// default), joined on the identifying labels `instance` and `job`. The info series are fetched with a selector
// built from the identifying label values actually present, and the newest info sample wins.

import { type Labels, LabelsBuilder } from "../../../model/labels.ts";
import { type Matcher, newMatcher } from "../../../model/matcher.ts";
import { Collector } from "../collector.ts";
import { evalError } from "../context.ts";
import type { Evaluator } from "../evaluator.ts";
import { type CallNode, type PlanNode, walkPlan } from "../plan.ts";
import { evalVectorSelector, storageSources } from "../selectors.ts";
import { type Matrix, MatrixCursor, StepVector, totalSamples } from "../value.ts";

const TARGET_INFO = "target_info";
const IDENTIFYING = ["instance", "job"];

function effectiveNameMatchers(matchers: Matcher[]): Matcher[] {
  if (matchers.some((m) => m.type === "=" || m.type === "=~")) return matchers;
  if (matchers.length > 0) return [newMatcher("=~", "__name__", ".+_info"), ...matchers];
  return [newMatcher("=", "__name__", TARGET_INFO)];
}

// The `@` time and total offset of the first selector in `expr` (adding the offsets of enclosing subqueries).
function timestampAndOffset(expr: PlanNode): { at: number | null; offset: number } {
  let found: { at: number | null; offset: number } | null = null;
  walkPlan(expr, (n, path) => {
    if (found !== null || n.kind !== "selector") return;
    let at = n.timestamp;
    let offset = n.originalOffset;
    for (let i = path.length - 1; at === null && i >= 0; i--) {
      const p = path[i];
      if (p.kind === "subquery") {
        offset += p.originalOffset;
        at = p.timestamp;
      }
    }
    found = { at, offset };
  });
  return found ?? { at: null, offset: 0 };
}

function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/** Evaluates info(). */
export function evalInfo(ev: Evaluator, n: CallNode): Matrix {
  const q = ev.q;
  const original = q.current;
  const { at, offset } = timestampAndOffset(n.args[0]);
  const mat = ev.eval(n.args[0]);
  const dataMatchers = new Map<string, Matcher[]>();
  let nameMatchers: Matcher[] = [];
  const sel = n.args[1];
  if (sel !== undefined && sel.kind === "selector") {
    for (const m of sel.matchers) {
      const list = dataMatchers.get(m.name) ?? [];
      list.push(m);
      dataMatchers.set(m.name, list);
      if (m.name === "__name__") nameMatchers.push(m);
    }
  } else nameMatchers = [newMatcher("=", "__name__", TARGET_INFO)];
  const effective = effectiveNameMatchers(nameMatchers);
  const ignored = new Set<number>();
  mat.forEach((s, i) => {
    const name = s.labels.metricName();
    if (effective.every((m) => m.matches(name))) ignored.add(i);
  });

  // Identifying label values of the series to enrich.
  const idValues = new Map<string, Set<string>>();
  mat.forEach((s, i) => {
    if (ignored.has(i)) return;
    for (const l of IDENTIFYING) {
      const v = s.labels.get(l);
      if (v === "") continue;
      const set = idValues.get(l) ?? new Set();
      set.add(v);
      idValues.set(l, set);
    }
  });
  const infoNameMatchers = dataMatchers.get("__name__") ?? [];
  dataMatchers.delete("__name__");
  let infoMat: Matrix = [];
  if (idValues.size > 0) {
    const matchers: Matcher[] = [];
    for (const [name, vals] of idValues) matchers.push(newMatcher("=~", name, [...vals].map(quoteMeta).join("|")));
    for (const ms of dataMatchers.values()) matchers.push(...ms);
    matchers.push(...effectiveNameMatchers(infoNameMatchers));
    let start = at ?? ev.start;
    let end = at ?? ev.end;
    start -= q.settings.lookbackDelta - 1 + offset;
    end -= offset;
    const set = q.querier.select(matchers, { start, end, step: ev.interval, func: "info" });
    infoMat = evalVectorSelector(ev, storageSources([...set]), offset, {
      at,
      recordOrigT: true,
      floatsOnly: "info sample should be float",
    });
  }
  const res = combine(ev, mat, infoMat, ignored, dataMatchers);
  q.set(original + totalSamples(res));
  return res;
}

function combine(
  ev: Evaluator,
  mat: Matrix,
  infoMat: Matrix,
  ignored: Set<number>,
  dataMatchers: Map<string, Matcher[]>,
): Matrix {
  const infoNames = [...new Set(infoMat.map((s) => s.labels.metricName()))];
  const sigOf = (name: string, labels: Labels) =>
    `${name}\u0000${IDENTIFYING.map((l) => `${l}=${labels.get(l)}`).join("\u0000")}`;
  const baseSigs = mat.map((s) => infoNames.map((name) => sigOf(name, s.labels)));
  const infoSigs = infoMat.map((s) => sigOf(s.labels.metricName(), s.labels));
  const allMatchEmpty = [...dataMatchers.values()].every((ms) => ms.every((m) => m.matches("")));
  const baseCursor = new MatrixCursor(mat);
  const infoCursor = new MatrixCursor(infoMat);
  const baseVec = new StepVector(mat.length);
  const infoVec = new StepVector(infoMat.length);
  const out = new Collector(ev.instant, ev.numSteps());
  const best = new Map<string, number>();
  for (let ts = ev.start; ts <= ev.end; ts += ev.interval) {
    ev.q.tick(1 + mat.length + infoMat.length);
    baseCursor.gather(ts, baseVec);
    infoCursor.gather(ts, infoVec);
    if (baseVec.n === 0) continue;
    best.clear();
    for (let i = 0; i < infoVec.n; i++) {
      const id = infoVec.ids[i];
      const sig = infoSigs[id];
      const prev = best.get(sig);
      if (prev === undefined) {
        best.set(sig, i);
        continue;
      }
      const prevT = Math.trunc(infoVec.f[prev]);
      const t = Math.trunc(infoVec.f[i]);
      if (prevT < t) best.set(sig, i);
      else if (prevT === t) {
        evalError(
          `found duplicate series for info metric: existing ${infoMat[infoVec.ids[prev]].labels.toString()} @ ${prevT}, new ${infoMat[id].labels.toString()} @ ${t}`,
        );
      }
    }
    for (let i = 0; i < baseVec.n; i++) {
      const id = baseVec.ids[i];
      const base = mat[id];
      if (ignored.has(id)) {
        out.add(out.slot(base.labels, base.dropName), ts, baseVec.f[i]);
        continue;
      }
      const added = new LabelsBuilder();
      let seen = 0;
      infoNames.forEach((_, k) => {
        const j = best.get(baseSigs[id][k]);
        if (j === undefined) return;
        infoMat[infoVec.ids[j]].labels.forEach((name, value) => {
          if (name === "__name__") return;
          if (dataMatchers.size > 0 && !dataMatchers.has(name)) return;
          const have = added.get(name);
          if (have !== "" && have !== value) evalError(`conflicting label: ${name}`);
          if (base.labels.has(name)) return;
          added.set(name, value);
        });
        seen++;
      });
      if (seen === 0 && !allMatchEmpty) continue;
      const b = new LabelsBuilder(base.labels);
      added.labels().forEach((name, value) => {
        b.set(name, value);
      });
      out.add(out.slot(b.labels(), base.dropName), ts, baseVec.f[i]);
    }
  }
  return out.result();
}
