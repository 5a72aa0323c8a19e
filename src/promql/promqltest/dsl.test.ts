import assert from "node:assert/strict";
import { test } from "node:test";
import { type Command, type EvalCommand, type LoadCommand, parseTestFile, splitLines } from "./dsl.ts";

function evals(cmds: readonly Command[]): EvalCommand[] {
  return cmds.filter((c): c is EvalCommand => c.kind === "eval");
}

function only<T>(xs: readonly T[]): T {
  assert.equal(xs.length, 1);
  return xs[0];
}

test("splitLines trims lines and blanks comments", () => {
  assert.deepEqual(splitLines("  load 5m\n\t# note\n  foo 1 \n"), ["load 5m", "", "foo 1", ""]);
});

test("commands carry their 1-based lines; comments end blocks", () => {
  const file = parseTestFile(
    [
      "# header",
      "load 5m",
      '  http_requests{job="api"} 0+10x10',
      "  up 1 _ stale",
      "",
      "eval instant at 50m http_requests",
      '  http_requests{job="api"} 100',
      "# the next eval expects nothing",
      "eval instant at 50m nothing",
      "",
      "clear",
      "eval range from 0 to 10m step 5m up",
      "  up 1 _ _",
    ].join("\n"),
  );
  assert.deepEqual(file.errors, []);
  assert.deepEqual(
    file.commands.map((c) => [c.kind, c.line]),
    [
      ["load", 2],
      ["eval", 6],
      ["eval", 9],
      ["clear", 11],
      ["eval", 12],
    ],
  );
  const load = file.commands[0] as LoadCommand;
  assert.equal(load.interval, 300_000);
  assert.equal(load.withNhcb, false);
  assert.equal(load.series.length, 2);
  assert.equal(load.series[0].values.length, 11);
  assert.equal(load.series[1].line, 4);
  const [inst, empty, range] = evals(file.commands);
  assert.equal(inst.query, "http_requests");
  assert.equal(inst.time, 3_000_000);
  assert.equal(inst.range, null);
  assert.equal(inst.expected.kind, "series");
  if (inst.expected.kind === "series") assert.equal(inst.expected.series.size, 1);
  assert.equal(empty.expected.kind === "series" && empty.expected.series.size, 0);
  assert.deepEqual(range.range, { start: 0, end: 600_000, step: 300_000 });
});

test("expect lines, scalars, strings and range vectors", () => {
  const file = parseTestFile(
    [
      "eval instant at 1m rate(foo[5m])",
      "  expect no_warn",
      "  expect info msg: PromQL info: metric might not be a counter (1:6)",
      '  expect info regex: "foo" \\(\\d+:\\d+\\)',
      "  {} 1",
      "",
      "eval instant at 0 1 + 1",
      "  expect ordered",
      "  0x10",
      "",
      'eval instant at 50m ("Foo")',
      "\texpect string `Foo`",
      "",
      "eval instant at 1m foo[1m]",
      "  expect range vector from 10s to 1m step 10s",
      "  foo 1 2 3 4 5 6",
      "",
      "eval instant at 0 bad_query",
      "  expect fail msg: some error",
    ].join("\n"),
  );
  assert.deepEqual(file.errors, []);
  const [rate, scalar, str, rv, fail] = evals(file.commands);
  assert.equal(rate.noWarn, true);
  assert.deepEqual(rate.info[0], { kind: "msg", text: "PromQL info: metric might not be a counter (1:6)" });
  assert.equal(rate.info[1].kind, "regex");
  assert.ok(rate.info[1].kind === "regex" && rate.info[1].re.test('"foo" (1:6)'));
  assert.deepEqual(scalar.expected, { kind: "scalar", value: 16 });
  assert.equal(scalar.expectOrdered, true);
  assert.equal(str.expectedString, "Foo");
  assert.equal(str.excludeFromRangeQuery, true);
  assert.deepEqual(rv.rangeVector, { start: 10_000, end: 60_000, step: 10_000 });
  assert.equal(rv.time, 60_000);
  assert.equal(rv.excludeFromRangeQuery, true);
  assert.deepEqual(fail.expectFail, { kind: "msg", text: "some error" });
});

test("ordered positions skip expect lines, as the reference runner counts them", () => {
  const ev = only(
    evals(
      parseTestFile(
        ["eval instant at 0 sort(x)", "  expect ordered", '  x{a="1"} 1', "  expect no_info", '  x{a="2"} 2'].join(
          "\n",
        ),
      ).commands,
    ),
  );
  assert.equal(ev.expected.kind, "series");
  if (ev.expected.kind !== "series") return;
  assert.deepEqual(
    [...ev.expected.series.values()].map((s) => [s.labels.get("a"), s.pos]),
    [
      ["1", 1],
      ["2", 2],
    ],
  );
});

test("deprecated eval_* forms", () => {
  const file = parseTestFile(
    [
      "eval_fail instant at 0 a",
      "  expected_fail_message exact text",
      "",
      "eval_fail instant at 0 b",
      "  expected_fail_regexp conflict.*label",
      "",
      "eval_ordered instant at 0 c",
      "",
      "eval_warn range from 0 to 1m step 1m d",
      "",
      "eval_info instant at 0 e",
    ].join("\n"),
  );
  assert.deepEqual(file.errors, []);
  const [a, b, c, d, e] = evals(file.commands);
  assert.equal(a.legacy, "fail");
  assert.equal(a.failMessage, "exact text");
  assert.ok(b.failRegexp?.test("conflicting label"));
  assert.equal(c.legacy, "ordered");
  assert.equal(d.legacy, "warn");
  assert.notEqual(d.range, null);
  assert.equal(e.legacy, "info");
});

test("syntax errors are reported with their line and do not lose evals", () => {
  const file = parseTestFile(
    [
      "load 1m",
      "  foo 1 2",
      "",
      "bogus command",
      "",
      "eval instant at 0 foo",
      "  expect sometimes",
      "",
      "eval instant at 0 foo",
      "  foo 1 2",
      "",
      "eval range from 10m to 0 step 1m foo",
      "",
      "eval instant at 0 foo",
      "  expect warn",
      "  expect no_warn",
      "",
      "eval instant at 0 foo",
      "  expect fail",
      "  expect fail",
      "",
      "eval sometime foo",
      "",
      "eval instant at 0 foo",
      "  foo 1",
    ].join("\n"),
  );
  assert.deepEqual(
    file.errors.map((e) => e.line),
    [4],
  );
  assert.match(file.errors[0].message, /invalid command "bogus command"/);
  const es = evals(file.commands);
  assert.equal(es.length, 7);
  const errs = es.map((e) => e.syntaxError);
  assert.match(errs[0] ?? "", /invalid expect statement/);
  assert.match(errs[1] ?? "", /expecting multiple values in instant evaluation not allowed/);
  assert.match(errs[2] ?? "", /end timestamp \(0\) is before start timestamp \(10m\)/);
  assert.match(errs[3] ?? "", /warn and no_warn cannot be used together/);
  assert.match(errs[4] ?? "", /multiple expect fail lines/);
  assert.match(errs[5] ?? "", /invalid evaluation command/);
  assert.equal(errs[6], null);
});

test("load blocks: same series twice keeps the last, @st lines attach offsets, histograms are flagged", () => {
  const file = parseTestFile(
    [
      "load_with_nhcb 1m",
      "  foo 1 2",
      "  foo{} 3 4 5",
      "  bar@st -1m _ 0s+10sx1",
      "  bar 1 2 3 4",
      "  hist {{schema:0 sum:1 count:1}}x2",
      "",
      "load 1m",
      "  baz@st 1s",
      "  qux 1",
    ].join("\n"),
  );
  assert.equal(file.errors.length, 1);
  assert.equal(file.errors[0].line, 9);
  assert.match(file.errors[0].message, /@st metric does not match/);
  const load = file.commands[0] as LoadCommand;
  assert.equal(load.withNhcb, true);
  assert.deepEqual(
    load.series.map((s) => [s.labels.metricName(), s.values.length, s.hasHistograms]),
    [
      ["foo", 3, false],
      ["bar", 4, false],
      ["hist", 3, true],
    ],
  );
  assert.deepEqual(load.series[1].startOffsets, [-60_000, null, 0, 10_000]);
});
