// The public surface of the PromQL parser: parse, print (single-line and prettified), durations, the series notation
// of the test DSL, the function table and the lexer. Everything else in this folder is internal.

import { ContrailError } from "../../model/errors.ts";
import type { Expr } from "./ast.ts";
import { errorPosition, type ParseError, type ParseOptions, parseWithStats } from "./parser.ts";

export * from "./ast.ts";
export { formatDuration, parseDuration } from "./duration.ts";
export { FUNCTIONS, getFunction } from "./functions.ts";
export { describeToken, lex, type Token, type TokenType } from "./lexer.ts";
export type { ParseError, ParseOptions } from "./parser.ts";
export { PRETTY_MAX_LINE_LENGTH, type PrettyOptions, prettyPrint } from "./prettier.ts";
export { exprToString } from "./printer.ts";
export { parseSeriesDesc, type SeriesDesc, type SeriesValue, STALE_NAN } from "./series.ts";

/** `parseExprDetailed`'s result: the tree, or every error found (byte offsets, Prometheus's messages). */
export type ParseResult =
  | { readonly ok: true; readonly expr: Expr }
  | { readonly ok: false; readonly errors: readonly ParseError[] };

/** Parses a PromQL expression, reporting all errors instead of throwing. Accepts the query's UTF-8 bytes too. */
export function parseExprDetailed(input: string | Uint8Array, opts?: ParseOptions): ParseResult {
  const { expr, errors } = parseWithStats(input, opts);
  if (expr !== null && errors.length === 0) return { ok: true, expr };
  return { ok: false, errors };
}

/**
 * Parses a PromQL expression; throws ContrailError `parse_error` with Prometheus's text of the first error,
 * e.g. `1:5: parse error: unexpected <op:*>`.
 */
export function parseExpr(input: string | Uint8Array, opts?: ParseOptions): Expr {
  const r = parseExprDetailed(input, opts);
  if (r.ok) return r.expr;
  throw new ContrailError("parse_error", formatParseError(input, r.errors[0]));
}

/** `line:col: parse error: msg` for an error in `input`, with Prometheus's byte-based line and column. */
export function formatParseError(input: string | Uint8Array, err: ParseError): string {
  return `${errorPosition(typeof input === "string" ? new TextEncoder().encode(input) : input, err.start)}: parse error: ${err.msg}`;
}
