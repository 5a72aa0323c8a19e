import assert from "node:assert/strict";
import { test } from "node:test";
import { Labels } from "../../model/labels.ts";
import type { QueryValue } from "../engine/index.ts";
import type { SeriesValue } from "../parser/index.ts";
import {
  almostEqual,
  checkAnnotations,
  checkExpectedFailure,
  compareResult,
  compareVector,
  isStaleNaN,
} from "./compare.ts";
import { type EvalDraft, type ExpectedSeries, emptyEval } from "./dsl.ts";

const STALE_NAN = (() => {
  const b = new DataView(new ArrayBuffer(8));
  b.setUint32(0, 0x7ff00000);
  b.setUint32(4, 0x00000002);
  return b.getFloat64(0);
})();

const f = (value: number): SeriesValue => ({ kind: "float", value });
const omitted: SeriesValue = { kind: "omitted" };

function withSeries(ev: EvalDraft, series: [Labels, SeriesValue[]][]): EvalDraft {
  const map = new Map<string, ExpectedSeries>();
  series.forEach(([labels, values], i) => {
    map.set(labels.hash(), { line: i + 2, labels, values, pos: i + 1 });
  });
  ev.expected = { kind: "series", series: map };
  return ev;
}

const a1 = Labels.fromStrings("__name__", "m", "a", "1");
const a2 = Labels.fromStrings("__name__", "m", "a", "2");

test("almostEqual follows Prometheus's almost.Equal with epsilon 1e-6", () => {
  const cases: [number, number, boolean][] = [
    [1, 1, true],
    [1, 1 + 1e-7, true],
    [1, 1 + 3e-6, false],
    [1e20, 1e20 * (1 + 1e-7), true],
    [-5, 5, false],
    [0, 0, true],
    [0, -0, true],
    [0, 1e-9, false],
    [0, 1e-300, false],
    // Zero against a subnormal: the difference is below epsilon × the smallest normal float.
    [0, 1e-320, true],
    [Number.NaN, Number.NaN, true],
    [Number.NaN, 1, false],
    [STALE_NAN, STALE_NAN, true],
    [STALE_NAN, Number.NaN, false],
    [Number.NaN, STALE_NAN, false],
    [STALE_NAN, 1, false],
    [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, true],
    [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, false],
    [Number.POSITIVE_INFINITY, Number.MAX_VALUE, false],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(almostEqual(a, b), want, `${a} vs ${b}`);
    assert.equal(almostEqual(b, a), want, `${b} vs ${a}`);
  }
  assert.ok(isStaleNaN(STALE_NAN));
  assert.ok(!isStaleNaN(Number.NaN));
});

test("unordered vector comparison matches series by labels in any order", () => {
  const ev = withSeries(emptyEval(1, "m"), [
    [a1, [f(1)]],
    [a2, [f(2)]],
  ]);
  const value: QueryValue = {
    type: "vector",
    samples: [
      { labels: a2, t: 0, v: 2 },
      { labels: a1, t: 0, v: 1.0000001 },
    ],
  };
  assert.equal(compareResult(ev, value), null);
  assert.match(
    compareVector(ev, [{ labels: a1, t: 0, v: 1 }]) ?? "",
    /^expected metric \{__name__="m", a="2"\} with \[2\] not found$/,
  );
  assert.match(
    compareVector(ev, [...value.samples, { labels: Labels.fromStrings("a", "3"), t: 0, v: 3 }]) ?? "",
    /^unexpected metric \{a="3"\} in result, has value 3$/,
  );
  assert.match(
    compareVector(ev, [
      { labels: a1, t: 0, v: 1 },
      { labels: a2, t: 0, v: 2.5 },
    ]) ?? "",
    /^expected 2 for \{__name__="m", a="2"\} but got 2.5$/,
  );
});

test("ordered comparison requires the expected positions", () => {
  const ev = withSeries(emptyEval(1, "sort(m)"), [
    [a1, [f(1)]],
    [a2, [f(2)]],
  ]);
  ev.expectOrdered = true;
  const inOrder = [
    { labels: a1, t: 0, v: 1 },
    { labels: a2, t: 0, v: 2 },
  ];
  assert.equal(compareVector(ev, inOrder), null);
  assert.match(compareVector(ev, [...inOrder].reverse()) ?? "", /at position 2 but was at 1/);
  assert.equal(
    compareResult(ev, { type: "matrix", series: [] }),
    "expected ordered result, but query returned a matrix",
  );
});

test("NaN and StaleNaN expectations", () => {
  const ev = withSeries(emptyEval(1, "m"), [[a1, [f(Number.NaN)]]]);
  assert.equal(compareVector(ev, [{ labels: a1, t: 0, v: Number.NaN }]), null);
  assert.notEqual(compareVector(ev, [{ labels: a1, t: 0, v: STALE_NAN }]), null);
  const stale = withSeries(emptyEval(1, "m"), [[a1, [f(STALE_NAN)]]]);
  assert.equal(compareVector(stale, [{ labels: a1, t: 0, v: STALE_NAN }]), null);
  assert.notEqual(compareVector(stale, [{ labels: a1, t: 0, v: Number.NaN }]), null);
});

test("scalar and string results", () => {
  const ev = emptyEval(1, "1 + 1");
  ev.expected = { kind: "scalar", value: 2 };
  assert.equal(compareResult(ev, { type: "scalar", t: 0, v: 2 }), null);
  assert.equal(compareResult(ev, { type: "scalar", t: 0, v: 3 }), "expected scalar 2 but got 3");
  assert.match(compareResult(ev, { type: "vector", samples: [] }) ?? "", /^expected scalar result/);
  const none = emptyEval(1, "vector(1)");
  assert.match(compareResult(none, { type: "scalar", t: 0, v: 1 }) ?? "", /^expected vector or matrix result/);
  const str = emptyEval(1, '"Foo"');
  str.expectedString = "Foo";
  assert.equal(compareResult(str, { type: "string", t: 0, v: "Foo" }), null);
  assert.equal(compareResult(str, { type: "string", t: 0, v: "Bar" }), 'expected string "Foo" but got "Bar"');
});

test("range results are laid out at start + i*step, with _ meaning no point", () => {
  const ev = withSeries(emptyEval(1, "m"), [[a1, [f(1), omitted, f(3)]]]);
  ev.range = { start: 0, end: 120_000, step: 60_000 };
  const series = (t: number[], v: number[]) => ({ labels: a1, t: Float64Array.from(t), v: Float64Array.from(v) });
  assert.equal(compareResult(ev, { type: "matrix", series: [series([0, 120_000], [1, 3])] }), null);
  assert.match(
    compareResult(ev, { type: "matrix", series: [series([0, 60_000], [1, 3])] }) ?? "",
    /to have timestamp 120000, but it had timestamp 60000/,
  );
  assert.match(
    compareResult(ev, { type: "matrix", series: [series([0, 60_000, 120_000], [1, 2, 3])] }) ?? "",
    /^expected 2 float points and 0 histogram points/,
  );
  assert.match(
    compareResult(ev, { type: "matrix", series: [series([0, 120_000], [1, 4])] }) ?? "",
    /at index 1 \(t=120000\) .* to be 3, but got 4/,
  );
  const tooMany = withSeries(emptyEval(1, "m"), [[a1, [f(1), f(2), f(3), f(4)]]]);
  tooMany.range = ev.range;
  assert.match(
    compareResult(tooMany, { type: "matrix", series: [series([0], [1])] }) ?? "",
    /cannot return this many points/,
  );
  const unsorted = withSeries(emptyEval(1, "m"), [
    [a1, [f(1)]],
    [a2, [f(1)]],
  ]);
  unsorted.range = { start: 0, end: 0, step: 60_000 };
  const s2 = { labels: a2, t: Float64Array.from([0]), v: Float64Array.from([1]) };
  assert.match(compareResult(unsorted, { type: "matrix", series: [s2, series([0], [1])] }) ?? "", /not sorted/);
});

test("annotation expectations", () => {
  const w = "PromQL warning: something odd (1:6)";
  const i = 'PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "foo" (1:6)';
  const cases: [string, (ev: EvalDraft) => void, string[], string[], RegExp | null][] = [
    ["no expect lines: not checked", () => {}, [w], [i], null],
    ["warn any", (ev) => (ev.warn = [{ kind: "any" }]), [w], [], null],
    ["warn but none", (ev) => (ev.warn = [{ kind: "any" }]), [], [], /expected warn annotations but none/],
    ["warn msg exact", (ev) => (ev.warn = [{ kind: "msg", text: w }]), [w], [], null],
    [
      "warn msg without position",
      (ev) => (ev.warn = [{ kind: "msg", text: "PromQL warning: something odd" }]),
      [w],
      [],
      /no matching annotation/,
    ],
    [
      "info regex",
      (ev) => (ev.info = [{ kind: "regex", source: "not be a counter", re: /not be a counter/ }]),
      [],
      [i],
      null,
    ],
    [
      "every annotation must be expected",
      (ev) => (ev.warn = [{ kind: "msg", text: w }]),
      [w, "PromQL warning: other (1:1)"],
      [],
      /unexpected warn annotation/,
    ],
    ["no_warn", (ev) => (ev.noWarn = true), [w], [], /unexpected warning annotations/],
    ["no_warn ignores infos", (ev) => (ev.noWarn = true), [], [i], null],
    ["no_info", (ev) => (ev.noInfo = true), [], [i], /unexpected info annotations/],
    ["eval_warn needs a warning", (ev) => (ev.legacy = "warn"), [], [], /expected warnings/],
    ["eval_info needs an info", (ev) => (ev.legacy = "info"), [], [i], null],
  ];
  for (const [name, setup, warnings, infos, want] of cases) {
    const ev = emptyEval(1, "foo");
    setup(ev);
    const got = checkAnnotations(ev, { warnings, infos });
    if (want === null) assert.equal(got, null, name);
    else assert.match(got ?? "", want, name);
  }
});

test("expected failures", () => {
  const ev = emptyEval(1, "foo");
  ev.expectFail = { kind: "msg", text: "Parameter value is NaN" };
  assert.equal(checkExpectedFailure(ev, "Parameter value is NaN"), null);
  assert.match(checkExpectedFailure(ev, "other") ?? "", /expected error matching message/);
  const re = emptyEval(1, "foo");
  re.expectFail = { kind: "regex", source: "conflicting label", re: /conflicting label/ };
  assert.equal(
    checkExpectedFailure(re, "vector cannot contain metrics with the same labelset; conflicting label"),
    null,
  );
  const legacy = emptyEval(1, "foo");
  legacy.legacy = "fail";
  assert.equal(checkExpectedFailure(legacy, "anything"), null);
  legacy.failMessage = "exact";
  assert.notEqual(checkExpectedFailure(legacy, "inexact"), null);
});
