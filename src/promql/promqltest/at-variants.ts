// The step-invariance re-runs of an instant eval: every selector and subquery without `@` gets `@ <evalTime>`, and
// the query must give the same result at other evaluation times. Selectors inside a subquery are left alone (the
// subquery itself is pinned). Queries calling a function whose result depends on the evaluation time are skipped.

import { AT_MODIFIER_UNSAFE } from "../engine/plan.ts";
import type { Expr, MatrixSelector, SubqueryExpr, VectorSelector } from "../parser/ast.ts";

/** The tree with `@ time` (ms) added to every vector selector, matrix selector and subquery that lacks one, not
 * descending into subqueries. `@ start()` / `@ end()` count as lacking a time and are replaced. */
export function pinAtTime(expr: Expr, time: number): Expr {
  switch (expr.kind) {
    case "VectorSelector":
      return pinSelector(expr, time);
    case "MatrixSelector": {
      const m: MatrixSelector = { ...expr, vectorSelector: pinSelector(expr.vectorSelector, time) };
      return m;
    }
    case "SubqueryExpr": {
      if (expr.timestamp !== null) return expr;
      const s: SubqueryExpr = { ...expr, timestamp: time, startOrEnd: null };
      return s;
    }
    case "AggregateExpr":
      return { ...expr, expr: pinAtTime(expr.expr, time), param: expr.param && pinAtTime(expr.param, time) };
    case "BinaryExpr":
      return { ...expr, lhs: pinAtTime(expr.lhs, time), rhs: pinAtTime(expr.rhs, time) };
    case "Call":
      return { ...expr, args: expr.args.map((a) => pinAtTime(a, time)) };
    case "ParenExpr":
    case "UnaryExpr":
    case "StepInvariantExpr":
      return { ...expr, expr: pinAtTime(expr.expr, time) };
    case "NumberLiteral":
    case "StringLiteral":
    case "DurationExpr":
      return expr;
  }
}

function pinSelector(vs: VectorSelector, time: number): VectorSelector {
  return vs.timestamp !== null ? vs : { ...vs, timestamp: time, startOrEnd: null };
}

/** True when the query calls an at-modifier-unsafe function outside of any subquery (calls inside a subquery are
 * not looked at, since the pinned subquery already fixes their evaluation times). */
export function usesAtUnsafeFunction(expr: Expr): boolean {
  switch (expr.kind) {
    case "Call":
      return AT_MODIFIER_UNSAFE.has(expr.func.name) || expr.args.some(usesAtUnsafeFunction);
    case "SubqueryExpr":
      return false;
    case "AggregateExpr":
      return usesAtUnsafeFunction(expr.expr) || (expr.param !== null && usesAtUnsafeFunction(expr.param));
    case "BinaryExpr":
      return usesAtUnsafeFunction(expr.lhs) || usesAtUnsafeFunction(expr.rhs);
    case "ParenExpr":
    case "UnaryExpr":
    case "StepInvariantExpr":
      return usesAtUnsafeFunction(expr.expr);
    case "MatrixSelector":
    case "VectorSelector":
    case "NumberLiteral":
    case "StringLiteral":
    case "DurationExpr":
      return false;
  }
}

/** The extra evaluation times (ms) of the step-invariance check for an eval at `time`. */
export function atVariantTimes(time: number): number[] {
  if (time === 0) return [-1000, 0, 1000];
  return [-10 * time, 0, Math.trunc(time / 5), time, 10 * time];
}

/** One re-run: the pinned query text and the time to evaluate it at (ms). */
export interface AtVariant {
  readonly query: string;
  readonly time: number;
}

/** The step-invariance re-runs of `expr` evaluated at `time`, printed with `print`; empty when the query uses an
 * at-modifier-unsafe function. */
export function atVariants(expr: Expr, time: number, print: (e: Expr) => string): AtVariant[] {
  if (usesAtUnsafeFunction(expr)) return [];
  const query = print(pinAtTime(expr, time));
  return atVariantTimes(time).map((t) => ({ query, time: t }));
}
