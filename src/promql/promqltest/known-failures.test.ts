import assert from "node:assert/strict";
import { test } from "node:test";
import { checkKnownFailures, formatKnownFailures, parseKnownFailures, updateKnownFailures } from "./known-failures.ts";
import type { FileResult } from "./report.ts";

const results: FileResult[] = [
  {
    file: "a.test",
    evals: [
      { line: 3, query: "rate(foo[5m])", status: "failed", detail: ["expected 1 for {} but got 2", "expected: {} 1"] },
      { line: 7, query: "foo", status: "passed", detail: [] },
      { line: 9, query: "bar", status: "failed", detail: ["new failure"] },
      { line: 12, query: "hist", status: "skipped", detail: ["native histogram in the expected result"] },
    ],
    problems: [{ line: 1, kind: "load", message: "load failed: out of order sample" }],
  },
];

test("the list round-trips through its text form", () => {
  const text = [
    "# comment",
    "",
    "a.test:3  rate(foo[5m]) — engine: rate extrapolation",
    "b.test:10  x — y — z",
    "not an entry",
    "a.test:7  foo",
  ].join("\n");
  const { entries, invalid } = parseKnownFailures(text);
  assert.deepEqual(invalid, [5]);
  assert.deepEqual(entries.get("a.test:3"), {
    file: "a.test",
    line: 3,
    query: "rate(foo[5m])",
    reason: "engine: rate extrapolation",
  });
  assert.equal(entries.get("b.test:10")?.reason, "y — z");
  assert.equal(entries.get("a.test:7")?.reason, "");
  const again = parseKnownFailures(formatKnownFailures(entries.values())).entries;
  assert.deepEqual(
    [...again.values()],
    [...entries.values()].sort((x, y) => x.file.localeCompare(y.file) || x.line - y.line),
  );
});

test("a run fails only on unlisted failures and reports listed evals that pass", () => {
  const { entries } = parseKnownFailures(
    [
      "a.test:3  rate(foo[5m]) — known",
      "a.test:7  foo — fixed since",
      "a.test:9  baz — same line, other query",
      "a.test:1  <load> — out of order",
    ].join("\n"),
  );
  const check = checkKnownFailures(results, entries);
  assert.deepEqual(
    check.regressions.map((r) => `${r.file}:${r.line} ${r.query}`),
    ["a.test:9 bar"],
  );
  assert.deepEqual(check.nowPassing, [{ file: "a.test", line: 7, query: "foo" }]);
});

test("rewriting keeps old reasons, adds new failures, drops fixed ones, keeps other files", () => {
  const { entries } = parseKnownFailures(
    ["a.test:3  rate(foo[5m]) — known reason", "a.test:7  foo — fixed since", "z.test:1  q — other file"].join("\n"),
  );
  const updated = updateKnownFailures(results, entries);
  assert.deepEqual(updated.map((e) => `${e.file}:${e.line} ${e.query} | ${e.reason}`).sort(), [
    "a.test:1 <load> | load failed: out of order sample",
    "a.test:3 rate(foo[5m]) | known reason",
    "a.test:9 bar | new failure",
    "z.test:1 q | other file",
  ]);
});
