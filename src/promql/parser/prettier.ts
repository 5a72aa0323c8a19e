// Prometheus's prettified text of a PromQL tree (its `Pretty(0)`, what `/api/v1/format_query` returns). A node whose
// single-line form (exprToString) is at most the line limit long prints on one line; a longer one is split:
//
//   sum by (job) (          aggregation: head and "(", then the parameter and the operand one level deeper
//     rate(                 call: name and "(", then one argument per line, separated by ","
//       foo[5m]             selectors, literals and matrix selectors never split
//     )
//   )
//       a                   binary: both operands one level deeper, the operator (with bool, on/ignoring,
//     +                     group_left/right, fill) alone on its line at the node's own level
//       b
//
// Parentheses split like a call without a name; a subquery splits inside its expression and keeps its
// `[range:step] @ t offset d` after the last line; a unary operator stays glued to its operand's first line.
// Each level indents by two spaces. The length compared with the limit is the node's whole single-line text in
// UTF-8 bytes, whatever its indentation. Two quirks of Prometheus are kept so the output is byte-identical: a
// subquery short enough for one line, and a duration expression, print without their indentation.

import { ContrailError } from "../../model/errors.ts";
import type { AggregateExpr, BinaryExpr, Call, Expr, ParenExpr } from "./ast.ts";
import { aggregateHead, binaryLhs, binaryOperator, callGrouping, exprToString, subquerySuffix } from "./printer.ts";

/** Prometheus's longest single-line form of a node, in UTF-8 bytes, before the node is split over lines. */
export const PRETTY_MAX_LINE_LENGTH = 100;

/** Options of `prettyPrint`. */
export interface PrettyOptions {
  /** A node whose single-line text is longer than this many UTF-8 bytes is split; default 100, as in Prometheus. */
  readonly maxLineLength?: number;
  /**
   * Bound on the output's length in UTF-16 units: deeply nested input indents quadratically, so callers that format
   * untrusted queries set one. Past it `prettyPrint` throws ContrailError `too_large`. Default: no bound.
   */
  readonly maxOutputLength?: number;
}

interface State {
  readonly maxLine: number;
  readonly maxOutput: number;
  readonly parts: string[];
  size: number;
  /** Byte length of each node's single-line text, computed once per node. */
  readonly lengths: Map<Expr, number>;
}

/** The prettified multi-line text of `expr`, exactly as Prometheus's `Pretty(0)` lays it out. */
export function prettyPrint(expr: Expr, opts: PrettyOptions = {}): string {
  const st: State = {
    maxLine: opts.maxLineLength ?? PRETTY_MAX_LINE_LENGTH,
    maxOutput: opts.maxOutputLength ?? Number.POSITIVE_INFINITY,
    parts: [],
    size: 0,
    lengths: new Map(),
  };
  render(st, expr, 0, true);
  return st.parts.join("");
}

function write(st: State, s: string): void {
  st.size += s.length;
  if (st.size > st.maxOutput) {
    throw new ContrailError("too_large", `the formatted query is longer than ${st.maxOutput} characters`);
  }
  st.parts.push(s);
}

function indent(level: number): string {
  return "  ".repeat(level);
}

// Writes `expr` at indentation `level`. With `lead` false the indentation of its first line is left out: the caller
// has already written text on that line (a unary operator).
function render(st: State, expr: Expr, level: number, lead: boolean): void {
  switch (expr.kind) {
    case "AggregateExpr":
    case "BinaryExpr":
    case "Call":
    case "ParenExpr":
      if (fits(st, expr)) write(st, (lead ? indent(level) : "") + exprToString(expr));
      else split(st, expr, level, lead);
      break;
    case "SubqueryExpr":
      // Prometheus writes a subquery that fits on one line without indentation, wherever it stands.
      if (fits(st, expr)) {
        write(st, exprToString(expr));
      } else {
        render(st, expr.expr, level, lead);
        write(st, subquerySuffix(expr));
      }
      break;
    case "UnaryExpr":
      write(st, (lead ? indent(level) : "") + expr.op);
      render(st, expr.expr, level, false);
      break;
    case "StepInvariantExpr":
      render(st, expr.expr, level, lead);
      break;
    case "DurationExpr":
      // Prometheus writes a duration expression without indentation.
      write(st, exprToString(expr));
      break;
    case "MatrixSelector":
    case "VectorSelector":
    case "NumberLiteral":
    case "StringLiteral":
      write(st, (lead ? indent(level) : "") + exprToString(expr));
      break;
  }
}

// Writes a node too long for one line over several.
function split(st: State, expr: AggregateExpr | BinaryExpr | Call | ParenExpr, level: number, lead: boolean): void {
  const pad = lead ? indent(level) : "";
  switch (expr.kind) {
    case "AggregateExpr":
      write(st, `${pad}${aggregateHead(expr)}(\n`);
      if (expr.param !== null) {
        render(st, expr.param, level + 1, true);
        write(st, ",\n");
      }
      render(st, expr.expr, level + 1, true);
      break;
    case "BinaryExpr":
      // The operands carry the indentation, the operator line sits at the node's own level; nothing closes it.
      renderLhs(st, expr, level + 1, lead);
      write(st, `\n${indent(level)}${binaryOperator(expr)}\n`);
      render(st, expr.rhs, level + 1, true);
      return;
    case "Call":
      write(st, `${pad}${expr.func.name}(\n`);
      expr.args.forEach((arg, i) => {
        if (i > 0) write(st, ",\n");
        render(st, arg, level + 1, true);
      });
      break;
    case "ParenExpr":
      write(st, `${pad}(\n`);
      render(st, expr.expr, level + 1, true);
      break;
  }
  write(st, `\n${indent(level)})${expr.kind === "Call" ? callGrouping(expr) : ""}`);
}

// A literal left operand prints as the single-line form does in front of this operator (see binaryLhs).
function renderLhs(st: State, b: BinaryExpr, level: number, lead: boolean): void {
  if (b.lhs.kind === "NumberLiteral") write(st, (lead ? indent(level) : "") + binaryLhs(b));
  else render(st, b.lhs, level, lead);
}

function fits(st: State, expr: Expr): boolean {
  return lineLength(expr, st.lengths) <= st.maxLine;
}

/**
 * The UTF-8 byte length of `exprToString(expr)`, built from the children's lengths so that each node is measured
 * once; `cache` holds the lengths of the nodes measured so far and is filled in.
 */
export function lineLength(expr: Expr, cache: Map<Expr, number> = new Map()): number {
  const known = cache.get(expr);
  if (known !== undefined) return known;
  let n: number;
  switch (expr.kind) {
    case "AggregateExpr":
      n = bytes(aggregateHead(expr)) + 2 + lineLength(expr.expr, cache);
      if (expr.param !== null) n += lineLength(expr.param, cache) + 2;
      break;
    case "BinaryExpr":
      n =
        (expr.lhs.kind === "NumberLiteral" ? bytes(binaryLhs(expr)) : lineLength(expr.lhs, cache)) +
        bytes(binaryOperator(expr)) +
        2 +
        lineLength(expr.rhs, cache);
      break;
    case "Call":
      n = bytes(expr.func.name) + 2 + Math.max(0, 2 * (expr.args.length - 1)) + bytes(callGrouping(expr));
      for (const arg of expr.args) n += lineLength(arg, cache);
      break;
    case "ParenExpr":
      n = 2 + lineLength(expr.expr, cache);
      break;
    case "SubqueryExpr":
      n = lineLength(expr.expr, cache) + bytes(subquerySuffix(expr));
      break;
    case "UnaryExpr":
      n = expr.op.length + lineLength(expr.expr, cache);
      break;
    case "StepInvariantExpr":
      n = lineLength(expr.expr, cache);
      break;
    case "DurationExpr":
    case "MatrixSelector":
    case "VectorSelector":
    case "NumberLiteral":
    case "StringLiteral":
      n = bytes(exprToString(expr));
      break;
  }
  cache.set(expr, n);
  return n;
}

function bytes(s: string): number {
  return Buffer.byteLength(s, "utf8");
}
