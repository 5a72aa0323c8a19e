// The PromQL syntax tree: a discriminated union on `kind`. The parser builds it, the printer turns it back into
// Prometheus's canonical text, and the engine evaluates it. Nodes are plain readonly data; behaviour lives in free
// functions (`exprType`, `children`) and in the modules that switch on `kind`.
//
// Times and durations in the tree are milliseconds (`number`), as in Prometheus's `time.Duration` at ms precision.

import type { Matcher } from "../../model/matcher.ts";

/** Byte offsets into the query text of a node: `start` inclusive, `end` exclusive. */
export interface PosRange {
  readonly start: number;
  readonly end: number;
}

/** The type an expression evaluates to. "none" only for invalid trees. */
export type ValueType = "none" | "scalar" | "vector" | "matrix" | "string";

/** Aggregation operators. */
export type AggregateOp =
  | "sum"
  | "avg"
  | "count"
  | "min"
  | "max"
  | "group"
  | "stddev"
  | "stdvar"
  | "topk"
  | "bottomk"
  | "count_values"
  | "quantile"
  | "limitk"
  | "limit_ratio";

/** Arithmetic operators, valid between scalars and vectors. */
export type ArithmeticOp = "+" | "-" | "*" | "/" | "%" | "^" | "atan2";
/** Comparison operators; filter vectors unless `bool` is given. */
export type ComparisonOp = "==" | "!=" | ">" | "<" | ">=" | "<=";
/** Set operators; only between instant vectors, always many-to-many. */
export type SetOp = "and" | "or" | "unless";
/** Native-histogram bucket trimming (`h </ 0.5` keeps buckets below 0.5, `>/` above); same precedence as comparisons. */
export type TrimOp = "</" | ">/";
/** Every binary operator. */
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp | TrimOp;

/** How the two sides of a vector/vector operation match. */
export type MatchCardinality = "one-to-one" | "many-to-one" | "one-to-many" | "many-to-many";

/** Vector matching of a binary expression whose both sides are vectors (Prometheus's `VectorMatching`). */
export interface VectorMatching {
  readonly card: MatchCardinality;
  /** Labels named in `on(...)` or `ignoring(...)`. */
  readonly matchingLabels: readonly string[];
  /** True for `on(...)`, false for `ignoring(...)` or no modifier. */
  readonly on: boolean;
  /** Labels of `group_left(...)`/`group_right(...)`, copied from the "one" side. */
  readonly include: readonly string[];
  /** `fill`/`fill_left`/`fill_right` values used when a side has no match; null when not given. */
  readonly fillValues: { readonly lhs: number | null; readonly rhs: number | null };
}

/** `sum by (job) (x)`, `topk(3, x)`, ... `param` is set for topk, bottomk, quantile, count_values, limitk, limit_ratio. */
export interface AggregateExpr {
  readonly kind: "AggregateExpr";
  readonly op: AggregateOp;
  readonly expr: Expr;
  readonly param: Expr | null;
  /** Label names of `by(...)` / `without(...)`, in the order written. */
  readonly grouping: readonly string[];
  readonly without: boolean;
  readonly pos: PosRange;
}

/** `lhs op rhs`. `matching` is null unless both sides are instant vectors. */
export interface BinaryExpr {
  readonly kind: "BinaryExpr";
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  readonly matching: VectorMatching | null;
  /** `bool` modifier on a comparison. */
  readonly returnBool: boolean;
  readonly pos: PosRange;
}

/** A function call; `func` is the signature entry from the function table. */
export interface Call {
  readonly kind: "Call";
  readonly func: FunctionSignature;
  readonly args: readonly Expr[];
  /** The `by (...)` / `without (...)` clause of a MetricsQL aggregation (`topk_avg(3, x) by (a)`), if written. */
  readonly grouping?: { readonly labels: readonly string[]; readonly without: boolean };
  readonly pos: PosRange;
}

/** `selector[range]`. `range` is in ms when it is a literal; `rangeExpr` holds a duration expression instead. */
export interface MatrixSelector {
  readonly kind: "MatrixSelector";
  readonly vectorSelector: VectorSelector;
  readonly range: number;
  readonly rangeExpr: DurationExpr | null;
  /** MetricsQL's `rate(x)`: no window was written (`range` is 0); the engine sizes it per series and step. */
  readonly implicitWindow?: boolean;
  readonly pos: PosRange;
}

/** `@ start()` / `@ end()` as written; null when `@` has a literal time or is absent. */
export type StartOrEnd = "start" | "end" | null;

/** `expr[range:step]`; `step` 0 means the default resolution. */
export interface SubqueryExpr {
  readonly kind: "SubqueryExpr";
  readonly expr: Expr;
  readonly range: number;
  readonly rangeExpr: DurationExpr | null;
  /** `offset` as written, in ms (0 if none). */
  readonly originalOffset: number;
  readonly originalOffsetExpr: DurationExpr | null;
  /** `@` time in ms since the epoch, or null. */
  readonly timestamp: number | null;
  readonly startOrEnd: StartOrEnd;
  readonly step: number;
  readonly stepExpr: DurationExpr | null;
  /** MetricsQL's `q[d]` on a non-selector: no step written, the query's own step applies (not the default). */
  readonly implicitStep?: boolean;
  readonly pos: PosRange;
}

/** A float literal. `duration` is set when written as a duration (`5m`) so the printer keeps that form. */
export interface NumberLiteral {
  readonly kind: "NumberLiteral";
  readonly value: number;
  readonly duration: boolean;
  readonly pos: PosRange;
}

/** `( expr )`. */
export interface ParenExpr {
  readonly kind: "ParenExpr";
  readonly expr: Expr;
  readonly pos: PosRange;
}

/** A string literal with escapes resolved. */
export interface StringLiteral {
  readonly kind: "StringLiteral";
  readonly value: string;
  readonly pos: PosRange;
}

/** `-expr` or `+expr`. */
export interface UnaryExpr {
  readonly kind: "UnaryExpr";
  readonly op: "+" | "-";
  readonly expr: Expr;
  readonly pos: PosRange;
}

/** `name{matchers} offset d @ t anchored|smoothed`. `matchers` include the `__name__` matcher when a name was given. */
export interface VectorSelector {
  readonly kind: "VectorSelector";
  /** Metric name as written before the braces (or ""). */
  readonly name: string;
  readonly matchers: readonly Matcher[];
  /** `offset` as written, in ms (negative allowed; 0 if none). */
  readonly originalOffset: number;
  readonly originalOffsetExpr: DurationExpr | null;
  /** `@` time in ms since the epoch, or null. */
  readonly timestamp: number | null;
  readonly startOrEnd: StartOrEnd;
  /** Extended range selectors (experimental in Prometheus 3). */
  readonly anchored: boolean;
  readonly smoothed: boolean;
  /** Set for the second argument of `info()`, which may match only empty-matching labels. */
  readonly bypassEmptyMatcherCheck: boolean;
  readonly pos: PosRange;
}

/** Engine-only wrapper marking a subtree whose value does not depend on the evaluation step. Never parsed. */
export interface StepInvariantExpr {
  readonly kind: "StepInvariantExpr";
  readonly expr: Expr;
  readonly pos: PosRange;
}

/** Operators of duration expressions (experimental): arithmetic, `step()`, `range()`, `min_of`, `max_of`. */
export type DurationOp = "+" | "-" | "*" | "/" | "%" | "^" | "step" | "range" | "min_of" | "max_of";

/**
 * A duration arithmetic expression in a range, step or offset position (`foo[5m + step()]`). Operands are
 * NumberLiterals (seconds, or durations) or DurationExprs. Unary minus has `lhs` null; `step()`/`range()` have
 * both null. `wrapped` records parentheses written around it so the printer keeps them.
 */
export interface DurationExpr {
  readonly kind: "DurationExpr";
  readonly op: DurationOp;
  readonly lhs: Expr | null;
  readonly rhs: Expr | null;
  readonly wrapped: boolean;
  readonly pos: PosRange;
}

/** Every expression node. */
export type Expr =
  | AggregateExpr
  | BinaryExpr
  | Call
  | MatrixSelector
  | SubqueryExpr
  | NumberLiteral
  | ParenExpr
  | StringLiteral
  | UnaryExpr
  | VectorSelector
  | StepInvariantExpr
  | DurationExpr;

/** A function of the signature table (`functions.ts`). */
export interface FunctionSignature {
  readonly name: string;
  /** Argument types in order; with `variadic`, the last one may repeat or be omitted per `variadic`. */
  readonly argTypes: readonly ValueType[];
  /** 0: fixed arity; n > 0: up to n further optional args of the last type; -1: unbounded repetition. */
  readonly variadic: number;
  readonly returnType: ValueType;
  /** Experimental functions are accepted only when the parser enables them. */
  readonly experimental: boolean;
}

/** The value type `expr` evaluates to. */
export function exprType(expr: Expr): ValueType {
  switch (expr.kind) {
    case "AggregateExpr":
    case "VectorSelector":
      return "vector";
    case "MatrixSelector":
    case "SubqueryExpr":
      return "matrix";
    case "NumberLiteral":
    case "DurationExpr":
      return "scalar";
    case "StringLiteral":
      return "string";
    case "Call":
      return expr.func.returnType;
    case "ParenExpr":
    case "UnaryExpr":
    case "StepInvariantExpr":
      return exprType(expr.expr);
    case "BinaryExpr":
      return exprType(expr.lhs) === "scalar" && exprType(expr.rhs) === "scalar" ? "scalar" : "vector";
  }
}

/** The direct children of a node, in source order (nulls omitted). */
export function children(expr: Expr): Expr[] {
  switch (expr.kind) {
    case "AggregateExpr":
      return expr.param ? [expr.param, expr.expr] : [expr.expr];
    case "BinaryExpr":
      return [expr.lhs, expr.rhs];
    case "Call":
      return [...expr.args];
    case "MatrixSelector":
      return [expr.vectorSelector];
    case "SubqueryExpr":
    case "ParenExpr":
    case "UnaryExpr":
    case "StepInvariantExpr":
      return [expr.expr];
    case "DurationExpr": {
      const out: Expr[] = [];
      if (expr.lhs) out.push(expr.lhs);
      if (expr.rhs) out.push(expr.rhs);
      return out;
    }
    case "NumberLiteral":
    case "StringLiteral":
    case "VectorSelector":
      return [];
  }
}

/** Calls `visit` on every node of the tree depth-first, parents before children, with the path of ancestors. */
export function walk(expr: Expr, visit: (node: Expr, path: readonly Expr[]) => void, path: Expr[] = []): void {
  visit(expr, path);
  path.push(expr);
  for (const child of children(expr)) walk(child, visit, path);
  path.pop();
}
