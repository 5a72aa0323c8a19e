import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { parseSeriesDesc, type SeriesValue, STALE_NAN } from "./index.ts";

const _ = null;

type Shown = { kind: "omitted" } | { kind: "float"; value: number } | { kind: "histogram"; text: string };

// A parsed value with a histogram shown by its text only.
function shown(v: SeriesValue): Shown {
  return v.kind === "histogram" ? { kind: "histogram", text: v.text } : v;
}

function values(vals: (number | null | string)[]): Shown[] {
  return vals.map((v) =>
    v === null
      ? { kind: "omitted" }
      : typeof v === "string"
        ? { kind: "histogram", text: v }
        : { kind: "float", value: v },
  );
}

describe("series descriptions", () => {
  const ok: [string, string, (number | null | string)[]][] = [
    ["", "{}", []],
    ["{} 1 2 3", "{}", [1, 2, 3]],
    ['{a="b"} -1 2 3', '{a="b"}', [-1, 2, 3]],
    ["my_metric 1 2 3", '{__name__="my_metric"}', [1, 2, 3]],
    ['my_metric{a="b"} 1 2 3-10x4', '{__name__="my_metric", a="b"}', [1, 2, 3, -7, -17, -27, -37]],
    ["m 1+0x2", '{__name__="m"}', [1, 1, 1]],
    ["m 0+10x3", '{__name__="m"}', [0, 10, 20, 30]],
    ["m -2+4x3", '{__name__="m"}', [-2, 2, 6, 10]],
    ["m 1x0", '{__name__="m"}', [1]],
    ["m 1 3 _ 5 _x4", '{__name__="m"}', [1, 3, _, 5, _, _, _, _]],
    ["m 1 +1 -1 Inf -Inf", '{__name__="m"}', [1, 1, -1, Infinity, -Infinity]],
    ["m 0x3", '{__name__="m"}', [0, 0, 0, 0]],
    ["m 1 2 3    ", '{__name__="m"}', [1, 2, 3]],
    ['m{a="\\u70ac = torch"} 1', '{__name__="m", a="炬 = torch"}', [1]],
    [
      '{"http.requests", "service.name"="api"}\t\t0+50x2',
      '{__name__="http.requests", "service.name"="api"}',
      [0, 50, 100],
    ],
    ["sum 7", '{__name__="sum"}', [7]],
    ["m {{schema:1 sum:2 count:3 buckets:[1 2 3]}}", '{__name__="m"}', ["{{schema:1 sum:2 count:3 buckets:[1 2 3]}}"]],
    ["m {{sum:1}}x2", '{__name__="m"}', ["{{sum:1}}", "{{sum:1}}", "{{sum:1}}"]],
    [
      "m {{sum:1}}+{{sum:2}}x1 {{counter_reset_hint:gauge}}",
      '{__name__="m"}',
      ["{{sum:1}}+{{sum:2}}", "{{sum:1}}+{{sum:2}}", "{{counter_reset_hint:gauge}}"],
    ],
  ];
  for (const [input, labels, vals] of ok) {
    test(JSON.stringify(input), () => {
      const r = parseSeriesDesc(input);
      assert.equal(r.labels.toString(), labels);
      assert.deepEqual(r.values.map(shown), values(vals));
    });
  }

  test("histogram literals are decoded, and a+bxN adds b step by step", () => {
    const r = parseSeriesDesc(
      "m {{schema:1 sum:2 count:3 z_bucket:1 offset:-2 buckets:[1 1]}}+{{schema:1 count:2 buckets:[1]}}x2",
    );
    const hs = r.values.map((v) => (v.kind === "histogram" ? v.value : null));
    assert.equal(hs.length, 3);
    assert.deepEqual(
      hs.map((h) => h && [h.count, h.sum, h.zeroCount, h.positiveSpans, h.positiveBuckets]),
      [
        [3, 2, 1, [{ offset: -2, length: 2 }], [1, 1]],
        [5, 2, 1, [{ offset: -2, length: 3 }], [1, 1, 1]],
        [7, 2, 1, [{ offset: -2, length: 3 }], [1, 1, 2]],
      ],
    );
    const hint = parseSeriesDesc("m {{counter_reset_hint:gauge}}").values[0];
    assert.ok(hint.kind === "histogram" && hint.hintSet && hint.value.counterResetHint === 3);
  });

  test("stale is the StaleNaN bit pattern", () => {
    const v = parseSeriesDesc("m stale").values[0];
    assert.equal(v.kind, "float");
    const bits = new DataView(new ArrayBuffer(8));
    bits.setFloat64(0, v.kind === "float" ? v.value : 0);
    assert.equal(bits.getBigUint64(0), 0x7ff0000000000002n);
    assert.ok(Number.isNaN(STALE_NAN));
  });

  const bad: [string, string][] = [
    ["{} 1+1", "unexpected"],
    ['m{a="b"} 1 3 _ 5 _a4', "unexpected"],
    ["m -3-3 -3", "unexpected"],
    ["m -3 _-2", "unexpected"],
    ["m 3+3x4-4", "unexpected"],
    ["m 0x1f", 'bad number syntax: "1"'],
    ["m foo", 'unexpected identifier "foo" in series values, expected number or "stale"'],
    ['{"http.requests"xx} 0', 'unexpected identifier "xx" in label set, expected "," or "}"'],
    ['{"http.requests"=, x="y"} 0', 'unexpected "," in label set, expected string'],
    ['{"http.requests} 0', "unterminated quoted string"],
    ["m 1x99999999", "more than 1000000 values"],
    ["m {{sum}}", "missing `:` for histogram descriptor"],
  ];
  for (const [input, msg] of bad) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseSeriesDesc(input),
        (err: unknown) => isContrailError(err, "parse_error") && err.message.includes(msg),
      );
    });
  }
});
