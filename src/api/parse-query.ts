// The JSON tree `/api/v1/parse_query` returns (the shape the Prometheus web UI's tree view reads): one object per
// node with a `type` and the node's fields; durations and offsets in ms, numbers as Go's shortest decimal text.

import type { Matcher } from "../model/matcher.ts";
import type { DurationExpr, Expr, StartOrEnd } from "../promql/parser/index.ts";
import { formatFloatF } from "./json.ts";

/** A JSON value of the tree. */
export type AstJson = null | string | number | boolean | readonly AstJson[] | { readonly [key: string]: AstJson };

function matchersJson(ms: readonly Matcher[]): AstJson {
  return ms.map((m) => ({ name: m.name, value: m.value, type: m.type }));
}

function startOrEndJson(s: StartOrEnd): AstJson {
  return s;
}

// Duration positions hold a DurationExpr or a plain literal; anything else is translated as a normal node.
function durationJson(node: Expr | null): AstJson {
  if (node === null) return null;
  if (node.kind === "DurationExpr") return durationExprJson(node);
  if (node.kind === "NumberLiteral")
    return { type: "numberLiteral", val: formatFloatF(node.value), duration: node.duration };
  return astJson(node);
}

function durationExprJson(d: DurationExpr): AstJson {
  return { type: "durationExpr", op: d.op, lhs: durationJson(d.lhs), rhs: durationJson(d.rhs), wrapped: d.wrapped };
}

/** The parse_query tree of `expr`. */
export function astJson(expr: Expr): AstJson {
  switch (expr.kind) {
    case "AggregateExpr":
      return {
        type: "aggregation",
        op: expr.op,
        expr: astJson(expr.expr),
        param: expr.param === null ? null : astJson(expr.param),
        grouping: [...expr.grouping],
        without: expr.without,
      };
    case "BinaryExpr": {
      const m = expr.matching;
      return {
        type: "binaryExpr",
        op: expr.op,
        lhs: astJson(expr.lhs),
        rhs: astJson(expr.rhs),
        matching:
          m === null
            ? null
            : {
                card: m.card,
                labels: [...m.matchingLabels],
                on: m.on,
                include: [...m.include],
                fillValues: { lhs: m.fillValues.lhs, rhs: m.fillValues.rhs },
              },
        bool: expr.returnBool,
      };
    }
    case "Call":
      return {
        type: "call",
        func: {
          name: expr.func.name,
          argTypes: [...expr.func.argTypes],
          variadic: expr.func.variadic,
          returnType: expr.func.returnType,
        },
        args: expr.args.map(astJson),
        ...(expr.grouping ? { grouping: [...expr.grouping.labels], without: expr.grouping.without } : {}),
      };
    case "MatrixSelector": {
      const vs = expr.vectorSelector;
      return {
        type: "matrixSelector",
        name: vs.name,
        range: expr.range,
        rangeExpr: durationJson(expr.rangeExpr),
        offset: vs.originalOffset,
        offsetExpr: durationJson(vs.originalOffsetExpr),
        matchers: matchersJson(vs.matchers),
        timestamp: vs.timestamp,
        startOrEnd: startOrEndJson(vs.startOrEnd),
        anchored: vs.anchored,
        smoothed: vs.smoothed,
        ...(expr.implicitWindow === true ? { implicitWindow: true } : {}),
      };
    }
    case "SubqueryExpr":
      return {
        type: "subquery",
        expr: astJson(expr.expr),
        range: expr.range,
        rangeExpr: durationJson(expr.rangeExpr),
        offset: expr.originalOffset,
        offsetExpr: durationJson(expr.originalOffsetExpr),
        step: expr.step,
        stepExpr: durationJson(expr.stepExpr),
        ...(expr.implicitStep === true ? { implicitStep: true } : {}),
        timestamp: expr.timestamp,
        startOrEnd: startOrEndJson(expr.startOrEnd),
      };
    case "DurationExpr":
      return durationExprJson(expr);
    case "NumberLiteral":
      return { type: "numberLiteral", val: formatFloatF(expr.value) };
    case "ParenExpr":
      return { type: "parenExpr", expr: astJson(expr.expr) };
    case "StringLiteral":
      return { type: "stringLiteral", val: expr.value };
    case "UnaryExpr":
      return { type: "unaryExpr", op: expr.op, expr: astJson(expr.expr) };
    case "VectorSelector":
      return {
        type: "vectorSelector",
        name: expr.name,
        offset: expr.originalOffset,
        offsetExpr: durationJson(expr.originalOffsetExpr),
        matchers: matchersJson(expr.matchers),
        timestamp: expr.timestamp,
        startOrEnd: startOrEndJson(expr.startOrEnd),
        anchored: expr.anchored,
        smoothed: expr.smoothed,
      };
    case "StepInvariantExpr":
      return astJson(expr.expr);
  }
}
