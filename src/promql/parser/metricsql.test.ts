// MetricsQL forms: accepted only with the metricsql option and only where PromQL rejects the query; PromQL queries
// (Prometheus's own parse table included) parse to the same tree and fail with the same errors either way.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sharedData } from "../../testkit/shared-data.ts";
import { exprToString, parseExpr, parseExprDetailed, prettyPrint, walk } from "./index.ts";
import { METRICSQL_FUNCTIONS, RANK_STATISTICS } from "./metricsql.ts";

const MQL = { metricsql: true } as const;

// A parse result as data (matchers hold compiled regexps and closures, which deepEqual would compare by reference).
function asData(r: unknown): unknown {
  return JSON.parse(JSON.stringify(r));
}

/** MetricsQL queries with their canonical print on the MetricsQL reading. */
const FORMS: readonly [string, string][] = [
  ["rate(requests)", "rate(requests)"],
  ['sum(increase(requests{app="web"})) by (le)', 'sum by (le) (increase(requests{app="web"}))'],
  ["irate(requests offset 1m)", "irate(requests offset 1m)"],
  ["max_over_time(load) / count(cpu)", "max_over_time(load) / count(cpu)"],
  ["quantile_over_time(0.9, load)", "quantile_over_time(0.9, load)"],
  [
    'histogram_quantiles("p", 0.5, 0.99, sum(rate(h_bucket[5m])) by (le))',
    'histogram_quantiles(sum by (le) (rate(h_bucket[5m])), "p", 0.5, 0.99)',
  ],
  ['topk_avg(5, sum(rate(x)) by (region), "region=other")', 'topk_avg(5, sum by (region) (rate(x)), "region=other")'],
  ["bottomk_last(2, x)", "bottomk_last(2, x)"],
  ["mode(x)", "mode(x)"],
  ["mode(x) by (a, b)", "mode(x) by (a, b)"],
  ['topk_avg(3, x, "l=o") without (c)', 'topk_avg(3, x, "l=o") without (c)'],
  ['label_uppercase(x, "region", "app")', 'label_uppercase(x, "region", "app")'],
  ['label_lowercase(x, "region")', 'label_lowercase(x, "region")'],
  ["max(0, x - y)", "max(union(0, x - y))"],
  ["union(x, y)", "union(x, y)"],
  ["sum(rate(x)[5m]) by (status)", "sum by (status) (default_rollup(rate(x)[5m]))"],
  ["max(x[5m])", "max(default_rollup(x[5m]))"],
  ["default_rollup(x)", "default_rollup(x)"],
];

describe("MetricsQL parsing", () => {
  test("every form parses on the MetricsQL reading, prints canonically and reads back the same", () => {
    for (const [q, printed] of FORMS) {
      const out = exprToString(parseExpr(q, MQL));
      assert.equal(out, printed, q);
      assert.equal(exprToString(parseExpr(out, MQL)), printed, `reprint of ${q}`);
    }
  });

  test("prettified over several lines, every form reads back to the same tree", () => {
    for (const [q, printed] of FORMS) {
      const long = q.replace(/\bx\b/g, "a_metric_with_a_name_long_enough_to_need_several_lines_when_prettified");
      const pretty = prettyPrint(parseExpr(long, MQL), { maxLineLength: 40 });
      assert.equal(exprToString(parseExpr(pretty, MQL)), exprToString(parseExpr(long, MQL)), printed);
    }
  });

  test("without the option every form keeps PromQL's error", () => {
    for (const [q] of FORMS) {
      if (q.startsWith("union") || q.startsWith("mode")) continue; // valid PromQL names cannot be told apart here
      assert.equal(parseExprDetailed(q).ok, false, q);
    }
  });

  test("the table names every topk_ and bottomk_ variant and each has a working shape", () => {
    for (const s of RANK_STATISTICS) {
      for (const f of [`topk_${s}`, `bottomk_${s}`]) {
        assert.ok(METRICSQL_FUNCTIONS.has(f), f);
        assert.ok(parseExprDetailed(`${f}(3, x)`, MQL).ok, f);
        assert.ok(parseExprDetailed(`${f}(3, x, "l=other")`, MQL).ok, f);
        assert.equal(parseExprDetailed(`${f}(x)`, MQL).ok, false, f);
      }
    }
    for (const name of METRICSQL_FUNCTIONS.keys()) assert.equal(parseExprDetailed(`${name}(`, MQL).ok, false);
  });

  test("an implicit window is marked in the tree and only on instant vector selectors", () => {
    const e = parseExpr("rate(x)", MQL);
    let marked = 0;
    walk(e, (n) => {
      if (n.kind === "MatrixSelector" && n.implicitWindow === true) marked++;
    });
    assert.equal(marked, 1);
    assert.equal(parseExprDetailed("rate(sum(x))", MQL).ok, false);
    assert.equal(parseExprDetailed("rate(1)", MQL).ok, false);
  });

  test("a query that is valid PromQL parses to the same tree with the option", () => {
    for (const q of [
      "rate(x[5m])",
      'histogram_quantiles(h, "q", 0.5)',
      "max(x)",
      'sort_by_label(x, "a")',
      "topk(3, x)",
      "x[5m:]",
    ]) {
      assert.deepEqual(asData(parseExpr(q, MQL)), asData(parseExpr(q)), q);
    }
  });

  test("a query that neither reading accepts reports PromQL's errors", () => {
    for (const q of ["rate(x", "foo_bar(x)", "topk_avg(x)", "rate(x) +", "max(0, x) by", "rate(sum(x))"]) {
      const strict = parseExprDetailed(q);
      const both = parseExprDetailed(q, MQL);
      assert.equal(both.ok, false, q);
      assert.deepEqual(asData(both), asData(strict), q);
    }
  });

  const tables = sharedData("promql-parser-cases");
  test("Prometheus's parse cases: same tree when PromQL accepts, same errors when both reject", {
    skip: tables.skip,
  }, () => {
    const cases = tables.json<{ cases: { input: string; input_hex?: string }[] }>("parse_test_cases.json").cases;
    let accepted = 0;
    for (const c of cases) {
      const input = c.input_hex !== undefined ? Buffer.from(c.input_hex, "hex") : c.input;
      const strict = parseExprDetailed(input);
      const both = parseExprDetailed(input, MQL);
      if (strict.ok) assert.deepEqual(asData(both), asData(strict), c.input);
      else if (both.ok) accepted++;
      else assert.deepEqual(both.errors, strict.errors, c.input);
    }
    // The table's MetricsQL-readable failures: range functions over instant selectors and multi-argument sums.
    assert.ok(accepted < 20, `MetricsQL reading accepts ${accepted} of Prometheus's failing cases`);
  });
});
