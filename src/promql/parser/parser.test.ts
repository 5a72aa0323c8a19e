// The tree the parser builds, pinned as compact shapes: node kinds, operators and precedence, matchers, ranges,
// offsets, `@` times and modifiers. Times and durations in the tree are milliseconds; literals are seconds.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DurationExpr, Expr, VectorSelector } from "./ast.ts";
import { parseExpr, parseExprDetailed } from "./index.ts";

function dur(d: DurationExpr | null): string {
  return d === null ? "" : shape(d);
}

function selector(vs: VectorSelector): string {
  const ms = vs.matchers.map((m) => `${m.name}${m.type}${m.value}`).join(",");
  let s = `${vs.name}{${ms}}`;
  if (vs.originalOffset !== 0) s += ` off=${vs.originalOffset}`;
  if (vs.originalOffsetExpr !== null) s += ` off=${dur(vs.originalOffsetExpr)}`;
  if (vs.timestamp !== null) s += ` @${vs.timestamp}`;
  if (vs.startOrEnd !== null) s += ` @${vs.startOrEnd}`;
  if (vs.anchored) s += " anchored";
  if (vs.smoothed) s += " smoothed";
  return s;
}

/** A compact s-expression of a tree. */
function shape(e: Expr): string {
  switch (e.kind) {
    case "NumberLiteral":
      return e.duration ? `${e.value}s` : String(e.value);
    case "StringLiteral":
      return JSON.stringify(e.value);
    case "VectorSelector":
      return selector(e);
    case "MatrixSelector":
      return `${selector(e.vectorSelector)}[${e.rangeExpr ? dur(e.rangeExpr) : e.range}]`;
    case "SubqueryExpr": {
      let s = `(sq ${shape(e.expr)} ${e.rangeExpr ? dur(e.rangeExpr) : e.range}:${e.stepExpr ? dur(e.stepExpr) : e.step}`;
      if (e.originalOffset !== 0) s += ` off=${e.originalOffset}`;
      if (e.timestamp !== null) s += ` @${e.timestamp}`;
      if (e.startOrEnd !== null) s += ` @${e.startOrEnd}`;
      return `${s})`;
    }
    case "ParenExpr":
      return `(paren ${shape(e.expr)})`;
    case "UnaryExpr":
      return `(u${e.op} ${shape(e.expr)})`;
    case "BinaryExpr": {
      let op = e.op;
      if (e.returnBool) op += " bool";
      const m = e.matching;
      if (m !== null) {
        if (m.on || m.matchingLabels.length > 0) op += ` ${m.on ? "on" : "ignoring"}(${m.matchingLabels.join(",")})`;
        if (m.card !== "one-to-one") op += ` ${m.card}`;
        if (m.include.length > 0) op += `(${m.include.join(",")})`;
        if (m.fillValues.lhs !== null) op += ` fillL=${m.fillValues.lhs}`;
        if (m.fillValues.rhs !== null) op += ` fillR=${m.fillValues.rhs}`;
      } else {
        op += " nomatch";
      }
      return `(${op} ${shape(e.lhs)} ${shape(e.rhs)})`;
    }
    case "Call":
      return `(${e.func.name}${e.args.map((a) => ` ${shape(a)}`).join("")})`;
    case "AggregateExpr": {
      const g = e.without
        ? ` without(${e.grouping.join(",")})`
        : e.grouping.length > 0
          ? ` by(${e.grouping.join(",")})`
          : "";
      return `(${e.op}${g}${e.param ? ` ${shape(e.param)}` : ""} ${shape(e.expr)})`;
    }
    case "DurationExpr": {
      const parts = [e.lhs, e.rhs].filter((x) => x !== null).map((x) => shape(x));
      const s = `<${e.op}${parts.map((p) => ` ${p}`).join("")}>`;
      return e.wrapped ? `(${s})` : s;
    }
    case "StepInvariantExpr":
      return `(inv ${shape(e.expr)})`;
  }
}

const SHAPES: [string, string][] = [
  // Literals.
  ["1", "1"],
  ["0x1F", "31"],
  ["0755", "493"],
  ["1_000.5", "1000.5"],
  ["1e3", "1000"],
  [".5", "0.5"],
  ["-Inf", "-Infinity"],
  ["NaN", "NaN"],
  ["5m", "300s"],
  ["1h30m", "5400s"],
  ['"a\\tb"', '"a\\tb"'],
  ["'it''s'", "(ERR)"],
  ["`raw\\n`", '"raw\\\\n"'],
  ['"\\u263a"', '"☺"'],
  // Precedence and associativity.
  ["1 + 2 * 3", "(+ nomatch 1 (* nomatch 2 3))"],
  ["1 * 2 + 3", "(+ nomatch (* nomatch 1 2) 3)"],
  ["1 - 2 - 3", "(- nomatch (- nomatch 1 2) 3)"],
  ["2 ^ 3 ^ 2", "(^ nomatch 2 (^ nomatch 3 2))"],
  ["-1 ^ 2", "(u- (^ nomatch 1 2))"],
  ["-1 * 2", "(* nomatch -1 2)"],
  ["-a ^ b", "(u- (^ a{__name__=a} b{__name__=b}))"],
  [
    "a or b and c unless d",
    "(or many-to-many a{__name__=a} (unless many-to-many (and many-to-many b{__name__=b} c{__name__=c}) d{__name__=d}))",
  ],
  ["a == b > bool c", "(> bool (== a{__name__=a} b{__name__=b}) c{__name__=c})"],
  ["a atan2 b * c", "(* (atan2 a{__name__=a} b{__name__=b}) c{__name__=c})"],
  ["a </ 0.5", "(</ nomatch a{__name__=a} 0.5)"],
  ["--1", "1"],
  ["-(1)", "(u- (paren 1))"],
  ["+a", "(u+ a{__name__=a})"],
  // Vector matching.
  ["a + on(x, y) b", "(+ on(x,y) a{__name__=a} b{__name__=b})"],
  ["a + ignoring(x) group_left(z) b", "(+ ignoring(x) many-to-one(z) a{__name__=a} b{__name__=b})"],
  ["a / on() group_right b", "(/ on() one-to-many a{__name__=a} b{__name__=b})"],
  ["a and b", "(and many-to-many a{__name__=a} b{__name__=b})"],
  ["a + fill(0) b", "(+ fillL=0 fillR=0 a{__name__=a} b{__name__=b})"],
  ["a + fill_right(-1) fill_left(2) b", "(+ fillL=2 fillR=-1 a{__name__=a} b{__name__=b})"],
  ["fill + fill", "(+ fill{__name__=fill} fill{__name__=fill})"],
  // Selectors.
  ['foo{a="b", c!="d", e=~"f", g!~"h"}', "foo{a=b,c!=d,e=~f,g!~h,__name__=foo}"],
  ['{"my.metric"}', "{__name__=my.metric}"],
  ['{"a.b"="c", x="y"}', "{a.b=c,x=y}"],
  ["sum", "sum{__name__=sum}"],
  ["offset", "offset{__name__=offset}"],
  ["foo:bar", "foo:bar{__name__=foo:bar}"],
  ['{__name__=~"x.*"}', "{__name__=~x.*}"],
  // Ranges, subqueries, offsets, @.
  ["foo[5m]", "foo{__name__=foo}[300000]"],
  ["foo[5]", "foo{__name__=foo}[5000]"],
  ["foo[1.5]", "foo{__name__=foo}[1500]"],
  ["foo[1h30m]", "foo{__name__=foo}[5400000]"],
  ["foo offset 5m", "foo{__name__=foo} off=300000"],
  ["foo offset -7m", "foo{__name__=foo} off=-420000"],
  ["foo[5m] offset 1h", "foo{__name__=foo} off=3600000[300000]"],
  ["foo @ 10", "foo{__name__=foo} @10000"],
  ["foo @ -1.5", "foo{__name__=foo} @-1500"],
  ["foo @ 1m", "foo{__name__=foo} @60000"],
  ["foo @ start()", "foo{__name__=foo} @start"],
  ["foo[1m] @ end()", "foo{__name__=foo} @end[60000]"],
  ["foo offset 1m @ 5", "foo{__name__=foo} off=60000 @5000"],
  ["foo[10m:1m]", "(sq foo{__name__=foo} 600000:60000)"],
  ["foo[10m:]", "(sq foo{__name__=foo} 600000:0)"],
  ["rate(foo[5m])[1h:] offset 5m @ 100", "(sq (rate foo{__name__=foo}[300000]) 3600000:0 off=300000 @100000)"],
  ["a + b offset 5m", "(+ a{__name__=a} b{__name__=b} off=300000)"],
  ["-a offset 1m", "(u- a{__name__=a} off=60000)"],
  ["-a[5m:]", "(ERR)"],
  ["foo offset 5s-8", "(- nomatch foo{__name__=foo} off=5000 8)"],
  ["foo offset -1^1", "(^ nomatch foo{__name__=foo} off=-1000 1)"],
  ["foo anchored", "foo{__name__=foo} anchored"],
  ["foo[5m] smoothed", "foo{__name__=foo} smoothed[300000]"],
  // Duration expressions.
  ["foo[5m+step()]", "foo{__name__=foo}[<+ 300s <step>>]"],
  ["foo[-2^2]", "foo{__name__=foo}[<- <^ 2 2>>]"],
  ["foo[11s+10s-5*2^2]", "foo{__name__=foo}[<- <+ 11s 10s> <* 5 <^ 2 2>>>]"],
  ["foo[(5s)]", "foo{__name__=foo}[(<+ 5s>)]"],
  ["foo[max_of(range(), 5s)]", "foo{__name__=foo}[<max_of <range> 5s>]"],
  ["foo offset -min_of(5s, step())", "foo{__name__=foo} off=<- <min_of 5s <step>>>"],
  ["foo offset (5s) + 3", "foo{__name__=foo} off=<+ (<+ 5s>) 3>"],
  ["foo offset -(5s) + 3", "(+ nomatch foo{__name__=foo} off=<- (<+ 5s>)> 3)"],
  ["foo[4s+4s:1s*2]", "(sq foo{__name__=foo} <+ 4s 4s>:<* 1s 2>)"],
  // Calls and aggregations.
  ["rate(foo[5m])", "(rate foo{__name__=foo}[300000])"],
  ["round(x, 5)", "(round x{__name__=x} 5)"],
  ["time()", "(time)"],
  ["start()", "(start)"],
  ['label_join(x, "d", ",", "a", "b")', '(label_join x{__name__=x} "d" "," "a" "b")'],
  ["sum by (job) (x)", "(sum by(job) x{__name__=x})"],
  ["sum(x) by (job)", "(sum by(job) x{__name__=x})"],
  ["sum without (a, b) (x)", "(sum without(a,b) x{__name__=x})"],
  ["sum by () (x)", "(sum x{__name__=x})"],
  ['count by ("a.b", offset) (x)', "(count by(a.b,offset) x{__name__=x})"],
  ["topk(5, x)", "(topk 5 x{__name__=x})"],
  ['count_values("v", x)', '(count_values "v" x{__name__=x})'],
  ["quantile(0.9, x)", "(quantile 0.9 x{__name__=x})"],
  ["limitk(2, x)", "(limitk 2 x{__name__=x})"],
  ["sum(sum)", "(sum sum{__name__=sum})"],
  ['info(x, {a="b"})', "(info x{__name__=x} {a=b})"],
];

describe("parser: tree shapes", () => {
  for (const [input, want] of SHAPES) {
    test(input, () => {
      const r = parseExprDetailed(input);
      assert.equal(r.ok ? shape(r.expr) : "(ERR)", want);
    });
  }

  test("number literals keep the scalar value; unary minus folds into them", () => {
    const e = parseExpr("-5m");
    assert.equal(e.kind, "NumberLiteral");
    assert.deepEqual(e.kind === "NumberLiteral" && [e.value, e.duration, e.pos], [-300, true, { start: 0, end: 3 }]);
  });

  test("positions are byte ranges", () => {
    const e = parseExpr('sum(rate(x{a="é"}[5m])) by (job)');
    assert.deepEqual(e.pos, { start: 0, end: 33 });
    assert.equal(e.kind, "AggregateExpr");
    if (e.kind === "AggregateExpr") assert.deepEqual(e.expr.pos, { start: 4, end: 23 });
  });

  test("info()'s label selector argument skips the empty-matcher rule", () => {
    const e = parseExpr('info(x, {a=~".*"})');
    assert.ok(e.kind === "Call" && e.args[1].kind === "VectorSelector" && e.args[1].bypassEmptyMatcherCheck);
  });

  test("matching is null unless both sides are instant vectors", () => {
    const e = parseExpr("x + 1");
    assert.ok(e.kind === "BinaryExpr" && e.matching === null);
  });
});

describe("parser: options and limits", () => {
  const errorOf = (input: string, opts = {}) => {
    const r = parseExprDetailed(input, opts);
    return r.ok ? "" : r.errors[0].msg;
  };

  test("feature flags", () => {
    assert.equal(
      errorOf('sort_by_label(x, "a")', { experimentalFunctions: false }),
      'function "sort_by_label" is not enabled',
    );
    assert.equal(
      errorOf("limitk(1, x)", { experimentalFunctions: false }),
      "limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
    );
    assert.equal(
      errorOf("x[5m+1m]", { durationExpressions: false }),
      "experimental duration expression is not enabled",
    );
    assert.equal(
      errorOf("x anchored", { extendedRangeSelectors: false }),
      "anchored modifier is experimental and not enabled",
    );
    assert.equal(
      errorOf("x + fill(1) y", { binopFillModifiers: false }),
      "binop fill modifiers are experimental and not enabled",
    );
  });

  test("maxLength and maxDepth fail cleanly", () => {
    assert.equal(errorOf("x + y", { maxLength: 3 }), "query length 5 exceeds the maximum of 3 bytes");
    assert.equal(
      errorOf(`${"(".repeat(5000)}1${")".repeat(5000)}`),
      "expression nesting depth exceeds the maximum of 1000",
    );
    assert.equal(errorOf(Array(2000).fill("x").join(" + ")), "expression nesting depth exceeds the maximum of 1000");
    assert.equal(
      errorOf(`${"(".repeat(20)}1${")".repeat(20)}`, { maxDepth: 10 }),
      "expression nesting depth exceeds the maximum of 10",
    );
    assert.equal(errorOf(`${"(".repeat(900)}1${")".repeat(900)}`), "");
  });

  test("semantic errors use Prometheus's wording", () => {
    const cases: [string, string][] = [
      ["rate(x)", 'expected type range vector in call to function "rate", got instant vector'],
      ["x offset 1m offset 1m", "offset may not be set multiple times"],
      ["x @ 1 @ 2", "@ <timestamp> may not be set multiple times"],
      ["x anchored smoothed", "anchored and smoothed modifiers cannot be used together"],
      ["x[1m:] anchored", "anchored modifier is not supported for subqueries"],
      ["sum by ('') (x)", 'invalid label name for grouping: ""'],
      ["a + on(x) group_left(x) b", 'label "x" must not occur in ON and GROUP clause at once'],
      ["a and fill(1) b", "filling in missing series not allowed for set operators"],
      ["1 + fill(1) a", "filling in missing series only allowed between instant vectors"],
      ['histogram_quantiles(x, "q")', 'expected at least 3 argument(s) in call to "histogram_quantiles", got 2'],
      ['foo{a=~"("}', "error parsing regexp: "],
    ];
    for (const [input, msg] of cases) {
      const got = errorOf(input);
      assert.ok(msg.endsWith(": ") ? got.startsWith(msg) : got === msg, `${input}: ${got}`);
    }
  });
});
