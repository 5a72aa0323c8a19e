// The evaluation plan: the parser's tree turned into engine nodes for one query. Preparing it does what
// Prometheus's PreprocessExpr and exec prologue do: fold start()/end()/range()/step(), evaluate duration
// expressions, resolve `@ start()`/`@ end()`, drop parentheses, wrap the largest step-invariant subtrees,
// compute each selector's storage hints and the offsets that `@` implies. Plan nodes are private to one query and
// may be mutated by it (offsets, cached series).

import { ContrailError } from "../../model/errors.ts";
import type { Matcher } from "../../model/matcher.ts";
import type { SelectHints, Series as StorageSeries } from "../../storage/interface.ts";
import type {
  AggregateOp,
  BinaryOp,
  Expr,
  FunctionSignature,
  PosRange,
  ValueType,
  VectorMatching,
  VectorSelector,
} from "../parser/ast.ts";
import { evalTimeProblem, MAX_EVAL_TIME_MS } from "./bounds.ts";
import { evalDuration } from "./durations.ts";
import { INSTANT_QUERY_STEP_MS, implicitLoadSpan, MAX_SILENCE_MS } from "./implicit-window.ts";

/** An instant vector selector. `offset` is the effective offset (ms) after `@` adjustment. */
export interface SelectorNode {
  readonly kind: "selector";
  readonly name: string;
  readonly matchers: readonly Matcher[];
  readonly originalOffset: number;
  offset: number;
  timestamp: number | null;
  readonly anchored: boolean;
  readonly smoothed: boolean;
  readonly pos: PosRange;
  readonly src: VectorSelector;
  /** Storage hints, set when the plan is prepared. */
  hints: SelectHints | null;
  /** Series selected from storage, filled on first evaluation. */
  series: StorageSeries[] | null;
  /**
   * True when only the counts and sums of its histograms are read (under histogram_count, _sum or _avg, with no
   * subquery, bucket function or trim operator in between): histograms are then read without buckets, with counter
   * resets detected as they are read, as Prometheus's histogram stats iterator does. Set when the plan is prepared.
   */
  statsOnly: boolean;
}

/** `selector[range]`. */
export interface MatrixNode {
  readonly kind: "matrix";
  readonly selector: SelectorNode;
  readonly range: number;
  /** MetricsQL's `rate(x)`: no window written (`range` 0); it is sized per series (implicit-window.ts). */
  readonly implicit: boolean;
  readonly pos: PosRange;
}

/** `expr[range:step] offset o @ t`. */
export interface SubqueryNode {
  readonly kind: "subquery";
  readonly expr: PlanNode;
  readonly range: number;
  readonly step: number;
  /** MetricsQL's `q[d]`: `step` is 0 and the evaluating step applies, not the default subquery step. */
  readonly implicitStep?: boolean;
  /** How much further back than `range` the subquery is evaluated (ms; MetricsQL's `q[d]`, subquery.ts). */
  readonly reach?: number;
  readonly originalOffset: number;
  offset: number;
  timestamp: number | null;
  readonly pos: PosRange;
}

/** A function call; `args` already unwrapped from parentheses. */
export interface CallNode {
  readonly kind: "call";
  readonly func: FunctionSignature;
  readonly args: PlanNode[];
  /** A MetricsQL aggregation's `by`/`without` clause. */
  readonly grouping?: { readonly labels: readonly string[]; readonly without: boolean };
  readonly pos: PosRange;
}

/** An aggregation; `grouping` is sorted. */
export interface AggregateNode {
  readonly kind: "aggregate";
  readonly op: AggregateOp;
  readonly expr: PlanNode;
  readonly param: PlanNode | null;
  readonly grouping: readonly string[];
  readonly without: boolean;
  readonly pos: PosRange;
}

/** A binary operation with the value types of both sides. */
export interface BinaryNode {
  readonly kind: "binary";
  readonly op: BinaryOp;
  readonly lhs: PlanNode;
  readonly rhs: PlanNode;
  readonly lhsType: ValueType;
  readonly rhsType: ValueType;
  readonly matching: VectorMatching | null;
  readonly returnBool: boolean;
  readonly pos: PosRange;
}

/** `-expr` / `+expr`. */
export interface UnaryNode {
  readonly kind: "unary";
  readonly op: "+" | "-";
  readonly expr: PlanNode;
  readonly pos: PosRange;
}

/** A float literal (also the folded value of start(), end(), range(), step()). */
export interface NumberNode {
  readonly kind: "number";
  readonly value: number;
  readonly pos: PosRange;
}

/** A string literal. */
export interface StringNode {
  readonly kind: "string";
  readonly value: string;
  readonly pos: PosRange;
}

/** A subtree evaluated once and repeated at every step. */
export interface StepInvariantNode {
  readonly kind: "stepInvariant";
  readonly expr: PlanNode;
  readonly pos: PosRange;
}

/** Every plan node. */
export type PlanNode =
  | SelectorNode
  | MatrixNode
  | SubqueryNode
  | CallNode
  | AggregateNode
  | BinaryNode
  | UnaryNode
  | NumberNode
  | StringNode
  | StepInvariantNode;

/** The value type of a plan node. */
export function planType(n: PlanNode): ValueType {
  switch (n.kind) {
    case "selector":
    case "aggregate":
      return "vector";
    case "matrix":
    case "subquery":
      return "matrix";
    case "number":
      return "scalar";
    case "string":
      return "string";
    case "call":
      return n.func.returnType;
    case "unary":
    case "stepInvariant":
      return planType(n.expr);
    case "binary":
      return n.lhsType === "scalar" && n.rhsType === "scalar" ? "scalar" : "vector";
  }
}

/** Direct children of a plan node. */
export function planChildren(n: PlanNode): PlanNode[] {
  switch (n.kind) {
    case "matrix":
      return [n.selector];
    case "subquery":
    case "unary":
    case "stepInvariant":
      return [n.expr];
    case "call":
      return n.args;
    case "aggregate":
      return n.param ? [n.param, n.expr] : [n.expr];
    case "binary":
      return [n.lhs, n.rhs];
    case "selector":
    case "number":
    case "string":
      return [];
  }
}

/** Visits every node depth-first with its ancestors. */
export function walkPlan(n: PlanNode, visit: (n: PlanNode, path: readonly PlanNode[]) => void, path: PlanNode[] = []) {
  visit(n, path);
  path.push(n);
  for (const c of planChildren(n)) walkPlan(c, visit, path);
  path.pop();
}

/**
 * Functions whose value changes with the evaluation time even when their arguments do not: never step-invariant here,
 * and skipped by the conformance runner's `@` re-runs (promqltest/at-variants.ts).
 */
export const AT_MODIFIER_UNSAFE: ReadonlySet<string> = new Set([
  "days_in_month",
  "day_of_month",
  "day_of_week",
  "day_of_year",
  "end",
  "hour",
  "minute",
  "month",
  "year",
  "predict_linear",
  "range",
  "start",
  "step",
  "time",
  "timestamp",
]);

/** Query-wide facts preparation needs: times in ms. */
export interface PlanContext {
  readonly start: number;
  readonly end: number;
  readonly step: number;
  readonly lookback: number;
}

function unwrap(e: Expr): Expr {
  while (e.kind === "ParenExpr") e = e.expr;
  return e;
}

// Builds plan nodes: folds query-context calls, evaluates duration expressions, resolves @ start()/end().
function build(e: Expr, ctx: PlanContext): PlanNode {
  const dctx = { step: ctx.step, range: ctx.end - ctx.start };
  switch (e.kind) {
    case "ParenExpr":
      return build(e.expr, ctx);
    case "NumberLiteral":
      return { kind: "number", value: e.value, pos: e.pos };
    case "StringLiteral":
      return { kind: "string", value: e.value, pos: e.pos };
    case "DurationExpr":
      return { kind: "number", value: evalDuration(e, dctx, true) / 1000, pos: e.pos };
    case "StepInvariantExpr":
      return build(e.expr, ctx);
    case "UnaryExpr":
      return { kind: "unary", op: e.op, expr: build(e.expr, ctx), pos: e.pos };
    case "VectorSelector":
      return buildSelector(e, ctx);
    case "MatrixSelector": {
      const range = e.rangeExpr ? evalDuration(e.rangeExpr, dctx, false) : e.range;
      const implicit = e.implicitWindow === true;
      return { kind: "matrix", selector: buildSelector(e.vectorSelector, ctx), range, implicit, pos: e.pos };
    }
    case "SubqueryExpr": {
      const originalOffset = e.originalOffsetExpr ? evalDuration(e.originalOffsetExpr, dctx, true) : e.originalOffset;
      return {
        kind: "subquery",
        expr: build(e.expr, ctx),
        range: e.rangeExpr ? evalDuration(e.rangeExpr, dctx, false) : e.range,
        step: e.stepExpr ? evalDuration(e.stepExpr, dctx, false) : e.step,
        implicitStep: e.implicitStep === true,
        reach: e.implicitStep === true ? MAX_SILENCE_MS + Math.max(ctx.step, INSTANT_QUERY_STEP_MS) : 0,
        originalOffset,
        offset: originalOffset,
        timestamp: atTime(e.timestamp, e.startOrEnd, ctx, e.pos),
        pos: e.pos,
      };
    }
    case "Call": {
      switch (e.func.name) {
        case "start":
          return { kind: "number", value: ctx.start / 1000, pos: e.pos };
        case "end":
          return { kind: "number", value: ctx.end / 1000, pos: e.pos };
        case "range":
          return { kind: "number", value: (ctx.end - ctx.start) / 1000, pos: e.pos };
        case "step":
          return { kind: "number", value: ctx.start === ctx.end ? 0 : ctx.step / 1000, pos: e.pos };
      }
      const args = e.args.map((a) => build(unwrap(a), ctx));
      return e.grouping
        ? { kind: "call", func: e.func, args, grouping: e.grouping, pos: e.pos }
        : { kind: "call", func: e.func, args, pos: e.pos };
    }
    case "AggregateExpr":
      return {
        kind: "aggregate",
        op: e.op,
        expr: build(unwrap(e.expr), ctx),
        param: e.param ? build(unwrap(e.param), ctx) : null,
        grouping: [...e.grouping].sort(),
        without: e.without,
        pos: e.pos,
      };
    case "BinaryExpr": {
      const lhs = build(e.lhs, ctx);
      const rhs = build(e.rhs, ctx);
      return {
        kind: "binary",
        op: e.op,
        lhs,
        rhs,
        lhsType: planType(lhs),
        rhsType: planType(rhs),
        matching: e.matching,
        returnBool: e.returnBool,
        pos: e.pos,
      };
    }
  }
}

// The `@` time of a selector or subquery at `pos`, ms. Throws bad_data, with the parser's text for such times,
// for a time the engine cannot evaluate at: the parser takes any that fits int64 nanoseconds.
function atTime(ts: number | null, startOrEnd: "start" | "end" | null, ctx: PlanContext, pos: PosRange): number | null {
  if (startOrEnd === "start") return ctx.start;
  if (startOrEnd === "end") return ctx.end;
  if (ts !== null && evalTimeProblem(ts) !== null) {
    throw new ContrailError(
      "bad_data",
      `${pos.start}:${pos.end}: timestamp out of bounds for @ modifier: ${(ts / 1000).toFixed(6)} (the limit is ±${MAX_EVAL_TIME_MS / 1000})`,
    );
  }
  return ts;
}

function buildSelector(e: VectorSelector, ctx: PlanContext): SelectorNode {
  const originalOffset = e.originalOffsetExpr
    ? evalDuration(e.originalOffsetExpr, { step: ctx.step, range: ctx.end - ctx.start }, true)
    : e.originalOffset;
  return {
    kind: "selector",
    name: e.name,
    matchers: e.matchers,
    originalOffset,
    offset: originalOffset,
    timestamp: atTime(e.timestamp, e.startOrEnd, ctx, e.pos),
    anchored: e.anchored,
    smoothed: e.smoothed,
    pos: e.pos,
    src: e,
    hints: null,
    series: null,
    statsOnly: false,
  };
}

function wrap(n: PlanNode): PlanNode {
  return { kind: "stepInvariant", expr: n, pos: n.pos };
}

// Wraps the highest step-invariant subtrees below `n`; returns [isStepInvariant, shouldWrap] of `n` itself. Nodes
// are copied with Object.assign, not an object spread: in V8 11 a spread's copy survives scavenges, and what it points
// to with it.
function markInvariant(n: PlanNode): [PlanNode, boolean, boolean] {
  switch (n.kind) {
    case "selector":
      return [n, n.timestamp !== null, n.timestamp !== null];
    case "aggregate": {
      const [expr, inv] = markInvariant(n.expr);
      const param = n.param ? markInvariant(n.param)[0] : null;
      return [Object.assign({}, n, { expr, param }), inv, inv];
    }
    case "binary": {
      let [lhs, invL, wrapL] = markInvariant(n.lhs);
      let [rhs, invR, wrapR] = markInvariant(n.rhs);
      if (invL && invR) return [Object.assign({}, n, { lhs, rhs }), true, true];
      if (wrapL) lhs = wrap(lhs);
      if (wrapR) rhs = wrap(rhs);
      return [Object.assign({}, n, { lhs, rhs }), false, false];
    }
    case "call": {
      let inv = !AT_MODIFIER_UNSAFE.has(n.func.name);
      // timestamp() of a step-invariant vector selector is itself step invariant.
      let timestampSafe = n.func.name === "timestamp";
      const args: PlanNode[] = [];
      const wraps: boolean[] = [];
      for (const a of n.args) {
        const [arg, argInv, argWrap] = markInvariant(a);
        args.push(arg);
        wraps.push(argWrap);
        inv = inv && argInv;
        if (!argInv || arg.kind !== "selector") timestampSafe = false;
      }
      if (inv || timestampSafe) return [Object.assign({}, n, { args }), true, true];
      return [Object.assign({}, n, { args: args.map((a, i) => (wraps[i] ? wrap(a) : a)) }), false, false];
    }
    case "matrix": {
      const inv = n.selector.timestamp !== null;
      return [n, inv, false];
    }
    case "subquery": {
      const [expr, inv] = markInvariant(n.expr);
      return [Object.assign({}, n, { expr: inv ? wrap(expr) : expr }), n.timestamp !== null, false];
    }
    case "unary": {
      const [expr, inv, w] = markInvariant(n.expr);
      return [Object.assign({}, n, { expr }), inv, w];
    }
    case "number":
    case "string":
      return [n, true, false];
    case "stepInvariant":
      return [n, true, false];
  }
}

// The offsets and ranges of the subqueries in `path`, reset at a subquery with `@`.
function subqueryTimes(path: readonly PlanNode[]): { offset: number; range: number; ts: number | null } {
  let offset = 0;
  let range = 0;
  let ts: number | null = null;
  for (const n of path) {
    if (n.kind !== "subquery") continue;
    offset += n.originalOffset;
    range += n.range + (n.reach ?? 0);
    if (n.timestamp !== null) {
      offset = n.originalOffset;
      range = n.range + (n.reach ?? 0);
      ts = n.timestamp;
    }
  }
  return { offset, range, ts };
}

/** Sets the effective offset of every selector and subquery under `root` for evaluation starting at `evalTime`. */
export function setOffsetsForAt(evalTime: number, root: PlanNode): void {
  const offsetFor = (ts: number | null, original: number, path: readonly PlanNode[]) => {
    if (ts === null) return original;
    const sq = subqueryTimes(path);
    let subqOffset = sq.offset;
    if (sq.ts !== null) subqOffset += evalTime - sq.ts;
    return original + (evalTime - ts) - subqOffset;
  };
  walkPlan(root, (n, path) => {
    if (n.kind === "selector") n.offset = offsetFor(n.timestamp, n.originalOffset, path);
    else if (n.kind === "subquery") n.offset = offsetFor(n.timestamp, n.originalOffset, path);
  });
}

function funcFromPath(path: readonly PlanNode[]): string {
  for (let i = path.length - 1; i >= 0; i--) {
    const n = path[i];
    if (n.kind === "aggregate") return n.op;
    if (n.kind === "call") return n.func.name;
    if (n.kind === "binary") return "";
  }
  return "";
}

/** A prepared query: the plan and the time range its selectors need from storage. */
export interface PreparedQuery {
  readonly root: PlanNode;
  readonly mint: number;
  readonly maxt: number;
}

/**
 * Prepares `expr` for evaluation over [start, end] with `step` (0 for instant queries). Throws `bad_data` for
 * invalid duration expressions.
 */
export function prepare(expr: Expr, ctx: PlanContext): PreparedQuery {
  const built = build(expr, ctx);
  const [marked, , shouldWrap] = markInvariant(built);
  const root = shouldWrap ? wrap(marked) : marked;
  let mint = Number.POSITIVE_INFINITY;
  let maxt = Number.NEGATIVE_INFINITY;
  let evalRange = 0;
  let lastSubqStep = 0;
  walkPlan(root, (n, path) => {
    if (n.kind === "matrix") {
      evalRange = n.implicit ? implicitLoadSpan(Math.max(ctx.step, INSTANT_QUERY_STEP_MS)) : n.range;
      return;
    }
    if (n.kind !== "selector") return;
    const parent = path[path.length - 1];
    // The label selector of info() is matched against info series, never selected as data.
    if (parent?.kind === "call" && parent.func.name === "info" && parent.args[1] === n) return;
    const [start, end] = selectorTimeRange(n, path, evalRange, ctx);
    mint = Math.min(mint, start);
    maxt = Math.max(maxt, end);
    lastSubqStep = 0;
    for (const p of path) if (p.kind === "subquery") lastSubqStep = p.step;
    const aggregate = path[path.length - 1];
    n.hints = {
      start,
      end,
      step: lastSubqStep || ctx.step,
      range: evalRange,
      func: funcFromPath(path),
      grouping: aggregate?.kind === "aggregate" ? aggregate.grouping : undefined,
      by: aggregate?.kind === "aggregate" ? !aggregate.without : undefined,
    };
    evalRange = 0;
    n.statsOnly = readsHistogramStatsOnly(path);
  });
  if (maxt === Number.NEGATIVE_INFINITY) {
    mint = 0;
    maxt = 0;
  }
  setOffsetsForAt(ctx.start, root);
  return { root, mint, maxt };
}

const STATS_FUNCTIONS = new Set(["histogram_count", "histogram_sum", "histogram_avg"]);
const BUCKET_FUNCTIONS = new Set(["histogram_quantile", "histogram_quantiles", "histogram_fraction"]);

// Whether a selector under `path` (root first) needs only the counts and sums of its histograms (Prometheus's
// detectHistogramStatsDecoding).
function readsHistogramStatsOnly(path: readonly PlanNode[]): boolean {
  let stats = false;
  for (let i = path.length - 1; i >= 0; i--) {
    const p = path[i];
    if (p.kind === "subquery") return false;
    if (p.kind === "binary" && (p.op === "</" || p.op === ">/")) return false;
    if (p.kind !== "call") continue;
    if (BUCKET_FUNCTIONS.has(p.func.name)) return false;
    if (STATS_FUNCTIONS.has(p.func.name)) stats = true;
  }
  return stats;
}

// Storage time range [start, end] (ms, inclusive) a selector may read, as Prometheus's getTimeRangesForSelector.
function selectorTimeRange(
  n: SelectorNode,
  path: readonly PlanNode[],
  evalRange: number,
  ctx: PlanContext,
): [number, number] {
  let start = ctx.start;
  let end = ctx.end;
  const sq = subqueryTimes(path);
  if (sq.ts !== null) {
    start = sq.ts;
    end = sq.ts;
  }
  if (n.timestamp !== null) {
    start = n.timestamp;
    end = n.timestamp;
  } else {
    start = start - sq.offset - sq.range;
    end -= sq.offset;
  }
  if (evalRange === 0) {
    start -= ctx.lookback - 1;
    if (n.smoothed) end += ctx.lookback;
  } else if (n.anchored) {
    start -= ctx.lookback + evalRange - 1;
  } else if (n.smoothed) {
    start -= ctx.lookback + evalRange - 1;
    end += ctx.lookback;
  } else {
    start -= evalRange - 1;
  }
  return [start - n.originalOffset, end - n.originalOffset];
}

/** Throws the engine's error for an expression of the wrong type for a range query. */
export function checkRangeQueryType(t: ValueType): void {
  if (t !== "vector" && t !== "scalar") {
    const doc = t === "matrix" ? "range vector" : t;
    throw new ContrailError(
      "bad_data",
      `invalid expression type "${doc}" for range query, must be Scalar or instant Vector`,
    );
  }
}
