import assert from "node:assert/strict";
import { test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { newMatcher } from "../../model/matcher.ts";
import { parseExpr, walk } from "../../promql/parser/index.ts";
import { ORG_LABEL } from "./backend-spec.ts";
import { scopeMatcherSet, scopeQuery, withoutOrgLabel } from "./org-scope.ts";

const ACME = { name: ORG_LABEL, value: "acme" };

// Every selector of `text` has exactly one matcher on the org label, and it names acme.
function assertConfined(text: string): void {
  let selectors = 0;
  walk(parseExpr(text, { metricsql: true }), (node) => {
    if (node.kind !== "VectorSelector") return;
    selectors++;
    const own = node.matchers.filter((m) => m.name === ORG_LABEL);
    assert.deepEqual(
      own.map((m) => `${m.type}${m.value}`),
      ["=acme"],
      text,
    );
  });
  assert.ok(selectors > 0, text);
}

test("every vector and matrix selector gets the org's matcher, at any depth and with any modifier", () => {
  const cases: [string, string][] = [
    ["up", 'up{contrail_org="acme"}'],
    ['{__name__=~".+"}', '{__name__=~".+",contrail_org="acme"}'],
    ["rate(http_requests_total[5m] offset 1h)", 'rate(http_requests_total{contrail_org="acme"}[5m] offset 1h)'],
    ["up @ 1700000000", 'up{contrail_org="acme"} @ 1700000000.000'],
    ["max_over_time(rate(x[1m])[10m:30s] @ end())", 'max_over_time(rate(x{contrail_org="acme"}[1m])[10m:30s] @ end())'],
    [
      'sum by (job) (a{job="x"}) / on (job) group_left b',
      'sum by (job) (a{contrail_org="acme",job="x"}) / on (job) group_left () b{contrail_org="acme"}',
    ],
    ['label_replace(up, "a", "$1", "job", "(.*)")', 'label_replace(up{contrail_org="acme"}, "a", "$1", "job", "(.*)")'],
    [
      "topk(scalar(count(up)), -(x offset 5m))",
      'topk(scalar(count(up{contrail_org="acme"})), -(x{contrail_org="acme"} offset 5m))',
    ],
    ["1 + 2", "1 + 2"],
  ];
  for (const [input, expected] of cases) {
    const out = scopeQuery(input, ACME);
    assert.equal(out, expected, input);
    if (input !== "1 + 2") assertConfined(out);
  }
});

test("MetricsQL forms are confined too", () => {
  for (const q of ["rate(x)", "sum(rate(x)[5m])", "topk_max(3, x)", "max(0, x)"]) {
    assertConfined(scopeQuery(q, ACME, { metricsql: true }));
  }
});

test("a selector naming the org label is refused, whatever the operator and wherever it sits", () => {
  for (const q of [
    'up{contrail_org="beta"}',
    'up{contrail_org=~".*"}',
    'up{contrail_org!="acme"}',
    'sum(rate(x{contrail_org=""}[5m]))',
    'max_over_time({__name__="x", contrail_org!~"acme"}[5m:1m])',
    '{"contrail_org"="beta"}',
  ]) {
    assert.throws(
      () => scopeQuery(q, ACME),
      (err) => isContrailError(err, "bad_data") && /may not name the label "contrail_org"/.test(err.message),
      q,
    );
  }
});

test("match[] selectors are confined, and refused when they name the label", () => {
  const set = [newMatcher("=", "__name__", "up"), newMatcher("=~", "job", "a|b")];
  assert.equal(scopeMatcherSet(set, ACME), '{__name__="up",job=~"a|b",contrail_org="acme"}');
  assert.equal(scopeMatcherSet([], ACME), '{contrail_org="acme"}');
  assert.equal(scopeMatcherSet(set, null), '{__name__="up",job=~"a|b"}');
  assert.throws(() => scopeMatcherSet([newMatcher("!=", ORG_LABEL, "x")], ACME), /may not name the label/);
});

test("an org value that needs quoting stays one matcher", () => {
  const odd = { name: ORG_LABEL, value: 'a"} or {b="' };
  const out = scopeQuery("up", odd);
  walk(parseExpr(out), (node) => {
    if (node.kind === "VectorSelector") {
      assert.deepEqual(
        node.matchers.filter((m) => m.name === ORG_LABEL).map((m) => m.value),
        [odd.value],
      );
    }
  });
});

test("the org label is removed from label sets, others are kept as they are", () => {
  assert.deepEqual(withoutOrgLabel({ __name__: "up", contrail_org: "acme", job: "x" }, ORG_LABEL), {
    __name__: "up",
    job: "x",
  });
  const plain = { job: "x" };
  assert.equal(withoutOrgLabel(plain, ORG_LABEL), plain);
});
