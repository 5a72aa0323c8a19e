// The float arithmetic and comparisons of PromQL's binary operators, as Go computes them.

import type { BinaryOp } from "../parser/ast.ts";

/** True for the comparison operators. */
export function isComparison(op: BinaryOp): boolean {
  return op === "==" || op === "!=" || op === ">" || op === "<" || op === ">=" || op === "<=";
}

/** Go's math.Pow, which differs from `**` for a base of 1 or -1 with NaN or infinite exponents. */
export function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && (y === Number.POSITIVE_INFINITY || y === Number.NEGATIVE_INFINITY)) return 1;
  return x ** y;
}

/** The arithmetic result of `l op r` (comparisons give l). */
export function arith(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case "+":
      return l + r;
    case "-":
      return l - r;
    case "*":
      return l * r;
    case "/":
      return l / r;
    case "^":
      return goPow(l, r);
    case "%":
      return l % r;
    case "atan2":
      return Math.atan2(l, r);
    default:
      return l;
  }
}

/** Whether the comparison `l op r` holds (true for non-comparison operators). */
export function compare(op: BinaryOp, l: number, r: number): boolean {
  switch (op) {
    case "==":
      return l === r;
    case "!=":
      return l !== r;
    case ">":
      return l > r;
    case "<":
      return l < r;
    case ">=":
      return l >= r;
    case "<=":
      return l <= r;
    default:
      return true;
  }
}

/** `l op r` between two scalars; comparisons give 1 or 0. */
export function scalarBinop(op: BinaryOp, l: number, r: number): number {
  if (isComparison(op)) return compare(op, l, r) ? 1 : 0;
  return arith(op, l, r);
}
