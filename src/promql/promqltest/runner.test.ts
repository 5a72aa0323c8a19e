import assert from "node:assert/strict";
import { test } from "node:test";
import { ContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import type { QueryResult, QueryValue } from "../engine/index.ts";
import { type QueryEngine, TestRunner } from "./runner.ts";

type Responder = (
  call: { kind: "instant"; query: string; time: number } | { kind: "range"; query: string; start: number; end: number },
) => QueryValue | Error;

// An engine stand-in that records every query and answers through `respond`.
class FakeEngine implements QueryEngine {
  readonly calls: string[] = [];
  private readonly respond: Responder;

  constructor(respond: Responder) {
    this.respond = respond;
  }

  private result(v: QueryValue | Error): QueryResult {
    if (v instanceof Error) throw v;
    return { value: v, warnings: [], infos: [], stats: { samplesLoaded: 0, peakSamples: 0 } };
  }

  async instantQuery(_q: unknown, query: string, time: number): Promise<QueryResult> {
    this.calls.push(`instant ${query} at ${time}`);
    return this.result(this.respond({ kind: "instant", query, time }));
  }

  async rangeQuery(_q: unknown, query: string, r: { start: number; end: number; step: number }): Promise<QueryResult> {
    this.calls.push(`range ${query} ${r.start}..${r.end} step ${r.step}`);
    return this.result(this.respond({ kind: "range", query, start: r.start, end: r.end }));
  }
}

const foo = Labels.fromStrings("__name__", "foo");

// Answers `foo 1` at any time, in both modes; the range answer has a point at each of its three steps.
function constant(value = 1): Responder {
  return (c) =>
    c.kind === "instant"
      ? { type: "vector", samples: [{ labels: foo, t: c.time, v: value }] }
      : {
          type: "matrix",
          series: [
            {
              labels: foo,
              t: Float64Array.from([c.start, c.start + 60_000, c.end]),
              v: Float64Array.of(value, value, value),
            },
          ],
        };
}

const FILE = ["load 1m", "  foo 1", "", "eval instant at 50s foo", "  foo 1", ""].join("\n");

test("an instant eval runs the query, its @ variants, and each in range mode", async () => {
  const engine = new FakeEngine(constant());
  const result = await new TestRunner({ engine }).runFile("x.test", FILE);
  assert.deepEqual(
    result.evals.map((e) => [e.line, e.status]),
    [[4, "passed"]],
  );
  const variant = (t: number) => [
    `instant foo @ 50.000 at ${t}`,
    `range foo @ 50.000 ${t - 60_000}..${t + 60_000} step 60000`,
  ];
  assert.deepEqual(engine.calls, [
    "instant foo at 50000",
    "range foo -10000..110000 step 60000",
    ...variant(-500_000),
    ...variant(0),
    ...variant(10_000),
    ...variant(50_000),
    ...variant(500_000),
  ]);
});

test("a difference in an @ variant or in range mode fails the eval and says where", async () => {
  const atVariant = new FakeEngine((c) =>
    c.kind === "instant" && c.time === -500_000 ? { type: "vector", samples: [] } : constant()(c),
  );
  let r = await new TestRunner({ engine: atVariant }).runFile("x.test", FILE);
  assert.equal(r.evals[0].status, "failed");
  assert.match(r.evals[0].detail[0], /^\[@ variant at -500s: foo @ 50\.000\] expected metric .* not found$/);
  assert.ok(r.evals[0].detail.includes("expected: foo 1"));
  assert.ok(r.evals[0].detail.includes("got:      (empty vector)"));

  const rangeMode = new FakeEngine((c) => (c.kind === "range" ? constant(2)(c) : constant()(c)));
  r = await new TestRunner({ engine: rangeMode }).runFile("x.test", FILE);
  assert.match(r.evals[0].detail[0], /^\[range mode\] expected 1 for .* but got 2$/);
});

test("time-dependent functions get no @ variants; range()/step() queries no range-mode run", async () => {
  const scalar: Responder = (c) =>
    c.kind === "instant"
      ? { type: "scalar", t: c.time, v: 50 }
      : {
          type: "matrix",
          series: [{ labels: Labels.EMPTY, t: Float64Array.of(c.start + 60_000), v: Float64Array.of(50) }],
        };
  const engine = new FakeEngine(scalar);
  const r = await new TestRunner({ engine }).runFile("x.test", "eval instant at 50s time()\n  50\n");
  assert.equal(r.evals[0].status, "passed");
  assert.deepEqual(engine.calls, ["instant time() at 50000", "range time() -10000..110000 step 60000"]);

  const e2 = new FakeEngine(scalar);
  await new TestRunner({ engine: e2 }).runFile("x.test", "eval instant at 50s step()\n  50\n");
  assert.deepEqual(e2.calls, ["instant step() at 50000"]);
});

test("expected failures: engine errors match, crashes and successes do not", async () => {
  const file = "eval instant at 0 foo\n  expect fail msg: boom\n";
  const failing = new FakeEngine(() => new ContrailError("execution", "boom"));
  let r = await new TestRunner({ engine: failing }).runFile("x.test", file);
  assert.equal(r.evals[0].status, "passed");
  // The original query and its three @ variants (evaluation at time 0) all had to fail.
  assert.equal(failing.calls.length, 4);

  r = await new TestRunner({ engine: new FakeEngine(() => new TypeError("x is undefined")) }).runFile("x.test", file);
  assert.equal(r.evals[0].status, "failed");
  assert.match(r.evals[0].detail[0], /engine threw TypeError: x is undefined/);
  assert.ok(r.evals[0].detail[1].startsWith("at "), "a crash reports where it happened");

  r = await new TestRunner({ engine: new FakeEngine(constant()) }).runFile("x.test", file);
  assert.match(r.evals[0].detail[0], /expected error evaluating query but got none/);
});

test("histogram loads and expectations run against the engine; syntax errors count as failures", async () => {
  const r = await new TestRunner().runFile(
    "x.test",
    [
      "load 1m",
      "  foo 1",
      "  hist {{schema:0 sum:1 count:1 buckets:[1]}}+{{schema:0 sum:1 count:1 buckets:[1]}}x1",
      "",
      "eval instant at 1m hist",
      "  hist {{schema:0 sum:2 count:2 buckets:[2]}}",
      "",
      "eval instant at 1m hist",
      "  hist {{schema:0 sum:2 count:3 buckets:[2]}}",
      "",
      "eval instant at 0 foo",
      "  expect bogus",
      "",
      "nonsense",
    ].join("\n"),
  );
  assert.deepEqual(
    r.evals.map((e) => [e.line, e.status, e.detail[0]]),
    [
      [5, "passed", undefined],
      [
        8,
        "failed",
        'expected {{schema:0 sum:2 count:3 buckets:[2]}} for {__name__="hist"} but got {{count:2 sum:2 counter_reset_hint:not_reset buckets:[2]}}',
      ],
      [
        11,
        "failed",
        "syntax error: invalid expect statement, must match `expect <type> <match_type>: <string>` format",
      ],
    ],
  );
  assert.deepEqual(r.problems, [{ line: 14, kind: "syntax", message: 'syntax error: invalid command "nonsense"' }]);
});

test("the real engine and memory store pass a small float file", async () => {
  const r = await new TestRunner().runFile(
    "x.test",
    [
      "load 1m",
      '  http_requests{job="api"} 0+10x10',
      '  http_requests{job="db"} 0+20x10',
      "",
      "eval instant at 5m sum(http_requests)",
      "  {} 150",
      "",
      "eval range from 0 to 2m step 1m http_requests",
      '  http_requests{job="api"} 0 10 20',
      '  http_requests{job="db"} 0 20 40',
      "",
      'eval instant at 5m http_requests{job="api"} + 1',
      '  {job="api"} 51',
      "",
      "eval instant at 5m http_requests",
      '  http_requests{job="api"} 999',
      '  http_requests{job="db"} 100',
    ].join("\n"),
  );
  assert.deepEqual(
    r.evals.map((e) => [e.line, e.status]),
    [
      [5, "passed"],
      [8, "passed"],
      [12, "passed"],
      [15, "failed"],
    ],
  );
  assert.match(r.evals[3].detail[0], /^expected 999 for \{__name__="http_requests", job="api"\} but got 50$/);
});

test("a load whose samples the store rejects is a load problem at its line; the rest of it is loaded", async () => {
  const r = await new TestRunner().runFile(
    "x.test",
    ["load 1m", "  foo 1 2", "", "load 1m", "  foo 5 6", "  bar 7", "", "eval instant at 1m bar", "  bar 7"].join("\n"),
  );
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0].line, 4);
  assert.equal(r.problems[0].kind, "load");
  assert.match(
    r.problems[0].message,
    /^load failed: 2 of 3 samples rejected \(1 out of order, 1 duplicate, 0 out of bounds\); first: sample at 0 for \{__name__="foo"\}/,
  );
  assert.deepEqual(
    r.evals.map((e) => [e.line, e.status]),
    [[8, "passed"]],
  );
});
