// Prometheus's canonical text of a PromQL tree (its String()): `sum by (job) (rate(x[5m]))`, `a @ 10.000`,
// durations as `1h30m`. Parentheses are printed only where the tree has ParenExpr nodes, exactly as written.

import { compareStrings, isValidLegacyLabelName, METRIC_NAME } from "../../model/labels.ts";
import type { Matcher } from "../../model/matcher.ts";
import { quoteGo } from "../../model/quote.ts";
import type {
  AggregateExpr,
  BinaryExpr,
  Call,
  DurationExpr,
  Expr,
  MatrixSelector,
  StartOrEnd,
  SubqueryExpr,
  VectorSelector,
} from "./ast.ts";
import { formatDuration } from "./duration.ts";
import { formatFloatG, formatFloatShortest } from "./literals.ts";

// Go's quoting, except that U+FFFD is escaped: the lexer rejects it inside quotes (as Prometheus's does), and it is
// what invalid bytes such as "\xff" decode to, so printing it escaped keeps every printed query parseable.
function quote(s: string): string {
  const q = quoteGo(s);
  return q.includes("\uFFFD") ? q.replaceAll("\uFFFD", "\\ufffd") : q;
}

/** The canonical PromQL text of `expr`, as Prometheus prints it. */
export function exprToString(expr: Expr): string {
  switch (expr.kind) {
    case "AggregateExpr": {
      const param = expr.param !== null ? `${exprToString(expr.param)}, ` : "";
      return `${aggregateHead(expr)}(${param}${exprToString(expr.expr)})`;
    }
    case "BinaryExpr":
      return `${binaryLhs(expr)} ${binaryOperator(expr)} ${exprToString(expr.rhs)}`;
    case "Call":
      return `${expr.func.name}(${expr.args.map(exprToString).join(", ")})${callGrouping(expr)}`;
    case "MatrixSelector":
      return matrixString(expr);
    case "SubqueryExpr":
      return subqueryString(expr);
    case "NumberLiteral":
      if (!expr.duration) return formatFloatShortest(expr.value);
      return expr.value < 0 ? `-${secondsDuration(-expr.value)}` : secondsDuration(expr.value);
    case "ParenExpr":
      return `(${exprToString(expr.expr)})`;
    case "StringLiteral":
      return quote(expr.value);
    case "UnaryExpr":
      return `${expr.op}${exprToString(expr.expr)}`;
    case "VectorSelector":
      return selectorString(expr, true);
    case "StepInvariantExpr":
      return exprToString(expr.expr);
    case "DurationExpr":
      return durationString(expr);
  }
}

/** An aggregation's text before its opening parenthesis: `sum`, `sum by (job) `, `topk without (a) `. */
export function aggregateHead(a: AggregateExpr): string {
  if (a.without) return `${a.op} without (${labelList(a.grouping)}) `;
  if (a.grouping.length > 0) return `${a.op} by (${labelList(a.grouping)}) `;
  return a.op;
}

/** A binary expression's operator with its `bool` and matching modifiers: `+ on (job) group_left (a)`. */
export function binaryOperator(b: BinaryExpr): string {
  return `${b.op}${b.returnBool ? " bool" : ""}${matchingString(b)}`;
}

/**
 * The text of `b.lhs` in front of the operator. Go prints +Inf with its sign, which before `^` would read back as a
 * unary plus over the whole power (`+Inf ^ 2` is `+(Inf ^ 2)`); there the literal prints unsigned (`Inf`).
 */
export function binaryLhs(b: BinaryExpr): string {
  const l = b.lhs;
  if (b.op === "^" && l.kind === "NumberLiteral" && !l.duration && l.value === Infinity) return "Inf";
  return exprToString(l);
}

// A literal's seconds as Prometheus prints a duration literal: whole nanoseconds, then whole milliseconds.
function secondsDuration(seconds: number): string {
  const ns = Math.trunc(seconds * 1e9);
  return formatDuration(Math.trunc(ns / 1e6));
}

// Label names in by/without/on/ignoring/group lists: quoted unless they are legacy names.
function labelList(names: readonly string[]): string {
  return names.map((n) => (isValidLegacyLabelName(n) ? n : quote(n))).join(", ");
}

function matchingString(b: BinaryExpr): string {
  const vm = b.matching;
  if (vm === null) return "";
  let s = "";
  const grouped = vm.card === "many-to-one" || vm.card === "one-to-many";
  if (vm.matchingLabels.length > 0 || vm.on || grouped) {
    s += ` ${vm.on ? "on" : "ignoring"} (${labelList(vm.matchingLabels)})`;
  }
  if (grouped) s += ` group_${vm.card === "many-to-one" ? "left" : "right"} (${labelList(vm.include)})`;
  const { lhs, rhs } = vm.fillValues;
  if (lhs !== null && rhs !== null && lhs === rhs) {
    s += ` fill (${formatFloatG(lhs)})`;
  } else {
    if (lhs !== null) s += ` fill_left (${formatFloatG(lhs)})`;
    if (rhs !== null) s += ` fill_right (${formatFloatG(rhs)})`;
  }
  return s;
}

function offsetString(ms: number, expr: DurationExpr | null): string {
  if (expr !== null) return ` offset ${offsetSafe(expr) ? durationString(expr) : `(${durationString(expr)})`}`;
  if (ms > 0) return ` offset ${formatDuration(ms)}`;
  if (ms < 0) return ` offset -${formatDuration(-ms)}`;
  return "";
}

function atString(timestamp: number | null, startOrEnd: StartOrEnd): string {
  if (timestamp !== null) return ` @ ${(timestamp / 1000).toFixed(3)}`;
  if (startOrEnd === "start") return " @ start()";
  if (startOrEnd === "end") return " @ end()";
  return "";
}

// Go prints a matcher's name bare when it is a legacy name, quoted otherwise (the empty name too).
function matcherText(m: Matcher): string {
  const name = isValidLegacyLabelName(m.name) ? m.name : quote(m.name);
  return `${name}${m.type}${quote(m.value)}`;
}

function selectorString(vs: VectorSelector, withModifiers: boolean): string {
  const parts: string[] = [];
  for (const m of vs.matchers) {
    // The name written before the braces is not repeated inside them.
    if (m.name === METRIC_NAME && m.type === "=" && m.value === vs.name && m.value !== "") continue;
    parts.push(matcherText(m));
  }
  let s = vs.name;
  if (parts.length > 0) s += `{${parts.sort(compareStrings).join(",")}}`;
  if (!withModifiers) return s;
  s += atString(vs.timestamp, vs.startOrEnd);
  if (vs.anchored) s += " anchored";
  else if (vs.smoothed) s += " smoothed";
  return s + offsetString(vs.originalOffset, vs.originalOffsetExpr);
}

/** The ` by (...)` / ` without (...)` after a MetricsQL aggregation's arguments, or "". */
export function callGrouping(c: Call): string {
  const g = c.grouping;
  if (g === undefined) return "";
  return ` ${g.without ? "without" : "by"} (${labelList(g.labels)})`;
}

function matrixString(m: MatrixSelector): string {
  const vs = m.vectorSelector;
  if (m.implicitWindow === true) return exprToString(vs);
  const range = m.rangeExpr !== null ? durationString(m.rangeExpr) : formatDuration(m.range);
  const ext = vs.anchored ? " anchored" : vs.smoothed ? " smoothed" : "";
  return `${selectorString(vs, false)}[${range}]${ext}${atString(vs.timestamp, vs.startOrEnd)}${offsetString(vs.originalOffset, vs.originalOffsetExpr)}`;
}

function subqueryString(s: SubqueryExpr): string {
  return `${exprToString(s.expr)}${subquerySuffix(s)}`;
}

/** A subquery's text after its inner expression: `[range:step]`, then ` @ t` and ` offset d` when given. */
export function subquerySuffix(s: SubqueryExpr): string {
  const range = s.rangeExpr !== null ? durationString(s.rangeExpr) : formatDuration(s.range);
  let step = "";
  if (s.step !== 0) step = formatDuration(s.step);
  else if (s.stepExpr !== null) step = durationString(s.stepExpr);
  const bracket = s.implicitStep === true ? `[${range}]` : `[${range}:${step}]`;
  return `${bracket}${atString(s.timestamp, s.startOrEnd)}${offsetString(s.originalOffset, s.originalOffsetExpr)}`;
}

// After `offset`, a literal, step(), range(), min_of/max_of or one sign before one of those is the whole offset;
// only text that starts with "(" or with two signs goes on with arithmetic. Prometheus prints offsets such as
// `-(1 ^ 1)` written as `+-1^1` without parentheses, which reads back differently; those get parentheses.
function offsetSafe(d: DurationExpr): boolean {
  if (d.wrapped || d.lhs === null || d.op === "min_of" || d.op === "max_of") {
    if (d.wrapped || d.lhs !== null || d.rhs === null || d.rhs.kind !== "DurationExpr" || d.op !== "-") return true;
    const r = d.rhs;
    return r.wrapped || r.lhs === null || r.op === "min_of" || r.op === "max_of";
  }
  let left: Expr = d;
  while (
    left.kind === "DurationExpr" &&
    !left.wrapped &&
    left.lhs !== null &&
    left.op !== "min_of" &&
    left.op !== "max_of"
  ) {
    left = left.lhs;
  }
  if (left.kind !== "DurationExpr") return false;
  return (
    left.wrapped ||
    (left.op === "-" &&
      left.lhs === null &&
      left.rhs?.kind === "DurationExpr" &&
      left.rhs.op === "-" &&
      left.rhs.lhs === null &&
      !left.rhs.wrapped)
  );
}

function durationString(d: DurationExpr): string {
  let s: string;
  switch (d.op) {
    case "step":
      s = "step()";
      break;
    case "range":
      s = "range()";
      break;
    case "min_of":
    case "max_of":
      s = `${d.op}(${operand(d.lhs)}, ${operand(d.rhs)})`;
      break;
    case "+":
    case "-":
    case "*":
    case "/":
    case "%":
    case "^":
      if (d.lhs === null) s = d.op === "-" ? `-${operand(d.rhs)}` : operand(d.rhs);
      else s = `${operand(d.lhs)} ${d.op} ${operand(d.rhs)}`;
      break;
  }
  return d.wrapped ? `(${s})` : s;
}

function operand(e: Expr | null): string {
  return e === null ? "" : exprToString(e);
}
