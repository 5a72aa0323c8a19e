// The PromQL parser: recursive descent with precedence climbing over the lexer's tokens, building the tree of
// ast.ts. It follows the grammar of Prometheus 3.14 (including how its generated parser resolves the grammar's
// conflicts), reports the same errors with the same wording and byte positions, and collects semantic errors
// while it goes on parsing, as Prometheus does; a syntax error stops it. Type checks run afterwards (check.ts).
//
// Tree depth and parser recursion are both bounded by `maxDepth`, so no input can exhaust the JS stack here or in
// any later recursive walk of the tree.

import type {
  BinaryExpr,
  BinaryOp,
  Expr,
  MatchCardinality,
  NumberLiteral,
  ParenExpr,
  PosRange,
  StringLiteral,
  UnaryExpr,
} from "./ast.ts";
import { checkAST } from "./check.ts";
import { nsToSeconds, parseDurationNs } from "./duration.ts";
import { describeToken, isAggregatorToken, Lexer, type SpannedToken, type TokenType, toBytes } from "./lexer.ts";
import { parseNumberLiteral, quoteString, unquote } from "./literals.ts";
import { parseAt, parseOffset, setAnchored, setSmoothed } from "./modifiers.ts";
import { parseAggregate, parseCall } from "./parse-call.ts";
import { POW_PREC, parseBracket } from "./parse-duration.ts";
import { parseGroupingLabels, parseLabelMatchers, vectorSelectorNode } from "./parse-selector.ts";
import { METRIC_NAME_TOKENS } from "./tokens.ts";

/** Parser settings. The four feature flags default to true: Contrail accepts the whole language. */
export interface ParseOptions {
  /** Experimental functions and the limitk/limit_ratio aggregations. */
  readonly experimentalFunctions?: boolean;
  /** Duration arithmetic in ranges, steps and offsets (`foo[5m + step()]`). */
  readonly durationExpressions?: boolean;
  /** The `anchored` and `smoothed` selector modifiers. */
  readonly extendedRangeSelectors?: boolean;
  /** `fill()`, `fill_left()`, `fill_right()` on binary operations. */
  readonly binopFillModifiers?: boolean;
  /** MetricsQL forms where PromQL has a parse error (metricsql.ts); default false, so PromQL callers keep strict
   *  errors. The query API turns it on. */
  readonly metricsql?: boolean;
  /** Longest accepted query, in UTF-8 bytes (default 256 KiB). */
  readonly maxLength?: number;
  /** Deepest accepted nesting of the syntax tree (default 1000). */
  readonly maxDepth?: number;
}

/** One parse error: byte offsets into the query (`start` inclusive, `end` exclusive) and Prometheus's message. */
export interface ParseError {
  readonly start: number;
  readonly end: number;
  readonly msg: string;
}

/** A writable view of a node while the parser assembles it. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Thrown to stop parsing at a syntax error (already recorded). Never escapes this module's entry points. */
class SyntaxAbort {}

interface ErrorContext {
  readonly context: string;
  readonly expected: string;
}

interface BinaryInfo {
  readonly op: BinaryOp;
  readonly prec: number;
}

const BINARY_OPS: ReadonlyMap<TokenType, BinaryInfo> = new Map<TokenType, BinaryInfo>([
  ["LOR", { op: "or", prec: 1 }],
  ["LAND", { op: "and", prec: 2 }],
  ["LUNLESS", { op: "unless", prec: 2 }],
  ["EQLC", { op: "==", prec: 3 }],
  ["NEQ", { op: "!=", prec: 3 }],
  ["GTE", { op: ">=", prec: 3 }],
  ["GTR", { op: ">", prec: 3 }],
  ["LSS", { op: "<", prec: 3 }],
  ["LTE", { op: "<=", prec: 3 }],
  ["TRIM_UPPER", { op: "</", prec: 3 }],
  ["TRIM_LOWER", { op: ">/", prec: 3 }],
  ["ADD", { op: "+", prec: 4 }],
  ["SUB", { op: "-", prec: 4 }],
  ["MUL", { op: "*", prec: 5 }],
  ["DIV", { op: "/", prec: 5 }],
  ["MOD", { op: "%", prec: 5 }],
  ["ATAN2", { op: "atan2", prec: 5 }],
  ["POW", { op: "^", prec: 6 }],
]);

// Tokens that are function calls when "(" follows.
const CALLABLE_TOKENS: ReadonlySet<TokenType> = new Set<TokenType>([
  "IDENTIFIER",
  "START",
  "END",
  "STEP",
  "RANGE",
  "MAX_OF",
  "MIN_OF",
]);

/** The state of one parse: tokens, collected errors, options and work counters. */
export class Parser {
  readonly lexer: Lexer;
  readonly src: Uint8Array;
  readonly errors: ParseError[] = [];
  readonly experimentalFunctions: boolean;
  readonly durationExpressions: boolean;
  readonly extendedRangeSelectors: boolean;
  readonly binopFillModifiers: boolean;
  /** Set on the second reading of a query PromQL rejected: MetricsQL forms are accepted (metricsql.ts). */
  readonly metricsql: boolean;
  readonly maxDepth: number;
  /** Parse steps taken (a work counter for tests). */
  steps = 0;
  /** End offset of the last consumed token. */
  prevEnd = 0;
  private lookahead: SpannedToken | null = null;
  private lexFailed = false;
  private nesting = 0;
  private readonly contexts: ErrorContext[] = [];
  private readonly depths = new WeakMap<object, number>();

  constructor(src: Uint8Array, opts: ParseOptions, seriesDesc = false, metricsql = false) {
    this.src = src;
    this.lexer = new Lexer(src, { seriesDesc });
    this.experimentalFunctions = opts.experimentalFunctions ?? true;
    this.durationExpressions = opts.durationExpressions ?? true;
    this.extendedRangeSelectors = opts.extendedRangeSelectors ?? true;
    this.binopFillModifiers = opts.binopFillModifiers ?? true;
    this.maxDepth = opts.maxDepth ?? 1000;
    this.metricsql = metricsql;
  }

  // ---- tokens ---------------------------------------------------------------------------------------------------

  /** The next token, not consumed. Comments are skipped; a lexer error is recorded and then reads as end of input. */
  peek(): SpannedToken {
    if (this.lookahead !== null) return this.lookahead;
    let t = this.lexer.nextToken();
    while (t.type === "COMMENT") t = this.lexer.nextToken();
    if (t.type === "ERROR") {
      if (!this.lexFailed) this.error({ start: t.pos, end: this.src.length }, t.val);
      this.lexFailed = true;
      t = { type: "EOF", pos: this.src.length, end: this.src.length, val: "" };
    } else if (this.lexFailed) {
      t = { type: "EOF", pos: this.src.length, end: this.src.length, val: "" };
    }
    this.lookahead = t;
    return t;
  }

  /** Consumes and returns the next token. */
  next(): SpannedToken {
    const t = this.peek();
    this.lookahead = null;
    this.steps++;
    this.prevEnd = t.end;
    return t;
  }

  /** Consumes the next token when it has type `type`. */
  accept(type: TokenType): SpannedToken | null {
    return this.peek().type === type ? this.next() : null;
  }

  /** Consumes a token of type `type`, or fails with a syntax error naming `context` (else the enclosing one). */
  expect(type: TokenType, context?: ErrorContext): SpannedToken {
    const t = this.peek();
    if (t.type !== type) this.unexpected(context);
    return this.next();
  }

  // ---- errors ---------------------------------------------------------------------------------------------------

  /** Records an error and goes on. */
  error(range: PosRange, msg: string): void {
    this.errors.push({ start: range.start, end: range.end, msg });
  }

  /** Records a syntax error at the next token and stops the parse. */
  unexpected(context?: ErrorContext): never {
    const ctx = context ?? this.contexts[this.contexts.length - 1];
    // After a lexer error the input reads as ended; that error already says what is wrong.
    if (!this.lexFailed) {
      const t = this.peek();
      let msg = `unexpected ${describeToken(t)}`;
      if (ctx !== undefined && ctx.context !== "") msg += ` in ${ctx.context}`;
      if (ctx !== undefined && ctx.expected !== "") msg += `, expected ${ctx.expected}`;
      this.error({ start: t.pos, end: t.end }, msg);
    }
    throw new SyntaxAbort();
  }

  /** Fails with a fatal error (not a syntax error) at `range`. */
  fatal(range: PosRange, msg: string): never {
    this.error(range, msg);
    throw new SyntaxAbort();
  }

  /** Runs `fn` with `context` as the syntax-error context of everything it parses that has none of its own. */
  within<T>(context: ErrorContext, fn: () => T): T {
    this.contexts.push(context);
    const out = fn();
    this.contexts.pop();
    return out;
  }

  // ---- depth ----------------------------------------------------------------------------------------------------

  /** Enters one level of parser recursion; fails cleanly past `maxDepth`. */
  enter(): void {
    this.steps++;
    if (++this.nesting > this.maxDepth) this.tooDeep();
  }

  /** Leaves one level of parser recursion. */
  leave(): void {
    this.nesting--;
  }

  private tooDeep(): never {
    const t = this.peek();
    this.fatal({ start: t.pos, end: t.end }, `expression nesting depth exceeds the maximum of ${this.maxDepth}`);
  }

  /** Registers a new node whose children are `children`; fails when the tree gets deeper than `maxDepth`. */
  node<T extends Expr>(n: T, ...children: (Expr | null)[]): T {
    let d = 0;
    for (const c of children) if (c !== null) d = Math.max(d, this.depths.get(c) ?? 1);
    if (d + 1 > this.maxDepth) this.tooDeep();
    this.depths.set(n, d + 1);
    return n;
  }

  // ---- expressions ----------------------------------------------------------------------------------------------

  /** Parses an expression whose binary operators all bind at least as tightly as `minPrec`. */
  parseExpr(minPrec: number): Expr {
    this.enter();
    let lhs = this.parseUnary();
    for (;;) {
      const info = BINARY_OPS.get(this.peek().type);
      if (info === undefined || info.prec < minPrec) break;
      this.next();
      const mods = this.parseBinModifiers();
      const rhs = this.parseExpr(info.prec === POW_PREC ? info.prec : info.prec + 1);
      lhs = this.binary(info.op, lhs, rhs, mods);
    }
    this.leave();
    return lhs;
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (t.type !== "ADD" && t.type !== "SUB") return this.parsePostfix(this.parsePrimary());
    this.next();
    // Unary operators bind like `*`: tighter than `+`, looser than `^` (`-1^2` is `-(1^2)`).
    const operand = this.parseExpr(POW_PREC);
    const op = t.type === "ADD" ? "+" : "-";
    if (operand.kind === "NumberLiteral") {
      const nl = operand as Mutable<NumberLiteral>;
      if (op === "-") nl.value = -nl.value;
      nl.pos = { start: t.pos, end: nl.pos.end };
      return nl;
    }
    const u: UnaryExpr = { kind: "UnaryExpr", op, expr: operand, pos: { start: t.pos, end: operand.pos.end } };
    return this.node(u, operand);
  }

  /** Applies the postfix modifiers that follow `expr`: offset, @, anchored, smoothed, ranges and subqueries. */
  private parsePostfix(expr: Expr): Expr {
    for (;;) {
      this.steps++;
      switch (this.peek().type) {
        case "OFFSET":
          this.next();
          parseOffset(this, expr);
          break;
        case "AT":
          this.next();
          parseAt(this, expr);
          break;
        case "ANCHORED":
          this.next();
          setAnchored(this, expr);
          break;
        case "SMOOTHED":
          this.next();
          setSmoothed(this, expr);
          break;
        case "LEFT_BRACKET":
          expr = parseBracket(this, expr);
          break;
        default:
          return expr;
      }
    }
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    this.steps++;
    switch (t.type) {
      case "NUMBER":
      case "DURATION":
        this.next();
        return this.numberLiteral(t);
      case "STRING": {
        this.next();
        const s: StringLiteral = { kind: "StringLiteral", value: this.unquote(t), pos: { start: t.pos, end: t.end } };
        return this.node(s);
      }
      case "LEFT_PAREN": {
        this.next();
        const inner = this.parseExpr(0);
        const close = this.expect("RIGHT_PAREN");
        const p: ParenExpr = { kind: "ParenExpr", expr: inner, pos: { start: t.pos, end: close.end } };
        return this.node(p, inner);
      }
      case "LEFT_BRACE":
        return this.node(vectorSelectorNode(this, null, parseLabelMatchers(this)));
      default:
        break;
    }
    if (isAggregatorToken(t.type)) {
      this.next();
      const after = this.peek().type;
      if (after === "LEFT_PAREN" || after === "BY" || after === "WITHOUT") return parseAggregate(this, t);
      return this.metricSelector(t);
    }
    if (METRIC_NAME_TOKENS.has(t.type)) {
      this.next();
      if (CALLABLE_TOKENS.has(t.type) && this.peek().type === "LEFT_PAREN") return parseCall(this, t);
      return this.metricSelector(t);
    }
    return this.unexpected();
  }

  private metricSelector(name: SpannedToken): Expr {
    const braces = this.peek().type === "LEFT_BRACE" ? parseLabelMatchers(this) : null;
    return this.node(vectorSelectorNode(this, name, braces));
  }

  /** A NUMBER or DURATION token as a literal (durations in seconds, marked so they print as durations). */
  numberLiteral(t: SpannedToken): Mutable<NumberLiteral> {
    const pos = { start: t.pos, end: t.end };
    let value: number;
    if (t.type === "DURATION") {
      const ns = parseDurationNs(t.val);
      if (typeof ns === "bigint") {
        value = nsToSeconds(ns);
      } else {
        this.error(pos, ns.error);
        value = 0;
      }
    } else {
      value = this.numberValue(t);
    }
    const n: Mutable<NumberLiteral> = { kind: "NumberLiteral", value, duration: t.type === "DURATION", pos };
    return this.node(n);
  }

  /** The value of a NUMBER token; records Prometheus's error (and gives 0) when it does not parse. */
  numberValue(t: SpannedToken): number {
    const v = parseNumberLiteral(t.val);
    if (typeof v === "number") return v;
    this.error({ start: t.pos, end: t.end }, `error parsing number: ${v.error}`);
    return 0;
  }

  /** The value of a STRING token with its escapes resolved. */
  unquote(t: SpannedToken): string {
    try {
      return unquote(t.val);
    } catch (err) {
      this.error(
        { start: t.pos, end: t.end },
        `error unquoting string ${quoteString(t.val)}: ${(err as Error).message}`,
      );
      return "";
    }
  }

  // ---- binary operations ----------------------------------------------------------------------------------------

  private parseBinModifiers(): Mutable<BinaryModifiers> {
    const mods: Mutable<BinaryModifiers> = {
      returnBool: this.accept("BOOL") !== null,
      card: "one-to-one",
      on: false,
      matchingLabels: [],
      include: [],
      fillLhs: null,
      fillRhs: null,
    };
    const t = this.peek().type;
    if (t === "ON" || t === "IGNORING") {
      this.next();
      mods.on = t === "ON";
      mods.matchingLabels = parseGroupingLabels(this).labels;
      const g = this.peek().type;
      if (g === "GROUP_LEFT" || g === "GROUP_RIGHT") {
        this.next();
        mods.card = g === "GROUP_LEFT" ? "many-to-one" : "one-to-many";
        if (this.peek().type === "LEFT_PAREN") mods.include = parseGroupingLabels(this).labels;
      }
    }
    switch (this.peek().type) {
      case "FILL":
        this.next();
        mods.fillLhs = this.parseFillValue();
        mods.fillRhs = mods.fillLhs;
        break;
      case "FILL_LEFT":
        this.next();
        mods.fillLhs = this.parseFillValue();
        if (this.accept("FILL_RIGHT")) mods.fillRhs = this.parseFillValue();
        break;
      case "FILL_RIGHT":
        this.next();
        mods.fillRhs = this.parseFillValue();
        if (this.accept("FILL_LEFT")) mods.fillLhs = this.parseFillValue();
        break;
      default:
        break;
    }
    return mods;
  }

  private parseFillValue(): number {
    this.expect("LEFT_PAREN");
    const sign = this.peek().type;
    if (sign === "ADD" || sign === "SUB") this.next();
    const t = this.peek();
    if (t.type !== "NUMBER" && t.type !== "DURATION") this.unexpected();
    this.next();
    const v = this.numberLiteral(t).value;
    this.expect("RIGHT_PAREN");
    return sign === "SUB" ? -v : v;
  }

  private binary(op: BinaryOp, lhs: Expr, rhs: Expr, mods: BinaryModifiers): Expr {
    const pos = { start: lhs.pos.start, end: rhs.pos.end };
    const b: BinaryExpr = {
      kind: "BinaryExpr",
      op,
      lhs,
      rhs,
      matching: {
        card: mods.card,
        matchingLabels: mods.matchingLabels,
        on: mods.on,
        include: mods.include,
        fillValues: { lhs: mods.fillLhs, rhs: mods.fillRhs },
      },
      returnBool: mods.returnBool,
      pos,
    };
    if (!this.binopFillModifiers && (mods.fillLhs !== null || mods.fillRhs !== null)) {
      this.error(pos, "binop fill modifiers are experimental and not enabled");
    }
    return this.node(b, lhs, rhs);
  }

  // ---- entry points -------------------------------------------------------------------------------------------------

  /** Parses the whole input as one expression and type-checks it; null when there were errors. */
  parseTop(): Expr | null {
    if (this.peek().type === "EOF") {
      if (!this.lexFailed) this.error({ start: 0, end: 0 }, "no expression found in input");
      return null;
    }
    const expr = this.parseExpr(0);
    if (this.peek().type !== "EOF") this.unexpected();
    if (this.errors.length > 0) return null;
    checkAST(this, expr);
    return this.errors.length > 0 ? null : expr;
  }

  /** Runs `fn`, turning a stop at a syntax error, or a JS stack overflow, into the recorded errors. */
  guard<T>(fn: () => T): T | null {
    try {
      return fn();
    } catch (err) {
      if (err instanceof SyntaxAbort) return null;
      if (err instanceof RangeError) {
        this.error({ start: 0, end: 0 }, `expression nesting depth exceeds the maximum of ${this.maxDepth}`);
        return null;
      }
      throw err;
    }
  }
}

/** The modifiers written between a binary operator and its right-hand side. */
interface BinaryModifiers {
  readonly returnBool: boolean;
  readonly card: MatchCardinality;
  readonly on: boolean;
  readonly matchingLabels: readonly string[];
  readonly include: readonly string[];
  readonly fillLhs: number | null;
  readonly fillRhs: number | null;
}

/** Result of a parse with its work counters: tokens lexed plus parser steps (for tests that bound the work). */
export interface ParseOutcome {
  readonly expr: Expr | null;
  readonly errors: readonly ParseError[];
  readonly work: number;
}

/** Parses `input` (a string, or the UTF-8 bytes of one); never throws for any input. */
export function parseWithStats(input: string | Uint8Array, opts: ParseOptions = {}): ParseOutcome {
  const src = toBytes(input);
  const maxLength = opts.maxLength ?? 256 * 1024;
  if (src.length > maxLength) {
    return {
      expr: null,
      errors: [{ start: 0, end: 0, msg: `query length ${src.length} exceeds the maximum of ${maxLength} bytes` }],
      work: 0,
    };
  }
  const first = parseOnce(src, opts, false);
  if (first.expr !== null || opts.metricsql !== true) return first;
  // PromQL rejects the query: read it again as MetricsQL. If that fails too, PromQL's errors stand.
  const second = parseOnce(src, opts, true);
  const work = first.work + second.work;
  return second.expr !== null ? { ...second, work } : { ...first, work };
}

function parseOnce(src: Uint8Array, opts: ParseOptions, metricsql: boolean): ParseOutcome {
  const p = new Parser(src, opts, false, metricsql);
  const expr = p.guard(() => p.parseTop());
  return { expr: p.errors.length > 0 ? null : expr, errors: p.errors, work: p.lexer.tokens + p.steps };
}

/** Prometheus's `line:col` of a byte offset (columns count bytes); "unknown position" for an empty query. */
export function errorPosition(src: Uint8Array, pos: number): string {
  if (src.length === 0) return "unknown position";
  if (pos < 0 || pos > src.length) return "invalid position";
  let line = 1;
  let lastBreak = -1;
  for (let i = 0; i < pos; i++) {
    if (src[i] === 0x0a) {
      line++;
      lastBreak = i;
    }
  }
  return `${line}:${pos - lastBreak}`;
}
