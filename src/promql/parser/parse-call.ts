// Function calls (checked against the function table) and aggregations (`sum by (job) (x)`, `topk(3, x)`,
// `sum(x) without (a)`), with Prometheus's arity errors and its handling of trailing commas.

import {
  type AggregateExpr,
  type AggregateOp,
  type Call,
  type Expr,
  exprType,
  type FunctionSignature,
  type PosRange,
} from "./ast.ts";
import { getFunction } from "./functions.ts";
import type { SpannedToken, TokenType } from "./lexer.ts";
import { quoteString } from "./literals.ts";
import { lastValueCall, METRICSQL_AGGREGATIONS, metricsqlCall, unionCall } from "./metricsql.ts";
import { parseGroupingLabels } from "./parse-selector.ts";
import type { Parser } from "./parser.ts";
import { AGGREGATOR_TOKENS, METRIC_NAME_TOKENS } from "./tokens.ts";

// Tokens that may start an expression.
const EXPR_START: ReadonlySet<TokenType> = new Set<TokenType>([
  ...METRIC_NAME_TOKENS,
  "NUMBER",
  "DURATION",
  "STRING",
  "LEFT_PAREN",
  "LEFT_BRACE",
  "ADD",
  "SUB",
  ...AGGREGATOR_TOKENS,
]);

const PARAM_AGGREGATORS: ReadonlySet<AggregateOp> = new Set<AggregateOp>([
  "topk",
  "bottomk",
  "count_values",
  "quantile",
  "limitk",
  "limit_ratio",
]);

// Stands in for an unknown function in a tree that is discarded because of that error.
const UNKNOWN_FUNCTION: FunctionSignature = {
  name: "",
  argTypes: [],
  variadic: 0,
  returnType: "none",
  experimental: false,
};

// Stands in for the missing body of an aggregation without arguments (an error; the tree is discarded).
function placeholder(pos: PosRange): Expr {
  return { kind: "NumberLiteral", value: 0, duration: false, pos };
}

// Parses `( args )` after a function name or aggregation; returns the arguments and the closing offset.
function parseArgs(p: Parser): { args: Expr[]; end: number } {
  p.expect("LEFT_PAREN");
  const args: Expr[] = [];
  if (p.peek().type === "RIGHT_PAREN") return { args, end: p.next().end };
  args.push(p.parseExpr(0));
  for (;;) {
    const t = p.peek();
    if (t.type === "RIGHT_PAREN") return { args, end: p.next().end };
    if (t.type !== "COMMA") p.unexpected();
    p.next();
    if (EXPR_START.has(p.peek().type)) {
      args.push(p.parseExpr(0));
    } else {
      p.error({ start: t.pos, end: t.end }, "trailing commas not allowed in function call args");
    }
  }
}

/** Parses the arguments of a call to the function named by `name` (the next token is "("). */
export function parseCall(p: Parser, name: SpannedToken): Expr {
  if (p.metricsql) return parseMetricsqlCall(p, name);
  let func = getFunction(name.val);
  const nameRange = { start: name.pos, end: name.end };
  if (func === undefined) {
    p.error(nameRange, `unknown function with name ${quoteString(name.val)}`);
    func = UNKNOWN_FUNCTION;
  } else if (func.experimental && !p.experimentalFunctions) {
    p.error(nameRange, `function ${quoteString(name.val)} is not enabled`);
  }
  const { args, end } = parseArgs(p);
  const call: Call = { kind: "Call", func, args, pos: { start: name.pos, end } };
  return p.node(call, ...args);
}

// A call on the MetricsQL reading: its MetricsQL form when it has one, else the PromQL call with PromQL's errors.
function parseMetricsqlCall(p: Parser, name: SpannedToken): Expr {
  const { args, end } = parseArgs(p);
  const pos = { start: name.pos, end };
  const call = metricsqlCall(name.val, args, pos, p.experimentalFunctions);
  if (call !== null) {
    const m = p.peek().type;
    if (METRICSQL_AGGREGATIONS.has(name.val) && (m === "BY" || m === "WITHOUT")) {
      p.next();
      const g = parseGroupingLabels(p);
      const grouped: Call = {
        ...call,
        grouping: { labels: g.labels, without: m === "WITHOUT" },
        pos: { ...pos, end: g.end },
      };
      return p.node(grouped, ...args);
    }
    return p.node(call, ...args);
  }
  const func = getFunction(name.val);
  if (func === undefined)
    p.error({ start: name.pos, end: name.end }, `unknown function with name ${quoteString(name.val)}`);
  return p.node({ kind: "Call", func: func ?? UNKNOWN_FUNCTION, args, pos }, ...args);
}

/** Parses an aggregation after its operator token: modifier and arguments in either order. */
export function parseAggregate(p: Parser, opTok: SpannedToken): Expr {
  const op = opTok.val.toLowerCase() as AggregateOp;
  let grouping: readonly string[] = [];
  let without = false;
  let hasModifier = false;
  const { args, end: bodyEnd } = p.within({ context: "aggregation", expected: "" }, () => {
    const m = p.peek().type;
    if (m === "BY" || m === "WITHOUT") {
      p.next();
      without = m === "WITHOUT";
      grouping = parseGroupingLabels(p).labels;
      hasModifier = true;
    }
    return parseArgs(p);
  });
  let end = bodyEnd;
  const m = p.peek().type;
  if (!hasModifier && (m === "BY" || m === "WITHOUT")) {
    p.next();
    without = m === "WITHOUT";
    const g = parseGroupingLabels(p);
    grouping = g.labels;
    end = g.end;
  }
  const pos = { start: opTok.pos, end };
  let param: Expr | null = null;
  let body: Expr | undefined = args[0];
  if (args.length === 0) {
    p.error(pos, "no arguments for aggregate expression provided");
  } else if (!p.experimentalFunctions && (op === "limitk" || op === "limit_ratio")) {
    p.error(pos, `${op}() is experimental and must be enabled with --enable-feature=promql-experimental-functions`);
  } else {
    const desired = PARAM_AGGREGATORS.has(op) ? 2 : 1;
    if (desired === 2) param = args[0];
    if (p.metricsql && desired === 1 && args.length > 1) {
      // MetricsQL: `max(0, x)` aggregates the union of its arguments.
      body = p.node(unionCall(args, { start: args[0].pos.start, end: args[args.length - 1].pos.end }), ...args);
    } else if (args.length !== desired) {
      p.error(
        pos,
        `wrong number of arguments for aggregate expression provided, expected ${desired}, got ${args.length}`,
      );
    } else {
      body = args[desired - 1];
    }
  }
  if (p.metricsql && body !== undefined && exprType(body) === "matrix") {
    // MetricsQL: a range vector where an instant one is expected reads as its last value in the range.
    body = p.node(lastValueCall(body), body);
  }
  const agg: AggregateExpr = {
    kind: "AggregateExpr",
    op,
    expr: body ?? placeholder(pos),
    param,
    grouping,
    without,
    pos,
  };
  return p.node(agg, ...args, agg.expr);
}
