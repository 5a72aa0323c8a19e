// The MetricsQL functions PromQL lacks (their table is parser/metricsql.ts), with VictoriaMetrics' semantics. Each
// evaluates its argument over the whole step range at once, because topk_* and bottomk_* rank series by a
// statistic of the whole range.

import { type Labels, LabelsBuilder } from "../../../model/labels.ts";
import { RANK_STATISTICS } from "../../parser/metricsql.ts";
import { evalError } from "../context.ts";
import type { Evaluator } from "../evaluator.ts";
import { mergeSameLabelset } from "../labelsets.ts";
import type { CallNode, PlanNode } from "../plan.ts";
import { type Matrix, Series, totalSamples } from "../value.ts";
import type { WholeFn } from "./types.ts";

function stringArg(n: PlanNode): string {
  if (n.kind !== "string") evalError("expected a string argument");
  return n.value;
}

// A scalar argument's value at each step (NaN where it has none).
function scalarSteps(ev: Evaluator, n: PlanNode): Float64Array {
  const out = new Float64Array(ev.numSteps()).fill(Number.NaN);
  const s = ev.eval(n)[0];
  if (s !== undefined) for (let i = 0; i < s.n; i++) out[ev.stepIndex(s.t[i])] = s.v[i];
  return out;
}

/** One group of a MetricsQL aggregation: the labels its output carries and its input series. */
interface Group {
  readonly labels: Labels;
  readonly series: Series[];
}

// The series of `m` grouped by the call's `by`/`without` clause (one group without a clause): a group's labels are
// the `by` labels, or all but the `without` labels and the name.
function groups(n: CallNode, m: Matrix): Group[] {
  const g = n.grouping;
  const out = new Map<string, Group>();
  for (const s of m) {
    let labels: Labels;
    if (g === undefined) labels = new LabelsBuilder().labels();
    else if (g.without) labels = new LabelsBuilder(s.labels).del("__name__", ...g.labels).labels();
    else labels = new LabelsBuilder(s.labels).keep(...g.labels).labels();
    const key = labels.hash();
    const group = out.get(key);
    if (group === undefined) out.set(key, { labels, series: [s] });
    else group.series.push(s);
  }
  return [...out.values()];
}

// The median of sorted values by linear interpolation.
function median(sorted: readonly number[]): number {
  const rank = (sorted.length - 1) / 2;
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

type Statistic = (typeof RANK_STATISTICS)[number];

// A series' statistic over all its points (NaN without points).
function statistic(s: Series, stat: Statistic): number {
  if (s.n === 0) return Number.NaN;
  const v = s.v.subarray(0, s.n);
  switch (stat) {
    case "min":
      return v.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
    case "max":
      return v.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
    case "avg":
      return v.reduce((a, b) => a + b, 0) / v.length;
    case "median":
      return median(Array.from(v).sort((a, b) => a - b));
    case "last":
      return v[v.length - 1];
  }
}

// k as a whole number of series between 0 and `max` (NaN reads as 0).
function boundedK(k: number, max: number): number {
  if (Number.isNaN(k) || k < 0) return 0;
  return Math.min(Math.trunc(k), max);
}

/**
 * topk_<stat>(k, q, "label=value") and bottomk_<stat>: the k series of q with the highest (lowest) statistic over
 * the whole range; k is read at each step, so a series keeps only the steps where it ranks within k. With the
 * optional third argument, the series left out are summed at each step into one more series labelled
 * `label="value"` (the whole argument is both name and value when it has no "=") besides the group's labels. With
 * `by`/`without`, each group is ranked on its own.
 */
function rankFn(stat: Statistic, top: boolean): WholeFn {
  return (ev, n) => {
    const ks = scalarSteps(ev, n.args[0]);
    const spec = n.args.length > 2 ? stringArg(n.args[2]) : null;
    const original = ev.q.current;
    const out: Matrix = [];
    for (const group of groups(n, ev.eval(n.args[1]))) {
      ev.q.tick(group.series.length);
      const scored = group.series.map((s) => ({ s, score: statistic(s, stat) }));
      // Ascending by rank: the series kept at a step are the last k. NaN ranks lowest either way.
      scored.sort((a, b) => {
        if (Number.isNaN(a.score) || Number.isNaN(b.score)) return Number.isNaN(a.score) ? -1 : 1;
        return top ? a.score - b.score : b.score - a.score;
      });
      const count = scored.length;
      scored.forEach(({ s }, rank) => {
        const kept = new Series(s.labels, s.dropName, s.n);
        for (let i = 0; i < s.n; i++) {
          if (rank >= count - boundedK(ks[ev.stepIndex(s.t[i])], count)) kept.push(s.t[i], s.v[i]);
        }
        if (kept.n > 0) out.push(kept);
      });
      if (spec !== null) {
        const ranked = scored.map((x) => x.s);
        const other = remainingSum(ev, ranked, ks, new LabelsBuilder(group.labels).set(...labelOf(spec)).labels());
        if (other.n > 0) out.push(other);
      }
    }
    return accounted(ev, original, out);
  };
}

// Counts the output points of a whole-range function against the query's sample limit, its input released.
function accounted(ev: Evaluator, original: number, out: Matrix): Matrix {
  const samples = totalSamples(out);
  ev.q.add(samples);
  ev.q.set(original + samples);
  return out;
}

// The label of a remaining-sum series: "name=value", or a text without "=" as both name and value.
function labelOf(spec: string): [string, string] {
  const eq = spec.indexOf("=");
  return eq < 0 ? [spec, spec] : [spec.slice(0, eq), spec.slice(eq + 1)];
}

// The per-step sum of the series ranked below k (ascending `ranked`), under `labels`.
function remainingSum(ev: Evaluator, ranked: readonly Series[], ks: Float64Array, labels: Labels): Series {
  const steps = ev.numSteps();
  const sums = new Float64Array(steps);
  const seen = new Uint8Array(steps);
  ranked.forEach((s, rank) => {
    for (let i = 0; i < s.n; i++) {
      const k = ev.stepIndex(s.t[i]);
      if (rank >= ranked.length - boundedK(ks[k], ranked.length)) continue;
      sums[k] += s.v[i];
      seen[k] = 1;
    }
  });
  const out = new Series(labels, false, steps);
  for (let k = 0; k < steps; k++) if (seen[k] === 1) out.push(ev.start + k * ev.interval, sums[k]);
  return out;
}

/** mode(q): at each step, the most frequent value among the series of each group (the smallest of equally
 *  frequent ones). */
const mode: WholeFn = (ev, n) => {
  const original = ev.q.current;
  const out: Matrix = [];
  for (const group of groups(n, ev.eval(n.args[0]))) {
    ev.q.tick(group.series.length);
    const byStep = new Map<number, number[]>();
    for (const s of group.series) {
      for (let i = 0; i < s.n; i++) {
        const vs = byStep.get(s.t[i]);
        if (vs === undefined) byStep.set(s.t[i], [s.v[i]]);
        else vs.push(s.v[i]);
      }
    }
    const res = new Series(group.labels, false, byStep.size);
    for (const t of [...byStep.keys()].sort((a, b) => a - b)) {
      const vs = (byStep.get(t) as number[]).filter((v) => !Number.isNaN(v));
      if (vs.length > 0) res.push(t, mostFrequent(vs));
    }
    if (res.n > 0) out.push(res);
  }
  return accounted(ev, original, out);
};

// The most frequent of `vs` (sorted in place), the smallest of equally frequent ones.
function mostFrequent(vs: number[]): number {
  vs.sort((a, b) => a - b);
  let best = vs[0];
  let bestRun = 0;
  for (let i = 0; i < vs.length; ) {
    let j = i;
    while (j < vs.length && vs[j] === vs[i]) j++;
    if (j - i > bestRun) {
      best = vs[i];
      bestRun = j - i;
    }
    i = j;
  }
  return best;
}

/** label_uppercase(q, label...) and label_lowercase: the series with those labels' values in upper (lower) case. */
function labelCase(upper: boolean): WholeFn {
  return (ev, n) => {
    const names = n.args.slice(1).map(stringArg);
    const m = ev.eval(n.args[0]);
    for (const s of m) {
      ev.q.tick();
      const b = new LabelsBuilder(s.labels);
      for (const l of names) {
        const v = s.labels.get(l);
        if (v !== "") b.set(l, upper ? v.toUpperCase() : v.toLowerCase());
      }
      s.labels = b.labels();
    }
    return mergeSameLabelset(m);
  };
}

/** union(q...): the series of every argument (a scalar is one series without labels); of series with equal
 *  labels, the first argument's wins. */
const union: WholeFn = (ev, n) => {
  const seen = new Set<string>();
  const out: Matrix = [];
  for (const a of n.args) {
    for (const s of ev.eval(a)) {
      ev.q.tick();
      // A series whose name is to be dropped is told apart by the labels it will end with.
      const h = (s.dropName ? s.labels.withoutMetricName() : s.labels).hash();
      if (seen.has(h)) continue;
      seen.add(h);
      out.push(s);
    }
  }
  return out;
};

/** Every MetricsQL function's implementation by name. */
export const METRICSQL_IMPLS: ReadonlyMap<string, WholeFn> = new Map<string, WholeFn>([
  ...RANK_STATISTICS.flatMap((s): [string, WholeFn][] => [
    [`topk_${s}`, rankFn(s, true)],
    [`bottomk_${s}`, rankFn(s, false)],
  ]),
  ["mode", mode],
  ["label_uppercase", labelCase(true)],
  ["label_lowercase", labelCase(false)],
  ["union", union],
]);
