// The MetricsQL forms Contrail accepts besides PromQL, for dashboards written against VictoriaMetrics. They apply
// only where PromQL has no meaning: the parser tries PromQL first and reads a query as MetricsQL only when PromQL
// rejects it (parser.ts). Within a MetricsQL read, a call that is valid PromQL keeps its PromQL meaning; the rest
// is rewritten here into the tree the engine evaluates:
//
// - a range function given an instant vector selector, `rate(x)`, gets an implicit window (MatrixSelector with
//   `implicitWindow`), which the engine sizes as VictoriaMetrics does;
// - `histogram_quantiles("label", phi..., buckets)` (VictoriaMetrics' argument order) becomes PromQL's
//   `histogram_quantiles(buckets, "label", phi...)`, which has the same meaning;
// - an aggregation given several arguments, `max(0, x)`, aggregates their union;
// - `q[d]` on an expression other than a selector is a subquery at the query's step (parse-duration.ts), and an
//   aggregation of a range vector, `sum(rate(x)[5m])`, aggregates its last values (`default_rollup`);
// - the functions of METRICSQL_FUNCTIONS below, which PromQL does not have.

import type { Call, Expr, FunctionSignature, MatrixSelector, PosRange, ValueType } from "./ast.ts";
import { exprType } from "./ast.ts";
import { getFunction } from "./functions.ts";

/** How a MetricsQL function's arguments are checked: the types, given the argument count, or null if it is wrong. */
type ArgShape = (argc: number) => readonly ValueType[] | null;

/** One MetricsQL function: its name, what it does (for docs and tests) and its argument shape. */
export interface MetricsqlFunction {
  readonly name: string;
  /** The family it belongs to: "rank" (the topk_ and bottomk_ variants), "aggregate", "label", "union" or
   *  "rollup" (a function over a range). */
  readonly family: "rank" | "aggregate" | "label" | "union" | "rollup";
  readonly shape: ArgShape;
}

const repeat = (t: ValueType, n: number): ValueType[] => Array.from({ length: n }, () => t);

// k, the series, and optionally "label=value" naming the sum of the series left out.
const RANK_SHAPE: ArgShape = (argc) =>
  argc === 2 || argc === 3 ? ["scalar", "vector", ...repeat("string", argc - 2)] : null;
// The series, then one or more label names.
const LABEL_SHAPE: ArgShape = (argc) => (argc >= 2 ? ["vector", ...repeat("string", argc - 1)] : null);
const ONE_VECTOR: ArgShape = (argc) => (argc === 1 ? ["vector"] : null);

/** The statistic each topk_ and bottomk_ variant ranks series by, over the whole evaluated time range. */
export const RANK_STATISTICS = ["min", "max", "avg", "median", "last"] as const;

/** Every MetricsQL function by name: the one table the parser, the engine and their tests read. */
export const METRICSQL_FUNCTIONS: ReadonlyMap<string, MetricsqlFunction> = new Map(
  (
    [
      ...RANK_STATISTICS.flatMap((s): MetricsqlFunction[] => [
        { name: `topk_${s}`, family: "rank", shape: RANK_SHAPE },
        { name: `bottomk_${s}`, family: "rank", shape: RANK_SHAPE },
      ]),
      { name: "mode", family: "aggregate", shape: ONE_VECTOR },
      { name: "default_rollup", family: "rollup", shape: (argc: number) => (argc === 1 ? ["matrix"] : null) },
      { name: "label_uppercase", family: "label", shape: LABEL_SHAPE },
      { name: "label_lowercase", family: "label", shape: LABEL_SHAPE },
      // Scalars are allowed too: each becomes one series without labels.
      { name: "union", family: "union", shape: (argc: number) => (argc >= 1 ? repeat("vector", argc) : null) },
    ] as MetricsqlFunction[]
  ).map((f): [string, MetricsqlFunction] => [f.name, f]),
);

/** The MetricsQL functions that aggregate series and so take a `by`/`without` clause after their arguments. */
export const METRICSQL_AGGREGATIONS: ReadonlySet<string> = new Set(
  [...METRICSQL_FUNCTIONS.values()].filter((f) => f.family === "rank" || f.family === "aggregate").map((f) => f.name),
);

// The argument type a PromQL signature expects at position i, or null past its arity.
function expectedAt(f: FunctionSignature, i: number): ValueType | null {
  const n = f.argTypes.length;
  if (i < n) return f.argTypes[i];
  if (f.variadic === 0 || n === 0) return null;
  if (f.variadic > 0 && i >= n - 1 + f.variadic) return null;
  return f.argTypes[n - 1];
}

// Whether `args` fit signature `f` in count and type, taking an instant vector selector as a range argument.
function fits(f: FunctionSignature, args: readonly Expr[], selectorAsRange: boolean): boolean {
  const required = f.variadic === 0 ? f.argTypes.length : f.argTypes.length - 1;
  if (args.length < required) return false;
  return args.every((a, i) => {
    const want = expectedAt(f, i);
    if (want === null) return false;
    const got = exprType(a);
    return got === want || (selectorAsRange && want === "matrix" && a.kind === "VectorSelector");
  });
}

/** A range argument without a window: `x` in `rate(x)`. */
function implicitWindow(a: Expr): MatrixSelector {
  if (a.kind !== "VectorSelector") throw new Error("implicit window needs a vector selector");
  return { kind: "MatrixSelector", vectorSelector: a, range: 0, rangeExpr: null, implicitWindow: true, pos: a.pos };
}

function signature(name: string, argTypes: readonly ValueType[], returnType: ValueType): FunctionSignature {
  return { name, argTypes, variadic: 0, returnType, experimental: false };
}

/**
 * The MetricsQL reading of the call `name(args)` that PromQL rejected somewhere in the query, or null when it has
 * none (the caller then reports PromQL's error). `experimental` says whether PromQL's experimental functions are on.
 */
export function metricsqlCall(name: string, args: readonly Expr[], pos: PosRange, experimental: boolean): Call | null {
  const prom = getFunction(name);
  const promUsable = prom !== undefined && (!prom.experimental || experimental);
  if (promUsable && fits(prom, args, false)) return { kind: "Call", func: prom, args, pos };
  if (promUsable && fits(prom, args, true)) {
    const wrapped = args.map((a, i) =>
      expectedAt(prom, i) === "matrix" && a.kind === "VectorSelector" ? implicitWindow(a) : a,
    );
    return { kind: "Call", func: prom, args: wrapped, pos };
  }
  if (promUsable && name === "histogram_quantiles") {
    // VictoriaMetrics' order: the label, the quantiles, then the buckets.
    const reordered = [args[args.length - 1], ...args.slice(0, -1)];
    if (args.length >= 3 && fits(prom, reordered, false)) return { kind: "Call", func: prom, args: reordered, pos };
  }
  const m = METRICSQL_FUNCTIONS.get(name);
  if (m === undefined) return null;
  const types = m.shape(args.length);
  if (types === null) return null;
  if (m.family === "union") return unionCall(args, pos);
  const wrapped = args.map((a, i) => (types[i] === "matrix" && a.kind === "VectorSelector" ? implicitWindow(a) : a));
  return { kind: "Call", func: signature(name, types, "vector"), args: wrapped, pos };
}

/** `default_rollup(range)`: how MetricsQL reads a range vector where an instant vector is expected. */
export function lastValueCall(range: Expr): Call {
  return { kind: "Call", func: signature("default_rollup", ["matrix"], "vector"), args: [range], pos: range.pos };
}

/** `union(args)`: what an aggregation of several arguments (`max(0, x)`) aggregates in MetricsQL. */
export function unionCall(args: readonly Expr[], pos: PosRange): Call {
  const types = args.map((a): ValueType => (exprType(a) === "scalar" ? "scalar" : "vector"));
  return { kind: "Call", func: signature("union", types, "vector"), args, pos };
}
