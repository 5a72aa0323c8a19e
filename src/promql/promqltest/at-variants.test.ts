import assert from "node:assert/strict";
import { test } from "node:test";
import { exprToString, parseExpr } from "../parser/index.ts";
import { atVariants, atVariantTimes, pinAtTime, usesAtUnsafeFunction } from "./at-variants.ts";

test("pinAtTime adds @ to selectors and outermost subqueries that lack one", () => {
  const cases: [string, string][] = [
    ["foo", "foo @ 100.000"],
    ['foo{a="b"}', 'foo{a="b"} @ 100.000'],
    ["rate(foo[5m])", "rate(foo[5m] @ 100.000)"],
    ["foo @ 50", "foo @ 50.000"],
    ["foo @ start()", "foo @ 100.000"],
    ["sum by (a) (foo) + bar offset 1m", "sum by (a) (foo @ 100.000) + bar @ 100.000 offset 1m"],
    ["max_over_time(rate(foo[1m])[5m:1m])", "max_over_time(rate(foo[1m])[5m:1m] @ 100.000)"],
    ["max_over_time(rate(foo[1m])[5m:1m] @ 20)", "max_over_time(rate(foo[1m])[5m:1m] @ 20.000)"],
    ["-foo", "-foo @ 100.000"],
    ["(foo)", "(foo @ 100.000)"],
    ["1 + 2", "1 + 2"],
    ['label_replace(foo, "a", "$1", "b", "(.*)")', 'label_replace(foo @ 100.000, "a", "$1", "b", "(.*)")'],
    ["topk(scalar(bar), foo)", "topk(scalar(bar @ 100.000), foo @ 100.000)"],
  ];
  for (const [input, want] of cases) {
    assert.equal(exprToString(pinAtTime(parseExpr(input), 100_000)), want, input);
  }
});

test("pinAtTime does not modify the tree it is given", () => {
  const expr = parseExpr("rate(foo[5m])");
  const before = exprToString(expr);
  pinAtTime(expr, 1000);
  assert.equal(exprToString(expr), before);
});

test("queries with at-modifier-unsafe functions outside subqueries get no variants", () => {
  const cases: [string, boolean][] = [
    ["time()", true],
    ["timestamp(foo)", true],
    ["predict_linear(foo[5m], 60)", true],
    ["hour(foo)", true],
    ["sum(foo) - day_of_week()", true],
    ["rate(foo[5m])", false],
    ["max_over_time(timestamp(foo)[5m:])", false],
  ];
  for (const [input, unsafe] of cases) {
    const expr = parseExpr(input);
    assert.equal(usesAtUnsafeFunction(expr), unsafe, input);
    assert.equal(atVariants(expr, 60_000, exprToString).length, unsafe ? 0 : 5, input);
  }
});

test("variant times: ×{-10, 0, 1/5, 1, 10}, or ±1s around time 0", () => {
  assert.deepEqual(atVariantTimes(50_000), [-500_000, 0, 10_000, 50_000, 500_000]);
  assert.deepEqual(atVariantTimes(1_001), [-10_010, 0, 200, 1_001, 10_010]);
  assert.deepEqual(atVariantTimes(0), [-1000, 0, 1000]);
  assert.deepEqual(
    atVariants(parseExpr("foo"), 0, exprToString).map((v) => [v.query, v.time]),
    [
      ["foo @ 0.000", -1000],
      ["foo @ 0.000", 0],
      ["foo @ 0.000", 1000],
    ],
  );
});
