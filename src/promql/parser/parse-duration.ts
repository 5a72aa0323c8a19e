// Ranges, subquery steps and offsets: plain durations (`5m`, `90`), and duration expressions (`5m + step()`,
// `max_of(range(), 1m)`, `-(10s - 5s)`). Inside brackets the usual precedence applies; after `offset` a literal,
// `step()`, `range()`, `min_of(..)`/`max_of(..)` or a sign-prefixed parenthesis is the whole offset (so
// `foo offset 5s - 8` subtracts 8 from `foo offset 5s`), while an unsigned parenthesis may go on with arithmetic.

import type { DurationExpr, DurationOp, Expr, MatrixSelector, NumberLiteral, PosRange, SubqueryExpr } from "./ast.ts";
import { secondsToMs } from "./duration.ts";
import type { SpannedToken, TokenType } from "./lexer.ts";
import type { Mutable, Parser } from "./parser.ts";

/** Precedence of `^`, the only right-associative operator; unary minus binds just below it. */
export const POW_PREC = 6;

/** A duration operand or result: a literal (seconds) or a duration expression. */
export type DurationNode = Mutable<NumberLiteral> | Mutable<DurationExpr>;

const DURATION_BINARY: ReadonlyMap<TokenType, { readonly op: DurationOp; readonly prec: number }> = new Map([
  ["ADD", { op: "+", prec: 4 }],
  ["SUB", { op: "-", prec: 4 }],
  ["MUL", { op: "*", prec: 5 }],
  ["DIV", { op: "/", prec: 5 }],
  ["MOD", { op: "%", prec: 5 }],
  ["POW", { op: "^", prec: POW_PREC }],
] as const);

// Seconds beyond which a duration overflows Go's int64 nanoseconds.
const MAX_DURATION_SECONDS = 2 ** 63 / 1e9;

const ZERO_RANGE: PosRange = { start: 0, end: 0 };

/** The literal 0 that replaces a duration after an error (Prometheus gives it no position). */
function zero(): Mutable<NumberLiteral> {
  return { kind: "NumberLiteral", value: 0, duration: false, pos: ZERO_RANGE };
}

function outOfRange(v: number): boolean {
  return v > MAX_DURATION_SECONDS || v < -MAX_DURATION_SECONDS;
}

/** Position of a duration expression as Prometheus computes it (see ast.ts: operands decide when present). */
function durationPos(start: number, end: number, lhs: Expr | null, rhs: Expr | null): PosRange {
  if (lhs !== null && rhs !== null) return { start: lhs.pos.start, end: rhs.pos.end };
  if (rhs !== null) return { start, end: rhs.pos.end };
  if (lhs !== null) return { start, end: lhs.pos.end };
  return { start, end };
}

function durationExpr(
  p: Parser,
  op: DurationOp,
  lhs: DurationNode | null,
  rhs: DurationNode | null,
  span: { start: number; end: number },
): Mutable<DurationExpr> {
  const d: Mutable<DurationExpr> = {
    kind: "DurationExpr",
    op,
    lhs,
    rhs,
    wrapped: false,
    pos: durationPos(span.start, span.end, lhs, rhs),
  };
  return p.node(d, lhs, rhs);
}

function requireEnabled(p: Parser, e: Expr): void {
  if (!p.durationExpressions) p.error(e.pos, "experimental duration expression is not enabled");
}

// A parenthesised duration: the flag on an expression, or a unary `+` wrapper around a bare literal.
function wrap(p: Parser, e: DurationNode, open: number): DurationNode {
  if (e.kind === "DurationExpr") {
    e.wrapped = true;
    return e;
  }
  const w = durationExpr(p, "+", null, e, { start: open, end: e.pos.end });
  w.wrapped = true;
  return w;
}

function applyUnary(p: Parser, op: SpannedToken, e: DurationNode): DurationNode {
  if (e.kind === "DurationExpr") {
    return op.type === "SUB" ? durationExpr(p, "-", null, e, { start: op.pos, end: e.pos.end }) : e;
  }
  if (op.type === "SUB") e.value = -e.value;
  if (outOfRange(e.value)) {
    p.error({ start: op.pos, end: op.end }, "duration out of range");
    return zero();
  }
  e.pos = { start: op.pos, end: e.pos.end };
  return e;
}

// number_duration_literal checked against the int64-nanosecond range.
function literal(p: Parser): DurationNode {
  const nl = p.numberLiteral(p.next());
  if (outOfRange(nl.value)) {
    p.error(nl.pos, "duration out of range");
    return zero();
  }
  return nl;
}

// `step()`, `range()` (the keyword is the next token).
function stepOrRange(p: Parser): Mutable<DurationExpr> {
  const kw = p.next();
  p.expect("LEFT_PAREN");
  const close = p.expect("RIGHT_PAREN");
  const d = durationExpr(p, kw.type === "STEP" ? "step" : "range", null, null, { start: kw.pos, end: close.end });
  requireEnabled(p, d);
  return d;
}

// `min_of(a, b)`, `max_of(a, b)` (the keyword is the next token).
function minMaxOf(p: Parser): Mutable<DurationExpr> {
  const kw = p.next();
  p.expect("LEFT_PAREN");
  const a = parseDurationExpr(p, 0);
  p.expect("COMMA");
  const b = parseDurationExpr(p, 0);
  const close = p.expect("RIGHT_PAREN");
  const d = durationExpr(p, kw.type === "MAX_OF" ? "max_of" : "min_of", a, b, { start: kw.pos, end: close.end });
  requireEnabled(p, d);
  return d;
}

function parseDurationPrimary(p: Parser): DurationNode {
  const t = p.peek();
  switch (t.type) {
    case "NUMBER":
    case "DURATION":
      return literal(p);
    case "STEP":
    case "RANGE":
      return stepOrRange(p);
    case "MAX_OF":
    case "MIN_OF":
      return minMaxOf(p);
    case "LEFT_PAREN": {
      p.next();
      const inner = parseDurationExpr(p, 0);
      p.expect("RIGHT_PAREN");
      requireEnabled(p, inner);
      return wrap(p, inner, t.pos);
    }
    default:
      return p.unexpected();
  }
}

/** Parses a duration expression whose binary operators bind at least as tightly as `minPrec`. */
export function parseDurationExpr(p: Parser, minPrec: number): DurationNode {
  p.enter();
  const t = p.peek();
  let lhs: DurationNode;
  if (t.type === "ADD" || t.type === "SUB") {
    p.next();
    lhs = applyUnary(p, t, parseDurationExpr(p, POW_PREC));
  } else {
    lhs = parseDurationPrimary(p);
  }
  lhs = continueDurationExpr(p, lhs, minPrec);
  p.leave();
  return lhs;
}

function continueDurationExpr(p: Parser, lhs: DurationNode, minPrec: number): DurationNode {
  for (;;) {
    const opTok = p.peek();
    const info = DURATION_BINARY.get(opTok.type);
    if (info === undefined || info.prec < minPrec) return lhs;
    p.next();
    const rhs = parseDurationExpr(p, info.op === "^" ? info.prec : info.prec + 1);
    requireEnabled(p, lhs);
    if ((info.op === "/" || info.op === "%") && rhs.kind === "NumberLiteral" && rhs.value === 0) {
      p.error({ start: opTok.pos, end: opTok.end }, info.op === "/" ? "division by zero" : "modulo by zero");
      lhs = zero();
      continue;
    }
    lhs = durationExpr(p, info.op, lhs, rhs, { start: lhs.pos.start, end: rhs.pos.end });
  }
}

/** Parses the duration after `offset` (see the file comment for where it ends). */
export function parseOffsetDuration(p: Parser): DurationNode {
  const t = p.peek();
  switch (t.type) {
    case "NUMBER":
    case "DURATION":
      return literal(p);
    case "STEP":
    case "RANGE":
      return stepOrRange(p);
    case "MAX_OF":
    case "MIN_OF":
      return minMaxOf(p);
    case "LEFT_PAREN":
      return parseDurationExpr(p, 0);
    case "ADD":
    case "SUB":
      break;
    default:
      return p.unexpected();
  }
  const sign = p.next();
  const after = p.peek();
  switch (after.type) {
    case "NUMBER":
    case "DURATION": {
      const nl = p.numberLiteral(p.next());
      return applyUnary(p, sign, nl);
    }
    case "STEP":
    case "RANGE":
    case "MAX_OF":
    case "MIN_OF": {
      const inner = after.type === "STEP" || after.type === "RANGE" ? stepOrRange(p) : minMaxOf(p);
      const d = durationExpr(p, sign.type === "SUB" ? "-" : "+", null, inner, { start: sign.pos, end: inner.pos.end });
      requireEnabled(p, d);
      return d;
    }
    case "LEFT_PAREN": {
      p.next();
      const inner = parseDurationExpr(p, 0);
      p.expect("RIGHT_PAREN");
      return applyUnary(p, sign, wrap(p, inner, after.pos));
    }
    default: {
      // A further sign: an ordinary duration expression that may go on with arithmetic.
      const operand = parseDurationExpr(p, POW_PREC);
      return continueDurationExpr(p, applyUnary(p, sign, operand), 0);
    }
  }
}

// positive_duration_expr: a literal range or step must be above zero.
function positive(p: Parser, d: DurationNode): DurationNode {
  if (d.kind === "NumberLiteral" && d.value <= 0) {
    p.error(d.pos, "duration must be greater than 0");
    return zero();
  }
  return d;
}

const RANGE_CONTEXT = { context: "subquery or range selector", expected: "number, duration, step(), or range()" };
const STEP_CONTEXT = { context: "subquery selector", expected: 'number, duration, step(), range(), or "]"' };

function millis(d: DurationNode): number {
  return d.kind === "NumberLiteral" ? secondsToMs(d.value) : 0;
}

function exprOf(d: DurationNode): DurationExpr | null {
  return d.kind === "DurationExpr" ? d : null;
}

/** Parses `[range]` or `[range:step]` after `expr` (the next token is `[`) into a matrix selector or subquery. */
export function parseBracket(p: Parser, expr: Expr): Expr {
  const open = p.next();
  const range = positive(
    p,
    p.within(RANGE_CONTEXT, () => parseDurationExpr(p, 0)),
  );
  const t = p.peek();
  if (t.type === "RIGHT_BRACKET") {
    const close = p.next();
    let problem = "";
    if (expr.kind !== "VectorSelector") problem = "ranges only allowed for vector selectors";
    else if (expr.originalOffset !== 0 || expr.originalOffsetExpr !== null) {
      problem = "no offset modifiers allowed before range";
    } else if (expr.timestamp !== null || expr.startOrEnd !== null) problem = "no @ modifiers allowed before range";
    if (problem !== "" && p.metricsql && expr.kind !== "VectorSelector") {
      // MetricsQL: `q[d]` on any other expression is a subquery at the query's own step.
      return p.node(subquery(expr, range, null, close.end, true), expr);
    }
    if (problem !== "") p.error({ start: open.pos, end: close.end }, problem);
    // With a non-selector the tree already has an error and is discarded; the node still records the range.
    const m: MatrixSelector = {
      kind: "MatrixSelector",
      vectorSelector: expr as MatrixSelector["vectorSelector"],
      range: millis(range),
      rangeExpr: exprOf(range),
      pos: { start: expr.pos.start, end: close.end },
    };
    return p.node(m, expr);
  }
  if (t.type !== "COLON") p.unexpected({ context: "subquery or range", expected: '":" or "]"' });
  p.next();
  let step: DurationNode | null = null;
  if (p.peek().type !== "RIGHT_BRACKET") {
    step = positive(
      p,
      p.within(STEP_CONTEXT, () => parseDurationExpr(p, 0)),
    );
  }
  const close = p.expect("RIGHT_BRACKET", { context: "subquery selector", expected: '"]"' });
  return p.node(subquery(expr, range, step, close.pos + 1, false), expr);
}

// A subquery node over `expr` ending at byte `end`; `implicitStep` for MetricsQL's `q[d]`.
function subquery(
  expr: Expr,
  range: DurationNode,
  step: DurationNode | null,
  end: number,
  implicitStep: boolean,
): SubqueryExpr {
  return {
    kind: "SubqueryExpr",
    expr,
    range: millis(range),
    rangeExpr: exprOf(range),
    originalOffset: 0,
    originalOffsetExpr: null,
    timestamp: null,
    startOrEnd: null,
    step: step === null ? 0 : millis(step),
    stepExpr: step === null ? null : exprOf(step),
    ...(implicitStep ? { implicitStep } : {}),
    pos: { start: expr.pos.start, end },
  };
}
