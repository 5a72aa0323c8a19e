// Evaluation of duration expressions (`foo[5m + step()]`, `offset -(1m * 2)`) into milliseconds, done once per
// query before evaluation, with the query's step and range known.

import { ContrailError } from "../../model/errors.ts";
import type { Expr } from "../parser/ast.ts";

/** What `step()` and `range()` stand for in one query, ms. */
export interface DurationContext {
  readonly step: number;
  readonly range: number;
}

function fail(expr: Expr, what: string): never {
  throw new ContrailError("bad_data", `${expr.pos.start}:${expr.pos.end}: ${what}`);
}

// Value of a duration expression in seconds.
function seconds(expr: Expr, ctx: DurationContext): number {
  switch (expr.kind) {
    case "NumberLiteral":
      return expr.value;
    case "ParenExpr":
      return seconds(expr.expr, ctx);
    case "DurationExpr": {
      const lhs = expr.lhs === null ? 0 : seconds(expr.lhs, ctx);
      const rhs = expr.rhs === null ? 0 : seconds(expr.rhs, ctx);
      switch (expr.op) {
        case "step":
          return ctx.step / 1000;
        case "range":
          return ctx.range / 1000;
        case "min_of":
          return Math.min(lhs, rhs);
        case "max_of":
          return Math.max(lhs, rhs);
        case "+":
          return expr.lhs === null ? rhs : lhs + rhs;
        case "-":
          return expr.lhs === null ? -rhs : lhs - rhs;
        case "*":
          return lhs * rhs;
        case "/":
          if (rhs === 0) fail(expr, "division by zero");
          return lhs / rhs;
        case "%":
          if (rhs === 0) fail(expr, "modulo by zero");
          return lhs % rhs;
        case "^":
          return lhs ** rhs;
      }
      break;
    }
    default:
      break;
  }
  throw new ContrailError("bad_data", `unexpected duration expression type ${expr.kind}`);
}

/**
 * The duration `expr` stands for, in whole ms (truncated as Prometheus does). Throws `bad_data` with Prometheus's
 * text (`start:end: duration must be greater than 0`, ...) for NaN, infinite, non-positive (unless
 * `allowNegative`) or out-of-range durations.
 */
export function evalDuration(expr: Expr, ctx: DurationContext, allowNegative: boolean): number {
  const d = seconds(expr, ctx);
  if (Number.isNaN(d) || !Number.isFinite(d)) fail(expr, "duration is NaN or infinite");
  if (d <= 0 && !allowNegative) fail(expr, "duration must be greater than 0");
  const limit = 2 ** 63 / 1e9;
  if (d > limit || d < -limit) fail(expr, "duration is out of range");
  return Math.trunc(d * 1000);
}
