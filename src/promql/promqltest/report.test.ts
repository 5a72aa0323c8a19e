import assert from "node:assert/strict";
import { test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { emptyEval } from "./dsl.ts";
import { type FileResult, formatFileResult, renderExpected, renderValue, truncateLines } from "./report.ts";

const result: FileResult = {
  file: "a.test",
  evals: [
    {
      line: 3,
      query: "q1",
      status: "failed",
      detail: ["reason one", ...Array.from({ length: 20 }, (_, i) => `d${i}`)],
    },
    { line: 5, query: "q2", status: "failed", detail: ["reason two"] },
    { line: 7, query: "q3", status: "passed", detail: [] },
    { line: 9, query: "q4", status: "skipped", detail: ["native histogram in the expected result"] },
  ],
  problems: [],
};

test("file report: summary line, new failures in short form, known ones counted", () => {
  const lines = formatFileResult(result, { verbose: false, isNew: (e) => e.line === 3 });
  assert.equal(lines[0], "a.test: 1 passed, 2 failed, 1 skipped (1 known failures)");
  assert.equal(lines[1], "  FAIL a.test:3  q1");
  assert.equal(lines[2], "      reason one");
  assert.equal(lines.length, 2 + 10);
  assert.equal(lines.at(-1), "      … 12 more");
});

test("verbose file report lists every eval and failures in full", () => {
  const lines = formatFileResult(result, { verbose: true, isNew: () => true });
  assert.ok(lines.includes("  FAIL a.test:5  q2"));
  assert.ok(lines.includes("      d19"));
  assert.ok(lines.includes("  ok a.test:7  q3"));
  assert.ok(lines.includes("  skip a.test:9  q4 (native histogram in the expected result)"));
});

test("renderers use the DSL notation", () => {
  const ev = emptyEval(1, "x");
  assert.deepEqual(renderExpected(ev), ["(empty result)"]);
  ev.expected = { kind: "scalar", value: 0.5 };
  assert.deepEqual(renderExpected(ev), ["scalar 0.5"]);
  const l = Labels.fromStrings("__name__", "up", "job", "a");
  assert.deepEqual(renderValue({ type: "vector", samples: [{ labels: l, t: 0, v: 1e21 }] }), ['up{job="a"} 1e+21']);
  assert.deepEqual(
    renderValue({ type: "matrix", series: [{ labels: l, t: Float64Array.of(0, 60_000), v: Float64Array.of(1, 2) }] }),
    ['up{job="a"} 1@0s 2@60s'],
  );
  assert.deepEqual(truncateLines(["a", "b", "c"], 2), ["a", "b", "… 1 more"]);
});
