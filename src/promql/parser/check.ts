// The semantic checks Prometheus runs on a parsed tree (its checkAST): operand and argument types, arities,
// vector matching rules, selector sanity. Same order, wording and positions. It also settles what only types can
// tell: `matching` becomes null unless both sides are instant vectors, set operations become many-to-many, and
// the label selector argument of info() is exempt from the empty-matcher rule.

import { METRIC_NAME } from "../../model/labels.ts";
import type { BinaryExpr, Call, Expr, PosRange, SetOp, ValueType, VectorSelector } from "./ast.ts";
import { exprType } from "./ast.ts";
import { quoteString } from "./literals.ts";
import type { Mutable, Parser } from "./parser.ts";

/** Prometheus's user-facing name of a value type. */
export function documentedType(t: ValueType): string {
  switch (t) {
    case "vector":
      return "instant vector";
    case "matrix":
      return "range vector";
    case "scalar":
    case "string":
    case "none":
      return t;
  }
}

const COMPARISONS = new Set(["==", "!=", ">", "<", ">=", "<="]);
const SET_OPS = new Set(["and", "or", "unless"]);

function isSpaceByte(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Checks `expr` and everything below it, recording errors on `p`; returns the type of `expr`. */
export function checkAST(p: Parser, expr: Expr): ValueType {
  p.steps++;
  switch (expr.kind) {
    case "AggregateExpr":
      expectType(p, expr.expr, "vector", "aggregation expression");
      if (expr.param !== null) {
        expectType(p, expr.param, expr.op === "count_values" ? "string" : "scalar", "aggregation parameter");
      }
      break;
    case "BinaryExpr":
      checkBinary(p, expr);
      break;
    case "Call":
      checkCall(p, expr);
      break;
    case "ParenExpr":
      checkAST(p, expr.expr);
      break;
    case "UnaryExpr": {
      const t = checkAST(p, expr.expr);
      if (t !== "scalar" && t !== "vector") {
        p.error(
          expr.pos,
          `unary expression only allowed on expressions of type scalar or instant vector, got ${quoteString(documentedType(t))}`,
        );
      }
      break;
    }
    case "SubqueryExpr": {
      const t = checkAST(p, expr.expr);
      if (t !== "vector") p.error(expr.pos, `subquery is only allowed on instant vector, got ${t} instead`);
      break;
    }
    case "MatrixSelector":
      checkAST(p, expr.vectorSelector);
      break;
    case "VectorSelector":
      checkSelector(p, expr);
      break;
    case "StepInvariantExpr":
      checkAST(p, expr.expr);
      break;
    case "NumberLiteral":
    case "StringLiteral":
    case "DurationExpr":
      break;
  }
  return exprType(expr);
}

function expectType(p: Parser, e: Expr, want: ValueType, context: string): void {
  const t = checkAST(p, e);
  if (t !== want) {
    p.error(e.pos, `expected type ${documentedType(want)} in ${context}, got ${documentedType(t)}`);
  }
}

// The operator's own range, spaces trimmed, as Prometheus computes it for operator errors.
function operatorRange(p: Parser, b: BinaryExpr): PosRange {
  let start = b.lhs.pos.end;
  while (start < p.src.length && isSpaceByte(p.src[start])) start++;
  let end = b.rhs.pos.start - 1;
  while (end > 0 && isSpaceByte(p.src[end])) end--;
  return { start, end };
}

function checkBinary(p: Parser, b: BinaryExpr): void {
  const lt = checkAST(p, b.lhs);
  const rt = checkAST(p, b.rhs);
  const node = b as Mutable<BinaryExpr>;
  const isComparison = COMPARISONS.has(b.op);
  const isSet = SET_OPS.has(b.op);
  if (b.returnBool && !isComparison)
    p.error(operatorRange(p, b), "bool modifier can only be used on comparison operators");
  if (isComparison && !b.returnBool && lt === "scalar" && rt === "scalar") {
    p.error(operatorRange(p, b), "comparisons between scalars must use BOOL modifier");
  }
  let m = b.matching;
  if (m !== null && isSet && m.card === "one-to-one") {
    m = { ...m, card: "many-to-many" };
    node.matching = m;
  }
  if (m?.on) {
    for (const l1 of m.matchingLabels) {
      for (const l2 of m.include) {
        if (l1 === l2)
          p.error(operatorRange(p, b), `label ${quoteString(l1)} must not occur in ON and GROUP clause at once`);
      }
    }
  }
  if (lt !== "scalar" && lt !== "vector") {
    p.error(b.lhs.pos, "binary expression must contain only scalar and instant vector types");
  }
  if (rt !== "scalar" && rt !== "vector") {
    p.error(b.rhs.pos, "binary expression must contain only scalar and instant vector types");
  }
  const hasFill = m !== null && (m.fillValues.lhs !== null || m.fillValues.rhs !== null);
  if ((lt !== "vector" || rt !== "vector") && m !== null) {
    if (m.matchingLabels.length > 0) p.error(b.pos, "vector matching only allowed between instant vectors");
    if (hasFill) p.error(b.pos, "filling in missing series only allowed between instant vectors");
    node.matching = null;
  } else if (isSet && m !== null) {
    if (m.card === "one-to-many" || m.card === "many-to-one") {
      p.error(b.pos, `no grouping allowed for ${quoteString(b.op)} operation`);
    }
    if (m.card !== "many-to-many") p.error(b.pos, "set operations must always be many-to-many");
    if (hasFill) p.error(b.pos, "filling in missing series not allowed for set operators");
  }
  if ((lt === "scalar" || rt === "scalar") && isSet) {
    p.error(b.pos, `set operator ${quoteString(b.op as SetOp)} not allowed in binary scalar expression`);
  }
}

function checkCall(p: Parser, call: Call): void {
  const f = call.func;
  const nargs = f.argTypes.length;
  const name = quoteString(f.name);
  if (f.variadic === 0) {
    if (nargs !== call.args.length) {
      p.error(call.pos, `expected ${nargs} argument(s) in call to ${name}, got ${call.args.length}`);
    }
  } else {
    const na = nargs - 1;
    if (na > call.args.length) {
      p.error(call.pos, `expected at least ${na} argument(s) in call to ${name}, got ${call.args.length}`);
    } else if (f.variadic > 0 && na + f.variadic < call.args.length) {
      p.error(call.pos, `expected at most ${na + f.variadic} argument(s) in call to ${name}, got ${call.args.length}`);
    }
  }
  if (f.name === "info" && call.args.length > 1) {
    const arg = call.args[1];
    const t = exprType(arg);
    if (t !== "vector") {
      p.error(call.pos, `expected type instant vector in call to function ${name}, got ${documentedType(t)}`);
    }
    if (arg.kind === "VectorSelector" && arg.name !== "") {
      p.error(arg.pos, "expected label selectors only, got vector selector instead");
    } else if (arg.kind === "VectorSelector") {
      (arg as Mutable<VectorSelector>).bypassEmptyMatcherCheck = true;
    } else {
      p.error(arg.pos, "expected label selectors only");
    }
  }
  for (let i = 0; i < call.args.length; i++) {
    let k = i;
    if (k >= nargs) {
      if (f.variadic === 0) break;
      k = nargs - 1;
    }
    const t = checkAST(p, call.args[i]);
    if (t !== f.argTypes[k]) {
      p.error(
        call.args[i].pos,
        `expected type ${documentedType(f.argTypes[k])} in call to function ${name}, got ${documentedType(t)}`,
      );
    }
  }
}

function checkSelector(p: Parser, vs: VectorSelector): void {
  if (vs.name !== "") {
    // The last matcher is the one for the name written before the braces.
    for (let i = 0; i < vs.matchers.length - 1; i++) {
      const m = vs.matchers[i];
      if (m.name === METRIC_NAME) {
        p.error(vs.pos, `metric name must not be set twice: ${quoteString(vs.name)} or ${quoteString(m.value)}`);
      }
    }
    return;
  }
  if (vs.bypassEmptyMatcherCheck) return;
  if (!vs.matchers.some((m) => !m.matches(""))) {
    p.error(vs.pos, "vector selector must contain at least one non-empty matcher");
  }
}
